"""Past runs compared: a table of their results and of the settings that differ among them (sorted
by any column, filtered by text, tag and status), an overlay of any metric of the selected runs,
their notes and config diff; open, load the config of, resume, report on or delete runs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.experiments import Comparison, ComparisonColumn, compare, matches, metric_names, metric_references, run_series
from engine.runs import RunRecord, is_active, list_runs, load_run
from gui.figures import RunsFigure, reference_levels
from gui.run_details import RunDetails
from gui.widgets import button_row

STATUSES = ["any status", "completed", "stopped", "imported", "diverged", "failed", "unfinished"]
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1


class NumberItem(QTableWidgetItem):
    """A table cell that sorts by its number (missing values last), not by its text."""

    def __init__(self, value: float | None, column: ComparisonColumn):
        super().__init__(shown(value, column))
        self.value = math.inf if value is None else float(value)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.value < other.value if isinstance(other, NumberItem) else super().__lt__(other)


def shown(value: float | None, column: ComparisonColumn) -> str:
    """A comparison cell's text: a percentage, a count, or an MSE (small ones in scientific notation)."""
    if value is None:
        return "—"
    if column.percent:
        return f"{value:.{column.digits}%}"
    if column.digits == 0:
        return f"{value:.0f}"
    return f"{value:.{column.digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


class RunsPanel(QWidget):
    open_requested = Signal(object)  # RunRecord
    config_requested = Signal(object)  # Config
    resume_requested = Signal(object)  # Path
    report_requested = Signal(object)  # list[Path], in the order shown
    message = Signal(str)  # a sentence for the status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs_dir = Path("runs")
        self.folder_label = QLabel()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: text in name, note or folder; #tag for a tag")
        self.filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(STATUSES)
        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        self.table.itemSelectionChanged.connect(self.on_selection)
        self.table.doubleClicked.connect(lambda _: self.open_selected())
        self.metric = QComboBox()
        self.x_axis = QComboBox()
        self.x_axis.addItems(["epoch", "wall time"])
        self.merge_seeds = QCheckBox("seeds as mean and spread")
        self.merge_seeds.setToolTip(
            "Runs that differ only in model.seed are drawn as their mean, with the lowest and highest value as a band"
        )
        for signal in (self.metric.currentIndexChanged, self.x_axis.currentIndexChanged, self.merge_seeds.toggled):
            signal.connect(lambda *_: self.overlay_selected())
        self.overlay = RunsFigure()
        self.details = RunDetails()
        self.details.saved.connect(self._notes_saved)
        self.filter.textChanged.connect(lambda _: self.apply_filter())
        self.status_filter.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.setLayout(self._layout())
        self.records: list[RunRecord] = []
        self.comparison = Comparison([])
        self.active_folder: Path | None = None  # the run this window is training

    def _layout(self) -> QVBoxLayout:
        buttons = button_row(
            [
                ("Refresh", self.refresh),
                ("Open", self.open_selected),
                ("Load config", self.load_config),
                ("Resume", self.resume_selected),
                ("Report…", self.report_selected),
                ("Delete…", self.delete_selected),
            ]
        )
        filters = QHBoxLayout()
        filters.addWidget(self.filter, 1)
        filters.addWidget(self.status_filter)
        overlay_controls = QHBoxLayout()
        overlay_controls.addWidget(QLabel("Overlay"))
        overlay_controls.addWidget(self.metric, 1)
        overlay_controls.addWidget(QLabel("x:"))
        overlay_controls.addWidget(self.x_axis)
        overlay_controls.addWidget(self.merge_seeds)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(overlay_controls)
        right_layout.addWidget(self.overlay, 3)
        right_layout.addWidget(self.details, 2)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([750, 650])
        layout = QVBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.folder_label)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        return layout

    def set_runs_dir(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.refresh()

    def refresh(self) -> None:
        """Read the runs folder again, keeping the selection, filter and sort order."""
        selected = {r.folder for r in self.selected()}
        self.folder_label.setText(f"Runs in <b>{self.runs_dir.resolve()}</b>")
        self.records = [load_run(folder) for folder in list_runs(self.runs_dir)]
        self.comparison = compare(self.records)
        self._fill_table()
        self._fill_metrics()
        self.apply_filter()
        for row in range(self.table.rowCount()):
            if self._record_at(row).folder in selected:
                self.table.selectRow(row)

    def _fill_table(self) -> None:
        table, comparison = self.table, self.comparison
        table.setSortingEnabled(False)
        table.clearSelection()
        table.setColumnCount(len(comparison.columns))
        table.setHorizontalHeaderLabels(comparison.titles())
        table.setRowCount(len(comparison.rows))
        for r, row in enumerate(comparison.rows):
            for c, (column, value) in enumerate(zip(comparison.columns, row, strict=True)):
                item = NumberItem(value, column) if column.numeric else QTableWidgetItem(str(value))
                item.setData(RECORD_ROLE, r)
                table.setItem(r, c, item)
        table.setSortingEnabled(True)
        table.resizeColumnsToContents()

    def _fill_metrics(self) -> None:
        current = self.metric.currentText()
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.addItems(metric_names(self.records))
        self.metric.setCurrentText(current or "train loss")
        self.metric.blockSignals(False)

    def apply_filter(self) -> None:
        status = self.status_filter.currentText()
        status = "" if status == STATUSES[0] else status
        for row in range(self.table.rowCount()):
            self.table.setRowHidden(row, not matches(self._record_at(row), self.filter.text(), status))

    def _record_at(self, row: int) -> RunRecord:
        return self.records[self.table.item(row, 0).data(RECORD_ROLE)]

    def selected(self) -> list[RunRecord]:
        """The selected runs in the order the table shows them."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._record_at(r) for r in rows if not self.table.isRowHidden(r)]

    def on_selection(self) -> None:
        self.overlay_selected()
        self.details.show_records(self.selected())

    def overlay_selected(self) -> None:
        metric, wall_time, records = self.metric.currentText(), self.x_axis.currentText() == "wall time", self.selected()
        levels = reference_levels(metric_references(records, metric))
        self.overlay.show_runs(run_series(records, metric, wall_time, self.merge_seeds.isChecked()), metric, wall_time, levels=levels)

    def _notes_saved(self, folder: Path) -> None:
        self.refresh()
        self.message.emit(f"notes saved in {folder / 'notes.json'}")

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

    def report_selected(self) -> None:
        records = self.selected()
        if records:
            self.report_requested.emit([r.folder for r in records])

    def delete_selected(self, confirm: bool = True) -> None:
        records = self.selected()
        if not records:
            return
        training = [r.folder.name for r in records if r.folder == self.active_folder or is_active(r.folder)]
        if training:
            QMessageBox.warning(self, "Cannot delete", "These runs are training; stop them first:\n\n" + "\n".join(training))
            return
        names = "\n".join(f"{r.folder.name}  {r.notes.name}" for r in records)
        if confirm:
            answer = QMessageBox.question(self, "Delete runs", f"Delete these run folders and everything in them?\n\n{names}")
            if answer != QMessageBox.StandardButton.Yes:
                return
        for record in records:
            shutil.rmtree(record.folder, ignore_errors=True)
        self.refresh()
