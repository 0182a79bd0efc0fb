"""The figures of a sweep, drawn from its trial rows (engine.sweeps.runner.trial_rows): objective by
trial with the best so far, one sensitivity plot per parameter (the objective against its values), parallel
coordinates and parameter importance. The window's Sweeps tab and the PNG export share them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg

from engine.config.schema import format_number
from engine.sweeps.space import Parameter, SweepSpec
from gui.plots.figures import GREY, BarsFigure, CurveAxis, EmptyNote, Figure, PanelsFigure, _legend, _style_plot, color, export_figures, pen

if TYPE_CHECKING:  # the sweep runner brings Optuna: only for the annotation
    from engine.sweeps.runner import Importance

PRUNED_BRUSH = pg.mkBrush(GREY)


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("validation_mse") is not None]


def _position(parameter: Parameter, value: Any) -> float:
    """Where a value sits on a parameter's axis: its place among the choices, or the number itself."""
    if parameter.is_choice:
        return float([format_number(c) for c in parameter.choices].index(format_number(value))) if value is not None else np.nan
    return float(value) if value is not None else np.nan


class ObjectiveFigure(Figure):
    """The objective of each finished trial, the best so far as a step line."""

    size_inches = (10.0, 5.0)
    file_stem = "objective_by_trial"

    def __init__(self) -> None:
        super().__init__()
        self.plot = self.add_plot(axisItems={"left": CurveAxis("left"), "bottom": CurveAxis("bottom")})
        _style_plot(self.plot, "Objective by trial", "trial", None, "validation MSE")
        self.plot.setLogMode(y=True)
        self.plot.getAxis("bottom").set_integer(True)
        _legend(self.plot, labelTextSize="8pt")
        self.points = self.plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=pg.mkBrush(color(0)), name="trial")
        self.best = self.plot.plot(pen=pen(1, 1.6), name="best so far")
        self.empty = EmptyNote(self.plot, "No finished trial yet")

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        done = sorted(_complete(rows), key=lambda r: r["number"])
        x = np.array([r["number"] for r in done], dtype=float)
        y = np.array([r["validation_mse"] for r in done], dtype=float)
        self.points.setData(x, y)
        self.best.setData(x, np.minimum.accumulate(y) if y.size else y)
        self.empty.show(not done)
        self.plot.enableAutoRange()  # every new trial in view, live


class SensitivityFigure(PanelsFigure):
    """One panel per parameter: the objective against the parameter's value."""

    size_inches = (12.0, 8.0)
    file_stem = "sensitivity"
    with_legend = False
    shared_x = False  # each panel's x axis is its own parameter
    curve_axes = True

    def _make_panel(self, plot: pg.PlotItem, index: int) -> tuple:
        _style_plot(plot, "", "", None, "validation MSE")
        plot.setLogMode(y=True)
        return plot, plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=pg.mkBrush(color(index)))

    def set_rows(self, rows: list[dict[str, Any]], parameters: tuple[Parameter, ...]) -> None:
        self._layout(len(parameters))
        done = _complete(rows)
        for parameter, (plot, points) in zip(parameters, self.panels, strict=True):
            plot.setTitle(parameter.key, size="10pt")
            plot.setLabel("bottom", parameter.key)
            plot.setLogMode(x=parameter.log and not parameter.is_choice, y=True)
            if parameter.is_choice:
                plot.getAxis("bottom").setTicks([[(k, format_number(c)) for k, c in enumerate(parameter.choices)]])
            x = np.array([_position(parameter, r.get(parameter.key)) for r in done], dtype=float)
            points.setData(x, np.array([r["validation_mse"] for r in done], dtype=float))


class ParallelCoordinatesFigure(Figure):
    """Each finished trial as a line across its parameters and objective (each axis scaled to 0..1), the best darkest."""

    size_inches = (12.0, 5.0)
    file_stem = "parallel_coordinates"
    shades = 8  # the lines in this many shades, one curve each: a curve per trial cost the window 0.65 s for 300 trials

    def __init__(self) -> None:
        super().__init__()
        self.plot = self.add_plot()
        _style_plot(self.plot, "Parallel coordinates (each axis from its lowest to its highest value)", "", None, "scaled value")
        self.bands = [
            self.plot.plot(pen=pg.mkPen((0, 114, 178, 60 + 195 * (b + 1) // self.shades), width=1.4), connect="finite")
            for b in range(self.shades)
        ]

    def set_rows(self, rows: list[dict[str, Any]], parameters: tuple[Parameter, ...]) -> None:
        done = sorted(_complete(rows), key=lambda r: -r["validation_mse"])  # the best last: darkest, drawn on top
        axes = [*[p.key for p in parameters], "validation MSE"]
        columns = [np.array([_position(p, r.get(p.key)) for r in done], dtype=float) for p in parameters]
        columns.append(np.log10([r["validation_mse"] for r in done]) if done else np.zeros(0))
        for k, p in enumerate(parameters):
            if p.log and not p.is_choice:
                columns[k] = np.log10(columns[k])
        scaled = [
            (c - np.nanmin(c)) / (np.nanmax(c) - np.nanmin(c)) if c.size and np.nanmax(c) > np.nanmin(c) else np.full(c.size, 0.5)
            for c in columns
        ]
        lines = np.column_stack([*scaled, np.full(len(done), np.nan)])  # a trial per row, NaN ending its line
        band = np.arange(len(done)) * self.shades // max(len(done), 1)
        x = np.append(np.arange(len(axes), dtype=float), np.nan)
        for b, curve in enumerate(self.bands):
            mine = lines[band == b]
            curve.setData(np.tile(x, len(mine)), mine.ravel(), connect="finite")
        self.plot.getAxis("bottom").setTicks([list(enumerate(axes))])
        self.plot.setXRange(-0.2, len(axes) - 0.8, padding=0)


class ImportanceFigure(BarsFigure):
    """One bar per parameter, its share of the objective's variance; while it cannot be estimated, the reason."""

    def __init__(self) -> None:
        super().__init__("Parameter importance (Optuna's fANOVA)", "importance", y_label="importance", log=False)
        self.empty = EmptyNote(self.plot, "Estimated once the sweep has ended")

    def set_importance(self, importance: Importance) -> None:
        weights = importance.weights
        self.set_bars(list(weights), [("importance", list(weights.values()))] if weights else [])
        self.empty.label.setText(importance.note)
        self.empty.show(not weights)


def sweep_figures(rows: list[dict[str, Any]], spec: SweepSpec, importances: dict[str, float] | None = None) -> list[Figure]:
    """Every figure of a sweep, filled from its trial rows."""
    objective = ObjectiveFigure()
    objective.set_rows(rows)
    figures: list[Figure] = [objective]
    if spec.parameters:
        sensitivity = SensitivityFigure()
        sensitivity.set_rows(rows, spec.parameters)
        parallel = ParallelCoordinatesFigure()
        parallel.set_rows(rows, spec.parameters)
        figures += [sensitivity, parallel]
    if importances:  # none: the sweep's ranking.md says why
        from engine.sweeps.runner import Importance  # Optuna is loaded already where a sweep's figures are drawn

        bars = ImportanceFigure()
        bars.set_importance(Importance(importances))
        figures.append(bars)
    return figures


def export_sweep_figures(rows: list[dict[str, Any]], spec: SweepSpec, importances: dict[str, float], folder: Path, dpi: int) -> list[Path]:
    return export_figures(sweep_figures(rows, spec, importances), folder, dpi)
