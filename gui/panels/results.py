"""Results of one run: the result graphs (shared with the headless export) and a metrics table."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.findings import Column, Findings, format_mse
from engine.config.schema import Config, non_causal_reason
from engine.runs.metrics import RunMetrics
from engine.runs.run import RunRecord
from engine.storage.files import atomic_write_json, atomic_write_text
from gui.plots.figures import Figure, PlannedFigure, export_figures, figure_plan_for_record, finished_figures, plan_steps
from gui.tasks import Steps
from gui.widgets import PageTabs, button_row

PASS, FAIL = QColor("#d9f2e3"), QColor("#fbe0d6")
POOR_QUALITY = 0.2  # a test MSE above this share of the zero-output MSE is marked: the model extracts little
METRICS = ["train MSE", "test MSE", "extraction MSE", "known-model MSE", "test ÷ zero-output", "gap", "gap rule", "memorisation z"]
FIGURE_TITLES = {
    "loss_curve": "Loss",
    "per_frequency_mse": "Per-frequency MSE",
    "graph1_comparison": "Graph 1",
    "graph2_all_frequencies": "Graph 2",
    "fft_spectrum": "FFT",
    "error_distribution": "Error distribution",
    "error_over_time": "Error over time",
    "train_vs_test": "Train vs test",
    "extraction": "Extraction",
}


class FigurePage(QWidget):
    """A tab's page that holds its figure once built: the tab is listed before its figure exists."""

    def __init__(self, planned: PlannedFigure):
        super().__init__()
        self.planned = planned
        self.figure: Figure | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def hold(self, figure: Figure) -> None:
        self.figure = figure
        self._layout.addWidget(figure)


def _built(page: FigurePage) -> Iterator[None]:
    """The page's figure built a step per ``next`` (a figure, or a panel of one with several): a figure of
    four panels built at once held the window 0.1-0.2 s."""
    for step in page.planned.steps():
        if step is not None:  # the figure, the last step
            page.hold(step)
            return
        yield


class ResultsPanel(QWidget):
    """One run's figures and numbers; quality, the generalization rule (train vs test gap ≤ threshold) and memorisation apart."""

    exported = Signal(str)  # a sentence saying where the files went

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Open a run from the Runs tab, or finish a training, to see its results.")
        self.tabs = PageTabs()
        # a row per metric and a column per frequency: the verdicts stay in view however many metrics there are
        self.table = QTableWidget(len(METRICS), 0)
        self.table.setVerticalHeaderLabels(METRICS)
        self.table.setMinimumWidth(420)
        # rows one line high: all eight metrics stay in view beside the verdicts on a 720-pixel screen
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        buttons = button_row(
            [("Export this graph…", self.export_current), ("Export all graphs…", self.export_all), ("Export metrics…", self.export_metrics)]
        )
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.verdict)
        side_layout.addWidget(self.table, 1)
        self.splitter = splitter = QSplitter()
        splitter.addWidget(self.tabs)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self._split = False  # the figures' share is set once, when first shown
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self.record: RunRecord | None = None
        self.pages: list[FigurePage] = []
        self.building = Steps(self)  # the figure of the tab in view, a step per event-loop turn
        self.building.finished.connect(self._build_shown)  # the tab in view may have changed meanwhile
        self.tabs.currentChanged.connect(self._build_shown)
        self.dpi = 300

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Shown the first time: the verdict table's width (at least a quarter) to the side, the rest to the
        figures, whether or not one is built yet (split by the panes' own size hints, an empty figure pane
        got a sliver)."""
        super().showEvent(event)
        if not self._split:
            self._split = True
            self._fit_side(sum(self.splitter.sizes()) // 4)
        self._build_shown()

    def _fit_side(self, at_least: int) -> None:
        """The side pane at least ``at_least`` wide and wide enough for every column of the verdict table."""
        total = sum(self.splitter.sizes())
        if not self._split or total <= 0:
            return
        table = self.table
        needed = table.verticalHeader().sizeHint().width() + table.horizontalHeader().length() + 2 * table.frameWidth() + 2
        side = min(max(needed, at_least), total // 2)
        self.splitter.setSizes([total - side, side])
        table.updateGeometries()  # its scroll bars follow the new width now, not an event later

    def show_run(self, record: RunRecord) -> None:
        self.record = record
        config = record.config or Config()
        self.dpi = config.visualization.dpi
        self.building.cancel()
        self.tabs.clear()
        for page in self.pages:
            page.deleteLater()
        self.pages = [FigurePage(planned) for planned in figure_plan_for_record(record, config)]
        for page in self.pages:
            self.tabs.addTab(page, FIGURE_TITLES.get(page.planned.file_stem, page.planned.file_stem))
        m = record.metrics
        named = f"<b>{html.escape(record.notes.name)}</b> ({record.folder.name})" if record.notes.name else f"<b>{record.folder.name}</b>"
        note = f"<br><i>{html.escape(record.notes.note)}</i>" if record.notes.note else ""
        if record.config is not None and (reason := non_causal_reason(record.config)):
            note = f"<br><b>{html.escape(reason)}</b>: not an extractor, a bound on what future context is worth{note}"
        self.title.setText(
            f"{named} — {m.mode or '?'}, {'?' if m.epochs_completed is None else m.epochs_completed} epochs, "
            f"status {m.status}, {m.device or ''}{note}"
        )
        self._fill_table(m)

    @property
    def figures(self) -> list[Figure]:
        """The figures built so far, in tab order."""
        return [page.figure for page in self.pages if page.figure is not None]

    def _build_shown(self) -> None:
        """Start building the figure of the tab in view, unless it is built or another is being built: a
        figure is built only once seen, so opening a run costs the window one figure, not nine."""
        page = self.tabs.currentWidget()
        if not self.building.running() and self.isVisible() and isinstance(page, FigurePage) and page.figure is None:
            self.building.start(_built(page))  # the title and table first, in this turn

    def _fill_table(self, m: RunMetrics) -> None:
        self.table.setColumnCount(0)
        found = Findings.of(m)
        if found is None:
            self.verdict.setText(f"No results: the run is {html.escape(m.why_no_results())}.")
            return
        self.table.setColumnCount(len(found.columns))
        self.table.setHorizontalHeaderLabels(["overall" if c.frequency_hz is None else f"{c.frequency_hz:g} Hz" for c in found.columns])
        for k, column in enumerate(found.columns):
            for r, (text, colour) in enumerate(_cells(column)):
                item = QTableWidgetItem(text)
                if colour is not None:
                    item.setBackground(QBrush(colour))
                self.table.setItem(r, k, item)
        self.table.resizeColumnsToContents()
        self._fit_side(self.splitter.sizes()[1])  # every frequency's verdict in view, beside the figures
        self.verdict.setText("<br>".join(verdict_lines(found, m)))

    def export_current(self, path: str | None = None) -> Path | None:
        page = self.tabs.currentWidget()
        if not isinstance(page, FigurePage):
            return None
        if not path:
            start = str(self._folder() / f"{page.planned.file_stem}.png")
            path, _ = QFileDialog.getSaveFileName(self, "Export graph", start, "PNG (*.png)")
        if not path:
            return None
        # a figure of its own, so the export never disturbs the one on view, which may not be built yet
        (figure,) = finished_figures(page.planned.steps())
        figure.export_png(Path(path), self.dpi)
        self.exported.emit(f"graph exported to {path}")
        return Path(path)

    def _folder(self) -> Path:
        """Where export dialogs open: the run's own folder."""
        return self.record.folder if self.record is not None else Path.cwd()

    def export_all(self, folder: str | None = None) -> list[Path]:
        if not folder:
            folder = QFileDialog.getExistingDirectory(self, "Export all graphs to", str(self._folder() / "graphs"))
        if not folder or self.record is None:
            return []
        paths = export_figures(finished_figures(plan_steps(page.planned for page in self.pages)), Path(folder), self.dpi)
        self.exported.emit(f"{len(paths)} graphs exported to {folder}")
        return paths

    def export_metrics(self, path: str | None = None) -> None:
        if self.record is None:
            return
        if not path:
            start = str(self._folder() / "metrics-export.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export metrics", start, "JSON (*.json);;CSV (*.csv)")
        if not path:
            return
        if path.endswith(".csv"):
            atomic_write_text(Path(path), metrics_csv(self.record.metrics))
        else:
            atomic_write_json(Path(path), self.record.metrics.to_json())
        self.exported.emit(f"metrics exported to {path}")


def _cells(c: Column) -> list[tuple[str, QColor | None]]:
    """One column of the table (a row per METRICS entry), coloured by the engine's findings."""
    share, check = c.share_of_zero, c.memorisation
    judged = PASS if c.gap_passed else FAIL
    return [
        (format_mse(c.train_mse), None),
        (format_mse(c.test_mse), None),
        (format_mse(c.extraction_mse), None),
        (format_mse(c.known_model_mse), None),
        ("—" if share is None else f"{share:.1%}", FAIL if share is not None and share > POOR_QUALITY else None),
        (f"{c.gap:.2%}", judged),
        ("PASS" if c.gap_passed else "FAIL", judged),
        ("" if check is None else f"{check.z:.2f}", FAIL if check is not None and check.memorised else None),
    ]


def metrics_csv(metrics: RunMetrics) -> str:
    """The scores and the generalization rule as CSV: set, frequency ("all" overall), value."""
    results = metrics.results
    if results is None:
        return "set,frequency_hz,mse\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["set", "frequency_hz", "mse"])
    for name, scores in (("train", results.train), ("test", results.test)):
        writer.writerow([name, "all", scores.mse])
        for row in scores.per_frequency:
            writer.writerow([name, row.frequency_hz, row.mse])
    writer.writerow(["gap", "all", results.gap])
    writer.writerow(["pass", "all", json.dumps(results.passed)])
    return out.getvalue()


def verdict_lines(found: Findings, m: RunMetrics) -> list[str]:
    """Quality, the generalization rule, memorisation and best.pt, each said apart."""
    lines = []
    if found.share_of_zero is not None:
        lines.append(
            f"<b>Quality</b>: test MSE {format_mse(found.test_mse)} is {found.share_of_zero:.1%} of "
            f"{format_mse(found.zero_output_mse)}, what a model that outputs zeros scores (0 is a perfect extraction)."
        )
    if found.times_known is not None:
        lines.append(
            f"<b>Limit</b>: an estimator that knows the signal model scores {format_mse(found.known_model_mse)} on this test set, "
            "reading S one sample at a time and searching the one start all components share (docs/background.md: the references)."
        )
    shifted = found.extraction
    if shifted is not None:
        lines.append(
            f"<b>Extraction</b>: MSE {format_mse(shifted.mse)} on {shifted.draws} test draws whose recording starts at a random "
            f"moment (the known-model estimator: {format_mse(shifted.known_model_mse)}). The test set starts at t = 0, so a "
            "model can replay that one curve; far above the test MSE, it does."
        )
    lines.append(
        f"<b>Generalization</b> (train vs test gap ≤ threshold): <b>{found.rule}</b>, gap {found.gap:.2%} "
        f"against {found.threshold:.0%}, overall and at every frequency. It compares one train and one test noise draw; "
        "it says nothing of quality."
    )
    check = found.memorisation
    if check is not None:
        state = "<b>memorised</b>" if check.memorised else "not memorised"
        lines.append(
            f"<b>Memorisation</b>: {state}: best.pt scored on {check.draws} noise draws it never saw; a frequency whose "
            "train MSE lies more than 2 standard deviations below theirs (z &lt; −2) was learned by heart."
        )
    if m.best_epoch:
        epochs = "?" if m.epochs_completed is None else m.epochs_completed
        lines.append(
            f"<b>best.pt</b>: epoch {m.best_epoch} of {epochs}, chosen by {m.selected_by or '?'}; every number here is that epoch's."
        )
    return lines
