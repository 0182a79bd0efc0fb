"""Results of one run: the result graphs (shared with the headless export) and a metrics table."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.comparison import per_frequency_mse
from engine.config.schema import Config, non_causal_reason
from engine.runs.run import RunRecord, why_no_results
from engine.storage.files import atomic_write_json, atomic_write_text
from gui.plots.figures import Figure, export_figures, figures_for_record
from gui.widgets import button_row

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


class ResultsPanel(QWidget):
    """One run's figures and numbers; quality, the generalization rule (train vs test gap ≤ threshold) and memorisation apart."""

    exported = Signal(str)  # a sentence saying where the files went

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Open a run from the Runs tab, or finish a training, to see its results.")
        self.tabs = QTabWidget()
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
        splitter = QSplitter()
        splitter.addWidget(self.tabs)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self.record: RunRecord | None = None
        self.figures: list[Figure] = []
        self._unbuilt: Iterator[Figure] = iter(())
        self._next_figure = QTimer(self, singleShot=True, interval=0)
        self._next_figure.timeout.connect(self._add_next_figure)
        self.dpi = 300

    def show_run(self, record: RunRecord) -> None:
        self.record = record
        self.dpi = (record.config or Config()).visualization.dpi
        self.tabs.clear()
        self.figures = []
        self._unbuilt = figures_for_record(record, record.config or Config())
        self._add_next_figure()
        m = record.metrics
        named = f"<b>{html.escape(record.notes.name)}</b> ({record.folder.name})" if record.notes.name else f"<b>{record.folder.name}</b>"
        note = f"<br><i>{html.escape(record.notes.note)}</i>" if record.notes.note else ""
        if record.config is not None and (reason := non_causal_reason(record.config)):
            note = f"<br><b>{html.escape(reason)}</b>: not an extractor, a bound on what future context is worth{note}"
        self.title.setText(
            f"{named} — {m.get('mode', '?')}, {m.get('epochs_completed', '?')} epochs, "
            f"status {m.get('status', 'unknown')}, {m.get('device', '')}{note}"
        )
        self._fill_table(m)

    def _add_next_figure(self) -> None:
        """Add one figure per event-loop turn: building all five at once held the window 0.1 s."""
        figure = next(self._unbuilt, None)
        if figure is None:
            return
        self.figures.append(figure)
        self.tabs.addTab(figure, FIGURE_TITLES.get(figure.file_stem, figure.file_stem))
        self._next_figure.start()

    def _fill_table(self, m: dict) -> None:
        self.table.setColumnCount(0)
        if "test" not in m:
            self.verdict.setText(f"No results: the run is {html.escape(why_no_results(m))}.")
            return
        threshold = m.get("generalization_threshold", 0.1)
        zero = m.get("reference", {}).get("zero_output_mse")
        known = {row["frequency_hz"]: row.get("known_model_mse") for row in m.get("reference", {}).get("per_frequency", [])}
        known[None] = m.get("reference", {}).get("known_model_mse")
        memorisation = {row["frequency_hz"]: row for row in m.get("memorisation", {}).get("per_frequency", [])}
        shifted: dict[float | None, float | None] = {f: mse for f, mse in per_frequency_mse(m, "shifted").items()}
        shifted[None] = m.get("shifted", {}).get("mse")
        gaps = {g["frequency_hz"]: g["gap"] for g in m.get("generalization_gap_per_frequency", [])}
        rows = [("overall", None, m["train"]["mse"], m["test"]["mse"], m["generalization_gap"])]
        for train, test in zip(m["train"]["per_frequency"], m["test"]["per_frequency"], strict=True):
            f = train["frequency_hz"]
            rows.append((f"{f:g} Hz", f, train["mse"], test["mse"], gaps.get(f, float("nan"))))
        self.table.setColumnCount(len(rows))
        self.table.setHorizontalHeaderLabels([row[0] for row in rows])
        for c, (_, f, train, test, gap) in enumerate(rows):
            ratio = test / zero if zero else None
            check = memorisation.get(f)  # the engine's own verdict per frequency, not judged again here
            cells = [
                (f"{train:.5f}", None),
                (f"{test:.5f}", None),
                ("—" if shifted.get(f) is None else f"{shifted[f]:.5f}", None),
                ("—" if known.get(f) is None else f"{known[f]:.5f}", None),
                ("—" if ratio is None else f"{ratio:.1%}", FAIL if ratio is not None and ratio > POOR_QUALITY else None),
                (f"{gap:.2%}", PASS if gap < threshold else FAIL),
                ("PASS" if gap < threshold else "FAIL", PASS if gap < threshold else FAIL),
                ("" if check is None else f"{check['z']:.2f}", FAIL if check is not None and check["memorised"] else None),
            ]
            for r, (text, colour) in enumerate(cells):
                item = QTableWidgetItem(text)
                if colour is not None:
                    item.setBackground(QBrush(colour))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.verdict.setText("<br>".join(verdict_lines(m)))

    def export_current(self, path: str | None = None) -> Path | None:
        figure = self.tabs.currentWidget()
        if not isinstance(figure, Figure):
            return None
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export graph", str(self._folder() / f"{figure.file_stem}.png"), "PNG (*.png)")
        if not path:
            return None
        self._fresh_figures()[self.figures.index(figure)].export_png(Path(path), self.dpi)
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
        paths = export_figures(self._fresh_figures(), Path(folder), self.dpi)
        self.exported.emit(f"{len(paths)} graphs exported to {folder}")
        return paths

    def _fresh_figures(self) -> list[Figure]:
        """Newly built figures of the run, for exports, so they never disturb the figures on view."""
        record = self.record
        assert record is not None  # figures are on view, and exported, only while a run is shown
        return list(figures_for_record(record, record.config or Config()))

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
            atomic_write_json(Path(path), self.record.metrics)
        self.exported.emit(f"metrics exported to {path}")


def metrics_csv(metrics: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["set", "frequency_hz", "mse"])
    for name in ("train", "test"):
        writer.writerow([name, "all", metrics[name]["mse"]])
        for row in metrics[name]["per_frequency"]:
            writer.writerow([name, row["frequency_hz"], row["mse"]])
    writer.writerow(["gap", "all", metrics["generalization_gap"]])
    writer.writerow(["pass", "all", json.dumps(metrics["generalization_pass"])])
    return out.getvalue()


def verdict_lines(m: dict) -> list[str]:
    """Quality, the generalization rule, memorisation and best.pt, each said apart."""
    lines = []
    zero = m.get("reference", {}).get("zero_output_mse")
    if zero:
        lines.append(
            f"<b>Quality</b>: test MSE {m['test']['mse']:.5f} is {m['test']['mse'] / zero:.1%} of {zero:.3g}, what a model "
            "that outputs zeros scores (0 is a perfect extraction)."
        )
    known = m.get("reference", {}).get("known_model_mse")
    if known:
        lines.append(
            f"<b>Limit</b>: an estimator that knows the signal model scores {known:.5f} on this test set, reading S one "
            "sample at a time and searching the one start all components share (docs/background.md: the references)."
        )
    shifted = m.get("shifted")
    if shifted:
        lines.append(
            f"<b>Extraction</b>: MSE {shifted['mse']:.5f} on {shifted['draws']} test draws whose recording starts at a random "
            f"moment (the known-model estimator: {shifted['known_model_mse']:.5f}). The test set starts at t = 0, so a model can "
            "replay that one curve; far above the test MSE, it does."
        )
    threshold = m.get("generalization_threshold", 0.1)
    verdict = "PASS" if m.get("generalization_pass") else "FAIL"
    lines.append(
        f"<b>Generalization</b> (train vs test gap ≤ threshold): <b>{verdict}</b>, gap {m['generalization_gap']:.2%} "
        f"against {threshold:.0%}, overall and at every frequency. It compares one train and one test noise draw; "
        "it says nothing of quality."
    )
    check = m.get("memorisation")
    if check:
        state = "<b>memorised</b>" if check["memorised"] else "not memorised"
        lines.append(
            f"<b>Memorisation</b>: {state}: best.pt scored on {check['draws']} noise draws it never saw; a frequency whose "
            "train MSE lies more than 2 standard deviations below theirs (z &lt; −2) was learned by heart."
        )
    if m.get("best_epoch"):
        lines.append(
            f"<b>best.pt</b>: epoch {m['best_epoch']} of {m.get('epochs_completed', '?')}, chosen by {m.get('selected_by', '?')}; "
            "every number here is that epoch's."
        )
    return lines
