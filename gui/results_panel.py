"""Results of one run: the spec's graphs (shared with the headless export) and a metrics table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QTimer
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

from engine.config import Config
from engine.files import atomic_write_json, atomic_write_text
from engine.runs import RunRecord
from gui.figures import Figure, export_figures, figures_for_record
from gui.widgets import button_row

PASS, FAIL = QColor("#d9f2e3"), QColor("#fbe0d6")
FIGURE_TITLES = {
    "loss_curve": "Loss",
    "per_frequency_mse": "Per-frequency MSE",
    "graph1_comparison": "Graph 1",
    "graph2_all_frequencies": "Graph 2",
    "fft_spectrum": "FFT",
}


class ResultsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Open a run from the Runs tab, or finish a training, to see its results.")
        self.tabs = QTabWidget()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["", "train MSE", "test MSE", "gap", "pass"])
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumWidth(380)
        self.verdict = QLabel()
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
        self.title.setText(
            f"<b>{record.name}</b> — {m.get('mode', '?')}, {m.get('epochs_completed', '?')} epochs, "
            f"status {m.get('status', 'unknown')}, {m.get('device', '')}"
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
        self.table.setRowCount(0)
        if "test" not in m:
            self.verdict.setText("No metrics in this run folder.")
            return
        threshold = m.get("generalization_threshold", 0.1)
        rows = [("overall", m["train"]["mse"], m["test"]["mse"], m["generalization_gap"])]
        gaps = {g["frequency_hz"]: g["gap"] for g in m.get("generalization_gap_per_frequency", [])}
        for train, test in zip(m["train"]["per_frequency"], m["test"]["per_frequency"], strict=True):
            rows.append((f"{train['frequency_hz']:g} Hz", train["mse"], test["mse"], gaps.get(train["frequency_hz"], float("nan"))))
        self.table.setRowCount(len(rows))
        for r, (name, train, test, gap) in enumerate(rows):
            ok = gap < threshold
            cells = [name, f"{train:.5f}", f"{test:.5f}", f"{gap:.2%}", "PASS" if ok else "FAIL"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setBackground(QBrush(PASS if ok else FAIL))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        verdict = "PASS" if m.get("generalization_pass") else "FAIL"
        self.verdict.setText(f"Generalization: <b>{verdict}</b> (threshold {threshold:.0%}, overall and every frequency)")

    def export_current(self, path: str | None = None) -> Path | None:
        figure = self.tabs.currentWidget()
        if not isinstance(figure, Figure):
            return None
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export graph", f"{figure.file_stem}.png", "PNG (*.png)")
        if not path:
            return None
        self._fresh_figures()[self.figures.index(figure)].export_png(Path(path), self.dpi)
        return Path(path)

    def export_all(self, folder: str | None = None) -> list[Path]:
        if not folder:
            folder = QFileDialog.getExistingDirectory(self, "Export all graphs to")
        if not folder or self.record is None:
            return []
        return export_figures(self._fresh_figures(), Path(folder), self.dpi)

    def _fresh_figures(self) -> list[Figure]:
        """Newly built figures of the run, for exports, so they never disturb the figures on view."""
        return list(figures_for_record(self.record, self.record.config or Config()))

    def export_metrics(self, path: str | None = None) -> None:
        if self.record is None:
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.json", "JSON (*.json);;CSV (*.csv)")
        if not path:
            return
        if path.endswith(".csv"):
            atomic_write_text(Path(path), metrics_csv(self.record.metrics))
        else:
            atomic_write_json(Path(path), self.record.metrics)


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
