"""Past runs: a table from the runs directory; open one, overlay the loss curves of several,
load a run's config into the editor, delete after confirmation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.runs import RunRecord, is_active, list_runs, load_run
from gui.figures import CurveFigure, pen
from gui.widgets import button_row


class RunsPanel(QWidget):
    open_requested = Signal(object)  # RunRecord
    config_requested = Signal(object)  # Config
    resume_requested = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs_dir = Path("runs")
        self.folder_label = QLabel()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["run", "mode", "epochs", "status", "test MSE"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self.overlay_selected)
        self.table.doubleClicked.connect(lambda _: self.open_selected())
        self.overlay = CurveFigure("Training loss of the selected runs")
        buttons = button_row(
            [
                ("Refresh", self.refresh),
                ("Open", self.open_selected),
                ("Load config", self.load_config),
                ("Resume", self.resume_selected),
                ("Delete…", self.delete_selected),
            ]
        )
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.overlay)
        splitter.setSizes([500, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.folder_label)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self.records: list[RunRecord] = []
        self.active_folder: Path | None = None  # the run this window is training

    def set_runs_dir(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.refresh()

    def refresh(self) -> None:
        self.folder_label.setText(f"Runs in <b>{self.runs_dir.resolve()}</b>")
        self.records = [load_run(folder) for folder in list_runs(self.runs_dir)]
        self.table.setRowCount(len(self.records))
        for r, record in enumerate(self.records):
            m = record.metrics
            epochs = m.get("epochs_completed", len(record.history.get("epoch", [])))
            test = m.get("test", {}).get("mse")
            cells = [
                record.name,
                m.get("mode", record.config.training.mode if record.config else "?"),
                str(epochs),
                m.get("status", "unfinished"),
            ]
            cells.append(f"{test:.5f}" if test is not None else "—")
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def selected(self) -> list[RunRecord]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.records[r] for r in rows if r < len(self.records)]

    def overlay_selected(self) -> None:
        series = []
        longest = np.zeros(0)
        for i, record in enumerate(self.selected()):
            if "epoch" in record.history:
                epochs = record.history["epoch"]
                longest = epochs if epochs.size > longest.size else longest
                series.append((record.name, pen(i, 2.0), record.history["train_loss"]))
        padded = [(n, p, np.pad(v, (0, longest.size - v.size), constant_values=np.nan)) for n, p, v in series]
        self.overlay.set_curves(longest, padded)

    def open_selected(self) -> None:
        for record in self.selected()[:1]:
            self.open_requested.emit(record)

    def load_config(self) -> None:
        for record in self.selected()[:1]:
            if record.config is not None:
                self.config_requested.emit(record.config)

    def resume_selected(self) -> None:
        for record in self.selected()[:1]:
            self.resume_requested.emit(record.folder)

    def delete_selected(self, confirm: bool = True) -> None:
        records = self.selected()
        if not records:
            return
        training = [r.name for r in records if r.folder == self.active_folder or is_active(r.folder)]
        if training:
            QMessageBox.warning(self, "Cannot delete", "These runs are training; stop them first:\n\n" + "\n".join(training))
            return
        names = "\n".join(r.name for r in records)
        if confirm:
            answer = QMessageBox.question(self, "Delete runs", f"Delete these run folders and everything in them?\n\n{names}")
            if answer != QMessageBox.StandardButton.Yes:
                return
        for record in records:
            shutil.rmtree(record.folder, ignore_errors=True)
        self.refresh()
