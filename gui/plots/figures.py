"""Every graph of the workbench, drawn once with pyqtgraph: the live panels embed these widgets
and the PNG export renders the very same widgets, so screen and file always agree."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from math import ceil, floor, log10
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import ArrayLike
from PySide6.QtCore import QBuffer, QCoreApplication, QEvent, QIODevice, QObject, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsItem, QSizePolicy

from engine.analysis.comparison import RunSeries, metric_references, reference_values, run_series
from engine.analysis.effects import group_runs
from engine.analysis.numerics import ema, error_histogram, moving_mean, spectrum, spectrum_range
from engine.config.schema import Config
from engine.runs.metrics import Extraction, Results, RunMetrics
from engine.runs.notes import display_names
from engine.runs.run import RunRecord, load_run
from engine.signals.dataset import SignalSet
from engine.storage.files import atomic_write_bytes
from engine.training.history import History

# Okabe-Ito: distinguishable for colour-blind readers; frequency i always gets colour i.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8B6D00", "#000000"]
GREY = "#9a9a9a"
LOGICAL_DPI = 96  # widget pixels per inch when a figure is laid out for export
# Curves that redraw while the window is in use (preview, live training panels) use solid 1 px pens:
# Qt strokes those with its cosmetic stroker, 4x faster here than wider or dashed antialiased
# pens, whose cost grew with every epoch drawn; this keeps each repaint within the GUI's frame
# budget (benchmarks/gui_responsiveness.py). Exports widen them to the file's dpi.
THIN = 1.0
FEW_POINTS = 30  # per-epoch curves this short also dot each epoch: one point alone draws no line

pg.setConfigOptions(background="w", foreground="#222222", antialias=True)


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def ensure_app() -> QCoreApplication:
    """The QApplication, created offscreen when there is no display (headless export)."""
    app = QApplication.instance()
    if app is None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app


def pen(index_or_color: int | str, width: float = 1.6, style: Qt.PenStyle = Qt.PenStyle.SolidLine, alpha: int = 255):
    c = QColor(color(index_or_color) if isinstance(index_or_color, int) else index_or_color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=width, style=style)


LEGEND_ROW = 4  # a PlotItem's layout holds title, top axis, view and bottom axis in rows 0-3


def _legend(plot: pg.PlotItem, columns: int = 3, **kwargs) -> pg.LegendItem:
    """The plot's legend, in a row of its own under the plot, so it never covers a curve or a point
    (on screen or in a file); named items added to the plot later join it."""
    legend = pg.LegendItem(offset=None, colCount=columns, frame=False, **kwargs)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # its own width, centred
    plot.layout.addItem(legend, LEGEND_ROW, 1, alignment=Qt.AlignmentFlag.AlignHCenter)
    plot.legend = legend
    return legend


class EmptyNote:
    """A grey line in the middle of a plot with nothing to show, its axes' numbers hidden meanwhile:
    an empty chart says what will fill it instead of showing made-up ticks."""

    def __init__(self, plot: pg.PlotItem, text: str):
        self.plot = plot
        self.label = pg.LabelItem(text, color="#777777", size="10pt")
        self.label.setParentItem(plot.vb)  # the view's pixels, not its data: it stays centred at any range
        self.label.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
        self.show(True)  # a figure starts with nothing to show

    def show(self, empty: bool) -> None:
        self.label.setVisible(empty)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setStyle(showValues=not empty)


class CurveAxis(pg.AxisItem):
    """Axis of the per-epoch curves: integer ticks while ``integer`` (an epoch axis), and in log mode
    at least two labelled ticks, written as plain values (0.03, 0.04) rather than powers of ten."""

    integer = False

    def set_integer(self, integer: bool) -> None:
        if integer != self.integer:
            self.integer = integer
            self.picture = None
            self.update()

    def tickSpacing(self, lo: float, hi: float, size: float):  # noqa: N802 - pyqtgraph's name
        levels = super().tickSpacing(lo, hi, size)
        if not self.integer or not levels:
            return levels
        return [(spacing, offset) for spacing, offset in levels if spacing >= 1] or [(1.0, 0.0)]

    def tickValues(self, lo: float, hi: float, size: float):  # noqa: N802 - pyqtgraph's name
        levels = super().tickValues(lo, hi, size)
        lo, hi = sorted((lo, hi))
        if self.logMode and (not levels or sum(lo <= v <= hi for v in levels[0][1]) < 2) and 10.0**hi > 10.0**lo:
            return [(None, list(np.log10(round_values(10.0**lo, 10.0**hi))))]
        return levels

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph's name
        """Plain values; with many ticks only 1, 2 and 5 times a power of ten are labelled, so labels never overlap."""
        strings = [f"{10.0**v * scale:g}" for v in values]
        if len(values) <= 6:
            return strings
        return [text if f"{10.0**v:.1e}"[:3] in ("1.0", "2.0", "5.0") else "" for v, text in zip(values, strings, strict=True)]


def round_values(lo: float, hi: float) -> np.ndarray:
    """Two to five round values (multiples of 5, 2 or 1 times a power of ten) within ``lo < hi``."""
    unit = 10.0 ** floor(log10(hi - lo))
    for step in (5 * unit, 2 * unit, unit, unit / 2):  # unit / 2 always fits twice: hi - lo >= unit
        first, last = ceil(lo / step), floor(hi / step)
        if last > first:
            return np.arange(first, last + 1) * step
    return np.array([lo, hi])


def _single_plot(
    figure: pg.GraphicsLayoutWidget, title: str, x_label: str, x_unit: str | None, y_label: str, log: bool = True
) -> tuple[pg.PlotItem, pg.LegendItem]:
    """The one plot of a one-plot figure: its y axis (log by default) ticked as curves are, styled, with a legend."""
    plot = figure.add_plot(axisItems={"left": CurveAxis("left")})
    _style_plot(plot, title, x_label, x_unit, y_label)
    plot.setLogMode(y=log)
    return plot, _legend(plot, labelTextSize="8pt")


def _style_plot(plot: pg.PlotItem, title: str, x_label: str, x_unit: str | None, y_label: str, y_unit: str | None = None) -> None:
    plot.setTitle(title, size="11pt")
    plot.setLabel("bottom", x_label, units=x_unit)
    plot.setLabel("left", y_label, units=y_unit)
    plot.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    # the y axis keeps the widest labels' width: narrower labels would shift the plot, and its paint
    # after new data would lay the figure out again and paint it a second time
    plot.getAxis("left").setStyle(autoReduceTextSpace=False)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")


def _restyle_samples(legend: pg.LegendItem) -> None:
    """Have a legend's samples painted again: a sample shows its curve's pen and symbol as of its last
    paint, and a paint of the curves alone leaves it as it was."""
    for sample, _ in legend.items:
        sample.update()


class _KeepSceneActive(QObject):
    """Drops a scene's deactivation. A view hidden with its tab deactivates its scene, and the
    reactivation when it is shown again repaints every plot, axis and label a second time; the
    figures draw nothing that differs between active and inactive."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        return event.type() == QEvent.Type.WindowDeactivate


class MenuOnDemandViewBox(pg.ViewBox):
    """A view box whose context menu (pyqtgraph's view options) is made at its first right-click:
    made with every plot, it was a fifth of the time to make a figure on the window's thread."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() == Qt.MouseButton.RightButton and self.menu is None:
            self.setMenuEnabled(True)
        super().mouseClickEvent(ev)


class Figure(pg.GraphicsLayoutWidget):
    """A figure of one or more plots with a size in inches for export."""

    size_inches = (10.0, 6.0)
    file_stem = "figure"

    def __init__(self) -> None:
        super().__init__()
        self.ci.setContentsMargins(8, 8, 16, 8)
        self._keep_active = _KeepSceneActive(self)
        self.scene().installEventFilter(self._keep_active)

    def add_plot(self, **kwargs: Any) -> pg.PlotItem:
        """pyqtgraph's ``addPlot``, its view box making its context menu when first asked for."""
        return self.ci.addPlot(viewBox=MenuOnDemandViewBox(), **kwargs)

    def settle(self) -> None:
        """Range the plots and tick the axes for new data now: left to the paint, they change during it
        and the whole figure is painted a second time for them."""
        self.scene().prepareForPaint()

    @contextmanager
    def _laid_out_for_export(self):
        """Size the figure to its inches at 96 logical dpi, then give an on-screen panel its size back."""
        logical = (round(self.size_inches[0] * LOGICAL_DPI), round(self.size_inches[1] * LOGICAL_DPI))
        if not self.isVisible():  # a hidden figure is laid out without putting a window on screen
            self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
            self.show()
        before = self.size()
        self.resize(*logical)
        QApplication.processEvents()
        try:
            yield logical
        finally:
            if not self.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen):
                self.resize(before)

    def export_png(self, path: Path, dpi: int) -> tuple[int, int]:
        """Render to a PNG of (inches x dpi) pixels with dpi metadata; written atomically.

        The figure is laid out at 96 logical pixels per inch and drawn through a scaled painter,
        so text and lines keep their proportions at any dpi.
        """
        width_in, height_in = self.size_inches
        pixels = (round(width_in * dpi), round(height_in * dpi))
        image = QImage(pixels[0], pixels[1], QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with self._laid_out_for_export() as logical, _scaled_pens(self.scene(), dpi / LOGICAL_DPI):
            self.scene().render(painter, QRectF(0, 0, *pixels), QRectF(0, 0, *logical))
        painter.end()
        dots_per_metre = round(dpi / 0.0254)  # set after painting: fonts must lay out at 96 dpi
        image.setDotsPerMeterX(dots_per_metre)
        image.setDotsPerMeterY(dots_per_metre)
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6's stub says bytes; the call takes only str
        atomic_write_bytes(Path(path), bytes(buffer.data().data()))
        return pixels

    def export_svg(self, path: Path) -> None:
        """A vector copy for papers, drawn by Qt's SVG painter at the figure's size; written atomically.

        (pyqtgraph's SVGExporter fails on Qt 6's path syntax here, 6.11 and 6.12 alike, so Qt's generator is used.)
        """
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setResolution(LOGICAL_DPI)
        generator.setTitle(self.file_stem)
        with self._laid_out_for_export() as logical:
            generator.setSize(QSize(*logical))
            generator.setViewBox(QRectF(0, 0, *logical))
            painter = QPainter(generator)
            self.scene().render(painter, QRectF(0, 0, *logical), QRectF(0, 0, *logical))
            painter.end()
        atomic_write_bytes(Path(path), bytes(buffer.data().data()))

    def export(self, path: Path, dpi: int) -> None:
        """PNG at ``dpi`` or SVG, by the file's suffix."""
        if Path(path).suffix.lower() == ".svg":
            self.export_svg(path)
        else:
            self.export_png(path, dpi)


@contextmanager
def _scaled_pens(scene, scale: float):
    """Curve pens are cosmetic (device pixels): widen them while rendering at a higher dpi, as
    pyqtgraph's own exporter does for scatter symbols through ``setExportMode``."""
    saved = []
    for item in scene.items():
        if isinstance(item, pg.PlotDataItem) and item.opts["pen"] is not None:
            saved.append((item, item.opts["pen"]))
        elif isinstance(item, pg.InfiniteLine):  # the best-epoch marker
            saved.append((item, item.pen))
    for item, old in saved:
        pen = QPen(pg.mkPen(old))
        pen.setWidthF(max(pen.widthF(), 1.0) * scale)
        item.setPen(pen)
    items = [item for item in scene.items() if hasattr(item, "setExportMode")]
    for item in items:
        item.setExportMode(True, {"antialias": True, "resolutionScale": scale})
    # legends ignore transformations on screen, which would leave them at 96 dpi in the file
    legends = [item for item in scene.items() if isinstance(item, pg.LegendItem)]
    ignores = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
    for legend in legends:
        legend.setFlag(ignores, False)
    try:
        yield
    finally:
        for item in items:
            item.setExportMode(False)
        for legend in legends:
            legend.setFlag(ignores, True)
        for item, pen in saved:
            item.setPen(pen)


class ComparisonFigure(Figure):
    """Graph 1: one frequency over the first samples: target line, model output dots, S faint behind."""

    size_inches = (10.0, 5.0)
    file_stem = "graph1_comparison"

    def __init__(self) -> None:
        super().__init__()
        self.plot = self.add_plot()
        _style_plot(self.plot, "Graph 1", "time", "s", "amplitude")
        _legend(self.plot)
        self.mixture = self.plot.plot(pen=pen(GREY, 1.0, alpha=140), name="noisy mixture S")
        self.target = self.plot.plot(pen=pen(0, 2.0), name="target")
        self.output = self.plot.plot(pen=None, symbol="o", symbolSize=4, name="model output")

    def set_data(
        self, t: np.ndarray, mixture: np.ndarray, target: np.ndarray, output: np.ndarray | None, index: int, frequency: float
    ) -> None:
        self.plot.setTitle(f"Graph 1 \u2014 f{index + 1} = {frequency:g} Hz: target vs model output (test set)", size="11pt")
        self.mixture.setData(t, mixture)
        self.target.setData(t, target)
        self.target.setPen(pen(index, 2.0))
        brush = pg.mkBrush(QColor(color(index)).darker(140))
        self.output.setData(t, output if output is not None else np.full_like(t, np.nan), symbolBrush=brush, symbolPen=None)


class PanelsFigure(Figure):
    """One panel per frequency in two columns; subclasses say what a panel holds."""

    with_legend = True  # False where a panel's single curve needs no name
    shared_x = True  # every panel has the same x axis, named once under each column: the height goes to the data
    curve_axes = False  # True: CurveAxis on both axes (readable log labels)

    def __init__(self) -> None:
        super().__init__()
        self.panels: list[tuple] = []

    def _make_panel(self, plot: pg.PlotItem, index: int) -> tuple:
        raise NotImplementedError

    def _layout(self, count: int) -> None:
        for _ in self.panel_steps(count):
            pass

    def panel_steps(self, count: int) -> Iterator[None]:
        """Lay out ``count`` panels (none where there are as many already), one per ``next``: a panel
        costs the window about 25 ms to build, so a window builds four across its events."""
        if len(self.panels) == count:
            return
        self.clear()
        cols = 2 if count > 1 else 1
        self.panels = []
        for i in range(count):
            axes = {"bottom": CurveAxis("bottom"), "left": CurveAxis("left")} if self.curve_axes else None
            plot = self.add_plot(row=i // cols, col=i % cols, axisItems=axes)
            if self.with_legend:
                _legend(plot, labelTextSize="8pt")
            self.panels.append(self._make_panel(plot, i))
            if self.shared_x and i + cols < count:
                plot.getAxis("bottom").showLabel(False)
            yield


class GridFigure(PanelsFigure):
    """Graph 2: one panel per frequency, target line vs model output."""

    size_inches = (12.0, 8.0)
    file_stem = "graph2_all_frequencies"

    def _make_panel(self, plot: pg.PlotItem, index: int) -> tuple:
        _style_plot(plot, "", "time", "s", "amplitude")
        target = plot.plot(pen=pen(GREY, THIN), name="target")
        output = plot.plot(pen=pen(index, THIN), name="output")
        return plot, target, output

    def set_data(self, t: np.ndarray, targets: np.ndarray, outputs: np.ndarray | None, frequencies: list[float]) -> None:
        self.set_targets(t, targets, frequencies)
        self.set_outputs(outputs)

    def set_targets(self, t: np.ndarray, targets: np.ndarray, frequencies: list[float]) -> None:
        """What stays fixed for a run: titles, time axis and target lines (redrawn only here)."""
        self._layout(len(frequencies))
        self.t = t
        for i, (plot, target, output) in enumerate(self.panels):
            plot.setTitle(f"f{i + 1} = {frequencies[i]:g} Hz", size="10pt")
            target.setData(t, targets[i])
            output.setPen(pen(i, THIN))

    def set_outputs(self, outputs: np.ndarray | None) -> None:
        """The model's outputs, (N, len(t)), or None to show the targets alone."""
        for i, (_, _, output) in enumerate(self.panels):
            output.setData(self.t, outputs[i] if outputs is not None else np.full_like(self.t, np.nan))
        self.settle()


class CurveFigure(Figure):
    """Per-epoch curves as TensorBoard shows them: EMA-smoothed on top of the faint raw curve."""

    size_inches = (10.0, 5.0)

    def __init__(self, title: str) -> None:
        super().__init__()
        self.plot = self.add_plot(axisItems={"bottom": CurveAxis("bottom"), "left": CurveAxis("left")})
        _style_plot(self.plot, title, "epoch", None, "MSE")
        self.plot.getAxis("bottom").set_integer(True)
        self.plot.setLogMode(y=True)
        self.legend = _legend(self.plot)
        self.legend.setVisible(False)
        self.curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        self.columns: dict[str, np.ndarray] = {}
        self.levels: list[tuple[pg.PlotDataItem, float]] = []  # reference levels drawn across the curves
        self.epoch_span = 10
        self.empty = True
        self.single = False  # one x so far: the view is framed around it, not auto-ranged
        self._show_empty()
        self.plot.ctrl.logYCheck.toggled.connect(self._log_toggled)  # runs after pyqtgraph's own auto-range

    def set_epoch_span(self, num_epochs: int) -> None:
        """The x range shown while there is no data yet: epochs 1 to ``num_epochs``."""
        self.epoch_span = max(int(num_epochs), 2)
        if self.empty:
            self._show_empty()

    def _log_toggled(self, _log: bool) -> None:
        if self.empty:
            self._show_empty()

    def _show_empty(self) -> None:
        """Before any epoch: epochs 1..span and MSE 1e-4..1, instead of pyqtgraph's unit square."""
        self.plot.setXRange(1, self.epoch_span, padding=0.02)
        log = self.plot.getAxis("left").logMode
        self.plot.setYRange(-4 if log else 0, 0 if log else 1, padding=0.02)

    def _ensure(self, styles: list[tuple[str, QPen]]) -> None:
        if len(self.curves) == len(styles) and all(c[1].name() == name for c, (name, _) in zip(self.curves, styles, strict=True)):
            return
        for raw, smooth in self.curves:
            self.plot.removeItem(raw)
            self.plot.removeItem(smooth)
        self.legend.clear()
        self.legend.setVisible(bool(styles))  # an empty legend would show as a blank card
        self.curves = []
        for name, pen in styles:
            faint = QColor(pen.color())
            faint.setAlpha(70)
            raw = self.plot.plot(pen=pg.mkPen(faint, width=1.0))
            smooth = self.plot.plot(pen=pen, name=name, symbolSize=5, symbolBrush=pen.color(), symbolPen=None)
            self.curves.append((raw, smooth))
        for item, _ in self.levels:  # the legend was cleared: name the reference levels again, last
            self.legend.addItem(item, item.name())

    def set_levels(self, levels: Sequence[tuple[str, float]]) -> None:
        """Horizontal reference lines (name, MSE), e.g. what a model outputting zeros scores; kept until replaced."""
        for item, _ in self.levels:
            self.plot.removeItem(item)
        styles = [Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine, Qt.PenStyle.DashLine]
        self.levels = [
            (self.plot.plot(pen=pen("#777777", 1.2, styles[k % len(styles)]), name=name), float(value))
            for k, (name, value) in enumerate(levels)
            if value is not None and value > 0
        ]
        self._draw_levels()

    def _x_span(self) -> tuple[float, float]:
        """The x range the curves cover: the run's epochs before the first, and around a lone point
        (one epoch so far) a width of its own, since a zero-width range keeps pyqtgraph's previous scale."""
        x = next(iter(self.columns.values()), np.zeros(0))
        x = x[np.isfinite(x)]
        if not x.size:
            return 1.0, float(self.epoch_span)
        lo, hi = float(x.min()), float(x.max())
        if lo < hi:
            return lo, hi
        half = 0.5 if self.plot.getAxis("bottom").integer or lo == 0 else abs(lo)  # epoch 1: 0.5..1.5; 12 s: 0..24 s
        return lo - half, hi + half

    def _draw_levels(self) -> None:
        span = self._x_span()
        for item, value in self.levels:
            item.setData(list(span), [value, value])
        self.legend.setVisible(bool(self.curves or self.levels))

    def set_curves(self, x: np.ndarray, series: list[tuple[str, QPen, np.ndarray]], smoothing: float = 0.0, x_label: str = "epoch") -> None:
        """``series``: (name, pen, values); smoothing in [0, 1) is the EMA weight of the past."""
        self._ensure([(name, pen) for name, pen, _ in series])
        self.plot.setLabel("bottom", x_label, units="s" if x_label == "wall time" else None)
        self.plot.getAxis("bottom").set_integer(x_label == "epoch")
        self.columns = {x_label: np.asarray(x, dtype=float)}
        symbol = "o" if len(x) <= FEW_POINTS else None
        for (raw, smooth), (name, _, values) in zip(self.curves, series, strict=True):
            values = _positive(values)
            self.columns[name] = values
            raw.setData(*_measured(x, values))
            raw.setVisible(smoothing > 0)
            smooth.setData(*_measured(x, ema(values, smoothing) if smoothing > 0 else values))
            smooth.setSymbol(symbol)
        _restyle_samples(self.legend)
        self._draw_levels()
        empty = not any(np.isfinite(values).any() for values in list(self.columns.values())[1:])
        single = not empty and np.nanmin(x) == np.nanmax(x)
        if empty:
            self._show_empty()
        elif single:
            self.plot.enableAutoRange(axis="y")
            self.plot.setXRange(*self._x_span(), padding=0)
        elif self.empty or self.single:
            self.plot.enableAutoRange()
        self.empty, self.single = empty, single
        self.settle()

    def csv_text(self) -> str:
        """The plotted raw columns as CSV."""
        names = list(self.columns)
        rows = np.column_stack([self.columns[n] for n in names]) if names else np.zeros((0, 0))
        lines = [",".join(names)] + [",".join("" if not np.isfinite(v) else f"{v:.9g}" for v in row) for row in rows]
        return "\n".join(lines) + "\n"


def reference_levels(reference: dict | None) -> list[tuple[str, float]]:
    """A run's quality references (metrics.json "reference") as the levels drawn on its MSE charts."""
    reference = reference or {}
    names = (("zero_output_mse", "outputs zeros"), ("known_model_mse", "known-model estimator"))
    return [(label, reference[key]) for key, label in names if isinstance(reference.get(key), (int, float))]


class LossFigure(CurveFigure):
    """Training loss, test MSE and validation MSE per epoch, log y, with the epoch best.pt holds marked."""

    file_stem = "loss_curve"

    def __init__(self) -> None:
        super().__init__("Training loss and test MSE per epoch")
        label = {"position": 0.5, "rotateAxis": (1, 0), "anchors": [(0.5, 1)] * 2, "color": "#555555", "fill": (255, 255, 255, 210)}
        self.best = pg.InfiniteLine(angle=90, pen=pen(GREY, THIN, Qt.PenStyle.DashLine), label="best.pt", labelOpts=label)
        self.best.setVisible(False)
        self.plot.addItem(self.best, ignoreBounds=True)

    def show_history(self, history: History, smoothing: float = 0.0, wall_time: bool = False) -> None:
        """Train loss, validation MSE (when measured) and test MSE per epoch, the epoch best.pt holds marked."""
        x = history.wall_seconds if wall_time else history.epoch
        series = [("train loss", pen("#333333", THIN), history.train_loss)]
        if np.isfinite(history.validation_mse).any() or not len(history):  # before the first epoch: expected
            series.append(("validation MSE", pen("#009E73", THIN), history.validation_mse))
        series.append(("test MSE", pen("#D55E00", THIN), history.test_mse))  # last, on top: validation often runs beside it
        self.set_curves(x, series, smoothing, "wall time" if wall_time else "epoch")
        best = history.best_index()
        self.best.setVisible(best is not None)
        if best is not None:
            self.best.setValue(x[best])
            self.best.label.setFormat(f"best.pt: epoch {int(history.epoch[best])}")


class PerFrequencyFigure(CurveFigure):
    """Test MSE per frequency per epoch, log y, one colour per frequency."""

    file_stem = "per_frequency_mse"

    def __init__(self) -> None:
        super().__init__("Test MSE per frequency")

    def show_history(self, history: History, smoothing: float = 0.0, wall_time: bool = False) -> None:
        x = history.wall_seconds if wall_time else history.epoch
        series = [(f"{f:g} Hz", pen(i, THIN), history.per_frequency(i)) for i, f in enumerate(history.frequencies)]
        self.set_curves(x, series, smoothing, "wall time" if wall_time else "epoch")


LEGEND_RUNS = 8  # runs an overlay names; a legend row of 30 left the plot a 40-px strip


class RunsFigure(Figure):
    """One metric of several runs, each in its own colour; a seed group as its mean over a min-max band."""

    size_inches = (10.0, 5.0)
    file_stem = "runs_overlay"

    def __init__(self) -> None:
        super().__init__()
        self.plot = self.add_plot(axisItems={"bottom": CurveAxis("bottom"), "left": CurveAxis("left")})
        _style_plot(self.plot, "Runs compared", "epoch", None, "MSE")
        self.plot.setLogMode(y=True)
        self.legend = _legend(self.plot, columns=2, labelTextSize="8pt")  # run names are long
        self.items: list[pg.GraphicsObject] = []
        self.series: list[RunSeries] = []
        self.baseline: RunSeries | None = None
        self.empty = EmptyNote(self.plot, "Select runs in the table to compare them")

    def show_runs(
        self,
        series: list[RunSeries],
        metric: str,
        wall_time: bool = False,
        title: str | None = None,
        levels: Sequence[tuple[str, float]] = (),
        baseline: RunSeries | None = None,
    ) -> None:
        """``levels``: reference MSEs (name, value) drawn across the curves, as on every MSE chart;
        ``baseline``: the runs every other is compared with, drawn thick and black, named "baseline"."""
        for item in self.items:
            self.plot.removeItem(item)
        self.legend.clear()
        self.items, self.series = [], list(series)
        self.baseline = baseline
        x_label = "wall time" if wall_time else "epoch"
        self.plot.setTitle(title or f"{metric} of the selected runs", size="11pt")
        self.plot.setLabel("bottom", x_label, units="s" if wall_time else None)
        self.plot.getAxis("bottom").set_integer(not wall_time)
        self.plot.setLabel("left", "loss" if metric == "train loss" else "MSE")
        if baseline is not None:
            self._draw_run(baseline, "#000000", 3.0, _shortened(f"baseline: {baseline.name}"))
        for i, run in enumerate(self.series):
            named = _shortened(run.name) if i < LEGEND_RUNS else None  # beyond, the legend would crowd out the plot
            self._draw_run(run, color(i), 1.6, named)
        if len(self.series) > LEGEND_RUNS:
            more = len(self.series) - LEGEND_RUNS
            self.items.append(self.plot.plot([], [], pen=None, name=f"+ {more} more run{'s' if more > 1 else ''}, not named here"))
        drawn = [*self.series, *([baseline] if baseline is not None else [])]
        xs = [run.x for run in drawn if run.x.size]
        span = [float(min(x.min() for x in xs)), float(max(x.max() for x in xs))] if xs else [0.0, 1.0]
        styles = [Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine]
        for k, (name, value) in enumerate(levels if xs else []):
            level = pg.PlotDataItem(span, [value, value], pen=pen("#777777", 1.2, styles[k % 2]), name=name)
            self.plot.addItem(level, ignoreBounds=True)  # the runs set the range: a far reference would flatten them into one band
            self.items.append(level)
        self.legend.setVisible(bool(drawn))
        self.empty.show(not drawn)
        self.plot.enableAutoRange()
        self.settle()

    def _draw_run(self, run: RunSeries, colour: str, width: float, name: str | None) -> None:
        """One curve, over its min-max band when it is a group's mean."""
        if run.low is not None and run.high is not None:
            low = self.plot.plot(run.x, _positive(run.low), pen=EDGE)
            high = self.plot.plot(run.x, _positive(run.high), pen=EDGE)
            shade = QColor(colour)
            shade.setAlpha(50)
            band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(shade))
            self.plot.addItem(band, ignoreBounds=True)  # its edges set the range: the fill's own bounds start at 0
            self.items += [low, high, band]
        self.items.append(self.plot.plot(*_measured(run.x, _positive(run.y)), pen=pen(colour, width), name=name))


EDGE = pg.mkPen(0, 0, 0, 0)  # a band's edge: invisible, yet counted in the automatic range


def _shortened(name: str, length: int = 48) -> str:
    """A legend entry short enough to leave the curves visible."""
    return name if len(name) <= length else name[: length - 1] + "…"


class BarsFigure(Figure):
    """Grouped bars on a log scale: one group per category (a frequency), one bar per series (a run,
    or the train and test sets), with each bar's value written above it."""

    size_inches = (10.0, 5.0)

    def __init__(self, title: str, file_stem: str, y_label: str = "MSE", log: bool = True) -> None:
        super().__init__()
        self.file_stem = file_stem
        self.log = log
        self.plot, self.legend = _single_plot(self, title, "", None, y_label, log)
        self.plot.setClipToView(False)
        self.items: list[pg.GraphicsObject] = []

    def set_bars(
        self,
        categories: list[str],
        series: list[tuple[str, list[float | None]]],
        colors: list[str] | None = None,
        spreads: list[list[float | None]] | None = None,
    ) -> None:
        """``series``: (name, one value per category; None where it has none); ``spreads``: a standard
        deviation per value (a group's mean), drawn as an error bar of ± one."""
        for item in self.items:
            self.plot.removeItem(item)
        self.legend.clear()
        self.items = []
        width = 0.8 / max(len(series), 1)
        tops = []
        for i, (name, values) in enumerate(series):
            x = np.arange(len(categories)) - 0.4 + width * (i + 0.5)
            heights = np.array([np.nan if v is None or not v > 0 else (np.log10(v) if self.log else v) for v in values], dtype=float)
            shown = np.isfinite(heights)
            brush = pg.mkBrush(colors[i] if colors else color(i))
            floor = -12.0 if self.log else 0.0
            bars = pg.BarGraphItem(x=x[shown], y0=np.full(shown.sum(), floor), y1=heights[shown], width=width * 0.9, brush=brush, pen=None)
            self.plot.addItem(bars)
            self.legend.addItem(bars, name)
            self.items.append(bars)
            if spreads is not None:
                self._error_bars(x[shown], np.asarray(values, dtype=object)[shown], np.asarray(spreads[i], dtype=object)[shown])
            for xk, hk, value in zip(x[shown], heights[shown], np.asarray(values, dtype=object)[shown], strict=True):
                label = pg.TextItem(f"{value:.2g}", color="#333333", anchor=(0.5, 1.0))
                label.setPos(xk, hk)
                self.plot.addItem(label)
                self.items.append(label)
                tops.append(hk)
        axis = self.plot.getAxis("bottom")
        axis.setTicks([list(enumerate(categories))])
        if tops and self.log:
            self.plot.setYRange(min(tops) - 1.0, max(tops) + 0.4, padding=0)
        elif tops:
            self.plot.setYRange(0.0, max(tops) * 1.15 or 1.0, padding=0)
        self.plot.setXRange(-0.6, len(categories) - 0.4, padding=0)

    def _error_bars(self, x: np.ndarray, means: np.ndarray, stds: np.ndarray) -> None:
        """Mean ± std as bars on the plot's axis (log: the bar's ends in log10, the lower end kept above 0)."""
        known = np.array([s is not None and s > 0 for s in stds], dtype=bool)
        if not known.any():
            return
        mean, std = means[known].astype(float), stds[known].astype(float)
        high, low = mean + std, np.maximum(mean - std, mean * 1e-3)
        if self.log:
            mean, high, low = np.log10(mean), np.log10(high), np.log10(low)
        bars = pg.ErrorBarItem(x=x[known], y=mean, top=high - mean, bottom=mean - low, beam=0.05, pen=pen("#333333", 1.2))
        self.plot.addItem(bars)
        self.items.append(bars)


class SpectrumFigure(PanelsFigure):
    """FFT magnitude of S, of each target and each model output: the selected frequency isolated."""

    size_inches = (12.0, 8.0)
    file_stem = "fft_spectrum"

    def _make_panel(self, plot: pg.PlotItem, index: int) -> tuple:
        _style_plot(plot, "", "frequency", "Hz", "|FFT|")
        mixture = plot.plot(pen=pen(GREY, 1.2, alpha=160), name="S (input)")
        target = plot.plot(pen=pen("#222222", 2.4, Qt.PenStyle.DashLine), name="target")
        output = plot.plot(pen=pen(index, 1.6), name="output")
        return plot, mixture, target, output

    def set_data(
        self, mixture: np.ndarray, targets: np.ndarray, outputs: np.ndarray | None, frequencies: list[float], sampling_rate: float
    ) -> None:
        self._layout(len(frequencies))
        freqs, s_mag = spectrum(mixture, sampling_rate)
        shown = spectrum_range(freqs, frequencies)
        for i, (plot, mix_curve, target_curve, output_curve) in enumerate(self.panels):
            plot.setTitle(f"Spectrum for selector f{i + 1} = {frequencies[i]:g} Hz", size="10pt")
            mix_curve.setData(freqs[shown], s_mag[shown])
            target_curve.setData(freqs[shown], spectrum(targets[i], sampling_rate)[1][shown])
            if outputs is not None:
                output_curve.setData(freqs[shown], spectrum(outputs[i], sampling_rate)[1][shown])
            output_curve.setPen(pen(i, 1.6))


class SignalFigure(Figure):
    """Preview of a data set: S, the clean components, one noisy component, and the FFT of S."""

    size_inches = (12.0, 8.0)
    file_stem = "signal_preview"

    def __init__(self) -> None:
        super().__init__()
        self.time_plot = self.add_plot(row=0, col=0)
        _style_plot(self.time_plot, "Noisy mixture S and its clean components", "time", "s", "amplitude")
        _legend(self.time_plot, labelTextSize="8pt")
        self.noisy_plot = self.add_plot(row=1, col=0)
        _style_plot(self.noisy_plot, "Selected component: clean vs noisy", "time", "s", "amplitude")
        _legend(self.noisy_plot, labelTextSize="8pt")
        self.fft_plot = self.add_plot(row=2, col=0)
        _style_plot(self.fft_plot, "FFT of S", "frequency", "Hz", "|FFT|")
        self.mixture = self.time_plot.plot(pen=pen(GREY, 1.0), name="S")
        self.components: list[pg.PlotDataItem] = []
        self.clean = self.noisy_plot.plot(pen=pen(0, 2.0), name="clean")
        self.noisy = self.noisy_plot.plot(pen=pen(0, 1.0, alpha=150), name="noisy")
        self.fft = self.fft_plot.plot(pen=pen("#333333", THIN))

    def set_data(self, signals: SignalSet, shown: slice, selected: int) -> None:
        """Plot the samples in ``shown``; the FFT always covers the whole signal."""
        for _ in self.data_steps(signals, shown, selected):
            pass

    def data_steps(self, signals: SignalSet, shown: slice, selected: int) -> Iterator[None]:
        """``set_data`` a plot per step, each ranged and ticked as it is given its data: run a step per
        event-loop turn, a window paints one plot between steps (all three at once held it 25-35 ms)."""
        frequencies = list(signals.frequencies)
        names = [f"{f:g} Hz" for f in frequencies]
        if [curve.name() for curve in self.components] != names:  # the legend names the current frequencies
            for curve in self.components:
                self.time_plot.removeItem(curve)
            self.components = [self.time_plot.plot(pen=pen(i, THIN), name=name) for i, name in enumerate(names)]
        t = signals.t[shown]
        self.mixture.setData(t, signals.mixture[shown])
        for i, curve in enumerate(self.components):
            curve.setData(t, signals.targets[i, shown])
        self.settle()
        yield
        title = f"Component {frequencies[selected]:g} Hz: clean vs with its per-sample noise"
        if self.noisy_plot.titleLabel.text != title:  # a title set anew lays the figure out again, even unchanged
            self.noisy_plot.setTitle(title, size="11pt")
        self.clean.setData(t, signals.targets[selected, shown])
        self.clean.setPen(pen(selected, 2.0))
        self.noisy.setData(t, signals.components[selected, shown])
        self.noisy.setPen(pen(selected, 1.0, alpha=150))
        _restyle_samples(self.noisy_plot.legend)
        self.settle()
        yield
        sampling_rate = 1.0 / (signals.t[1] - signals.t[0]) if signals.n_samples > 1 else 1.0
        freqs, mag = spectrum(signals.mixture, sampling_rate)
        visible = spectrum_range(freqs, frequencies)
        self.fft.setData(freqs[visible], mag[visible])
        self.settle()


class ErrorDistributionFigure(PanelsFigure):
    """Per frequency, the histogram of output − target on the test set: its centre shows a bias, its width the noise left."""

    size_inches = (12.0, 8.0)
    file_stem = "error_distribution"
    with_legend = False

    def _make_panel(self, plot: pg.PlotItem, index: int) -> tuple:
        _style_plot(plot, "", "output − target", None, "density")
        plot.setDownsampling(auto=False)
        histogram = plot.plot(stepMode="center", fillLevel=0, pen=pen(index, THIN))
        return plot, histogram

    def set_data(self, outputs: np.ndarray, targets: np.ndarray, frequencies: list[float]) -> None:
        self._layout(len(frequencies))
        for i, (plot, histogram) in enumerate(self.panels):
            errors = outputs[i] - targets[i]
            edges, density = error_histogram(errors)
            plot.setTitle(f"f{i + 1} = {frequencies[i]:g} Hz: mean {np.mean(errors):+.3g}, std {np.std(errors):.3g}", size="10pt")
            shade = QColor(color(i))
            shade.setAlpha(90)
            histogram.setData(edges, density, brush=pg.mkBrush(shade))


class ErrorOverTimeFigure(Figure):
    """|output − target| along the test sequence per frequency (moving mean): the warm-up from the zero state shows at the start."""

    size_inches = (10.0, 5.0)
    file_stem = "error_over_time"

    def __init__(self) -> None:
        super().__init__()
        self.plot, self.legend = _single_plot(self, "Absolute error along the test sequence", "time", "s", "|output − target|")
        self.curves: list[pg.PlotDataItem] = []

    def set_data(self, t: np.ndarray, outputs: np.ndarray, targets: np.ndarray, frequencies: list[float], sampling_rate: float) -> None:
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.legend.clear()
        period = sampling_rate / max(min(frequencies), 1e-9)  # one period of the slowest sine: the trend, not the ripple
        window = int(max(1, min(round(period), t.size // 10)))
        self.plot.setTitle(f"Absolute error along the test sequence (moving mean over {window / sampling_rate:g} s)", size="11pt")
        self.curves = [
            self.plot.plot(t, _positive(moving_mean(np.abs(outputs[i] - targets[i]), window)), pen=pen(i, THIN), name=f"{f:g} Hz")
            for i, f in enumerate(frequencies)
        ]


class ExtractionFigure(Figure):
    """The model's MSE on each shifted-start test draw against the moment it starts, beside the
    test set (t = 0) and the known-model estimator: a model that replays the t = 0 curve stands out at once."""

    size_inches = (10.0, 5.0)
    file_stem = "extraction"

    def __init__(self) -> None:
        super().__init__()
        self.plot, self.legend = _single_plot(self, "MSE by the moment the recording starts", "start t0", "s", "MSE")
        self.model = self.plot.plot(pen=None, symbol="o", symbolSize=8, symbolBrush=pg.mkBrush(color(0)), name="model, shifted starts")
        self.spec_test = self.plot.plot(
            pen=None, symbol="s", symbolSize=9, symbolBrush=pg.mkBrush(color(1)), name="model, the test set (t0 = 0)"
        )
        self.known = self.plot.plot(
            pen=None, symbol="x", symbolSize=8, symbolPen=pen("#555555", 1.5), name="known-model estimator, same draws"
        )
        self.zeros = self.plot.plot(pen=pen("#777777", 1.2, Qt.PenStyle.DashDotLine), name="outputs zeros")

    def set_metrics(self, shifted: Extraction, test_mse: float | None, zero_output_mse: float | None) -> None:
        """Model and known-model estimator per draw, the test set at t0 = 0, and the trivial level."""
        starts = np.asarray(shifted.starts or [], dtype=float)
        self.model.setData(starts, _positive(shifted.mse_per_draw or []))
        known = shifted.known_model_mse_per_draw  # runs scored before it was kept have only the mean
        self.known.setData(starts, _positive(known if known is not None else [shifted.known_model_mse] * starts.size))
        self.spec_test.setData([0.0], [test_mse] if test_mse else [np.nan])
        span = [0.0, float(starts.max()) if starts.size else 1.0]
        self.zeros.setData(span, [zero_output_mse] * 2 if zero_output_mse else [np.nan, np.nan])


TRAIN_VS_TEST, TRAIN_VS_TEST_TITLE = "train_vs_test", "Train vs test MSE per frequency"


def fill_train_vs_test(figure: BarsFigure, results: Results) -> None:
    """Train and test MSE per frequency side by side, the gap written under each frequency."""
    train, test = results.train.by_frequency(), results.test.by_frequency()
    gaps = {float(row.frequency_hz): row.gap for row in results.gap_per_frequency}
    frequencies = list(test)
    categories = [f"{f:g} Hz (gap {gaps[f]:.1%})" if f in gaps else f"{f:g} Hz" for f in frequencies]
    series = [("train", [train.get(f) for f in frequencies]), ("test", [test.get(f) for f in frequencies])]
    figure.set_bars(categories, series, colors=["#7f7f7f", "#D55E00"])


def _measured(x: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points that hold a number: a curve scored every k epochs is drawn through its scored epochs,
    not broken into invisible single points by the NaN between them."""
    x, values = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(x) & np.isfinite(values)
    return x[keep], values[keep]


def _positive(values: ArrayLike) -> np.ndarray:
    """Log axes cannot show zero or negatives: those become NaN (a gap) instead of an error."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def finished_figures(steps: Iterable[Figure | None]) -> Iterator[Figure]:
    """The figures of ``plan_steps``, each once it is complete: for an export, which needs no pauses."""
    return (figure for figure in steps if figure is not None)


@dataclass(frozen=True)
class PlannedFigure:
    """A result figure named before it is built, so a window can list it and build it only once shown."""

    file_stem: str
    steps: Callable[[], Iterator[Figure | None]]  # builds it a step per ``next``; the figure is the last


def _built_in_steps(
    make: Callable[[], Figure], fill: Callable[[Any], Iterator[None] | None], panels: int = 0
) -> Callable[[], Iterator[Figure | None]]:
    """A figure made in one step (with ``panels``: a panel per step) and filled in the next, or in
    the steps ``fill`` yields: a figure made and filled at once came to 30-50 ms, one of four panels
    to 0.1-0.2 s."""

    def steps() -> Iterator[Figure | None]:
        figure = make()
        if panels:
            assert isinstance(figure, PanelsFigure)  # only a figure of panels is laid out by them
            yield from figure.panel_steps(panels)
        else:
            yield None
        filling = fill(figure)
        if filling is not None:
            yield from filling
        yield figure

    return steps


def figure_plan(
    history: History | None,
    predictions: dict[str, np.ndarray] | None,
    comparison_index: int,
    time_window: int,
    sampling_rate: float,
    metrics: RunMetrics | None = None,
) -> list[PlannedFigure]:
    """The result figures (loss, per-frequency MSE, Graphs 1 and 2, FFT) and the error analysis of a
    run's history, predictions and metrics, each built in steps of about 30 ms at most."""
    metrics = metrics or RunMetrics()
    reference = metrics.reference
    levels = reference_levels(None if reference is None else reference_values(reference.zero_output_mse, reference.known_model_mse))

    def fill_curves(figure: LossFigure | PerFrequencyFigure, shown: History | None) -> Iterator[None]:
        figure.set_levels(levels)
        yield  # the curves in a turn of their own: with the levels, 20-30 ms
        if shown is not None:
            figure.show_history(shown)

    plan = [PlannedFigure(LossFigure.file_stem, _built_in_steps(LossFigure, lambda loss: fill_curves(loss, history)))]
    if predictions is None:
        return plan
    frequencies = [float(f) for f in predictions["frequencies"]]
    count = len(frequencies)
    window = slice(0, min(time_window, predictions["t"].size))
    t, targets, outputs = predictions["t"], predictions["targets"], predictions["outputs"]
    index = min(comparison_index, count - 1)
    per_frequency_history = history if history is not None else History(tuple(frequencies))  # its legend either way

    def fill_comparison(figure: ComparisonFigure) -> None:
        figure.set_data(
            t[window], predictions["mixture"][window], targets[index, window], outputs[index, window], index, frequencies[index]
        )

    plan += [
        PlannedFigure(
            PerFrequencyFigure.file_stem,
            _built_in_steps(PerFrequencyFigure, lambda figure: fill_curves(figure, per_frequency_history)),
        ),
        PlannedFigure(ComparisonFigure.file_stem, _built_in_steps(ComparisonFigure, fill_comparison)),
        PlannedFigure(
            GridFigure.file_stem,
            _built_in_steps(
                GridFigure, panels=count, fill=lambda g: g.set_data(t[window], targets[:, window], outputs[:, window], frequencies)
            ),
        ),
        PlannedFigure(
            SpectrumFigure.file_stem,
            _built_in_steps(
                SpectrumFigure,
                panels=count,
                fill=lambda f: f.set_data(predictions["mixture"], targets, outputs, frequencies, sampling_rate),
            ),
        ),
        PlannedFigure(
            ErrorDistributionFigure.file_stem,
            _built_in_steps(ErrorDistributionFigure, panels=count, fill=lambda d: d.set_data(outputs, targets, frequencies)),
        ),
        PlannedFigure(
            ErrorOverTimeFigure.file_stem,
            _built_in_steps(ErrorOverTimeFigure, lambda e: e.set_data(t, outputs, targets, frequencies, sampling_rate)),
        ),
    ]
    if (results := metrics.results) is not None:
        plan.append(
            PlannedFigure(
                TRAIN_VS_TEST,
                _built_in_steps(lambda: BarsFigure(TRAIN_VS_TEST_TITLE, TRAIN_VS_TEST), lambda b: fill_train_vs_test(b, results)),
            )
        )
    if (shifted := metrics.shifted) is not None:
        zero = None if reference is None else reference.zero_output_mse
        plan.append(
            PlannedFigure(
                ExtractionFigure.file_stem, _built_in_steps(ExtractionFigure, lambda e: e.set_metrics(shifted, metrics.test_mse, zero))
            )
        )
    return plan


def plan_steps(plan: Iterable[PlannedFigure]) -> Iterator[Figure | None]:
    """The steps of every planned figure in turn: for an export, which builds them all."""
    return chain.from_iterable(planned.steps() for planned in plan)


def export_figures(figures: Iterable[Figure], folder: Path, dpi: int) -> list[Path]:
    """Write each figure as folder/<stem>.png at ``dpi``; returns the paths."""
    paths = []
    for figure in figures:
        path = Path(folder) / f"{figure.file_stem}.png"
        figure.export_png(path, dpi)
        paths.append(path)
    return paths


def figures_for_record(record: RunRecord, config: Config) -> Iterator[Figure]:
    """The result figures of a run folder, laid out by ``config``'s visualization settings."""
    return finished_figures(plan_steps(figure_plan_for_record(record, config)))


def figure_plan_for_record(record: RunRecord, config: Config) -> list[PlannedFigure]:
    """``figure_plan`` of a run folder's history, predictions and metrics."""
    v = config.visualization
    return figure_plan(
        record.history, record.predictions(), v.comparison_freq_idx, v.time_window, config.data.sampling_rate, record.metrics
    )


def report_figures(records: list[RunRecord]) -> list[Figure]:
    """The figures of a report: train loss and test MSE of the runs overlaid, and per-frequency test MSE by run."""
    figures: list[Figure] = []
    for metric, stem in (("train loss", "train_loss_by_run"), ("test MSE", "test_mse_by_run")):
        overlay = RunsFigure()
        overlay.file_stem = stem
        levels = reference_levels(metric_references(records, metric)) if metric != "train loss" else []
        overlay.show_runs(
            run_series(records, metric, merge_seeds=True, numbered=True),
            metric,
            title=f"{metric[0].upper()}{metric[1:]} by run (repeats: mean and range)",
            levels=levels,
        )
        figures.append(overlay)
    frequencies = sorted({f for r in records for f in r.metrics.test_by_frequency()})
    bars = BarsFigure("Test MSE per frequency, by step (repeats: mean ± std)", "per_frequency_test_mse_by_run")
    groups = group_runs(records, consecutive=True)
    names = display_names([g.runs[0] for g in groups])
    series = [
        (
            _shortened(f"{k + 1}. {name}" + (f" ({len(g.runs)} seeds)" if len(g.runs) > 1 else "")),
            [g.test_mse_at(f).mean for f in frequencies],
        )
        for k, (g, name) in enumerate(zip(groups, names, strict=True))
    ]
    bars.set_bars([f"{f:g} Hz" for f in frequencies], series, spreads=[[g.test_mse_at(f).std for f in frequencies] for g in groups])
    figures.append(bars)
    return figures


def export_run_graphs(folder: Path, config: Config) -> list[Path]:
    """Headless export of a run's graphs into RUN/graphs at the configured dpi."""
    ensure_app()
    return export_figures(figures_for_record(load_run(folder), config), Path(folder) / "graphs", config.visualization.dpi)
