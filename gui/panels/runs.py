"""Past runs compared, grouped by configuration: runs that differ only in their seeds form one row
with n and each number's mean ± std, expandable to its runs; any group or run can be pinned as the
baseline, and every other group then shows its change of test MSE against it with Welch's 95 %
interval and a verdict. Sorted by any column, filtered by text, tag and status; an overlay of any
metric of the selected groups; their notes and config diff; the table exported as CSV or LaTeX;
open, load the config of, resume, report on or delete runs. The run folders are read on a background
task, with a count as they are read, and the table's groups, comparison and rows for the filters and
baseline are worked out there too (again on a background task when a filter or the baseline changes):
the window's thread only swaps the prepared rows into the table's model, so a large runs folder never
holds up the window."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.comparison import (
    Comparison,
    ComparisonColumn,
    RunSeries,
    compare,
    matches,
    metric_names,
    metric_references,
    run_series,
)
from engine.analysis.effects import TEST_MSE, Effect, RunGroup, Verdict, by_start, group_runs, summarize
from engine.analysis.findings import format_mse
from engine.analysis.tables import table_csv, table_latex
from engine.runs.run import RunRecord, is_active, load_runs
from engine.runs.status import RunStatus
from engine.storage.files import atomic_write_text
from gui.panels.run_details import RunDetails
from gui.plots.figures import PALETTE, RunsFigure, reference_levels
from gui.table_model import PAYLOAD_ROLE, ROWS_MEASURED, Row, RowsModel, fit_columns, number
from gui.tasks import CancelledError, Tasks, TaskState
from gui.widgets import AfterPaint, button_row

STATUSES = ["any status", *RunStatus]
RECORDS_ROLE = PAYLOAD_ROLE  # a row's runs: indices into the records the table was made from
RUNS_VIEW = "runs view"  # the background task working out the table for the filters and baseline
Cell = tuple[str, float | None]  # a cell's text, and the number it sorts by (None: sorted by its text; NaN: a missing number)
# Okabe-Ito, as every chart: distinguishable for colour-blind readers
VERDICT_COLORS = {Verdict.BETTER: PALETTE[2], Verdict.WORSE: PALETTE[1], Verdict.WITHIN_NOISE: "#777777", Verdict.CANNOT_TELL: "#777777"}
EFFECT_TIP = (
    "Change of the group's mean from the baseline's, ± the half-width of Welch's 95 % interval, and what the interval says: "
    "better (below 0), worse (above 0), within noise (spans 0), cannot tell (a side has a single run)"
)


def shown(value: float | None, column: ComparisonColumn) -> str:
    """A comparison cell's text: a percentage, a count, or an MSE (small ones in scientific notation)."""
    if value is None:
        return "—"
    if column.percent:
        return f"{value:.{column.digits}%}"
    if column.digits == 0:
        return f"{value:.0f}"
    if column.mse:
        return format_mse(value)
    return f"{value:.{column.digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def pair(value: float, spread: float, column: ComparisonColumn) -> str:
    """A number and its spread in one format, chosen by the larger: "0.48654 ± 0.00051", not "0.48654 ± 5.13e-04"."""
    if column.percent or column.digits == 0 or max(abs(value), spread) < 1e-3:
        return f"{shown(value, column)} ± {shown(spread, column)}"
    return f"{value:.{column.digits}f} ± {spread:.{column.digits}f}"


def spread(values: Sequence[Any], column: ComparisonColumn) -> tuple[str, float | None]:
    """A group's cell of a number column: "mean ± std" over its runs (the mean alone for one run), and the mean."""
    summary = summarize([v for v in values if v is not None])
    mean, std = summary.mean, summary.std
    text = shown(mean, column) if mean is None or std is None else pair(mean, std, column)
    return text, mean


def effect_text(effect: Effect, column: ComparisonColumn) -> str:
    """An effect as its cell shows it: "-0.01234 ± 0.00780 (-15.2%) better"."""
    if effect.delta is None:
        return "—"
    sign = "+" if effect.delta > 0 else ""
    text = sign + (
        shown(effect.delta, column) if effect.ci95 is None else pair(effect.delta, (effect.ci95[1] - effect.ci95[0]) / 2, column)
    )
    if effect.delta_pct is not None:
        text += f" ({effect.delta_pct:+.1f}%)"
    return f"{text} {effect.verdict.value}"


def effect_tip(effect: Effect) -> str:
    """An effect's tooltip: its interval, and the seeds that would resolve it where it is within noise."""
    lines = [EFFECT_TIP]
    if effect.ci95 is not None:
        lines.append(f"95 % interval: [{effect.ci95[0]:.3g}, {effect.ci95[1]:.3g}]")
    lines.append(f"n: baseline {effect.before.n}, this group {effect.after.n}")
    if effect.seeds_needed is not None:
        lines.append(f"about {effect.seeds_needed} seeds a side would resolve an effect of this size (80 % power, two-sided 5 %)")
    return "\n".join(lines)


def read_runs(runs_dir: Path, state: TaskState) -> list[RunRecord]:
    """A background task: every run folder in ``runs_dir``, newest first, counted as they are read; an
    unreadable folder lists nothing."""

    def progress(done: int, total: int) -> bool:
        state.set_progress(done / total, f"Reading runs {done}/{total}")
        return not state.is_cancelled()

    try:
        return load_runs(runs_dir, progress=progress)
    except OSError:
        return []


@dataclasses.dataclass
class RunsView:
    """What the table shows for one filter and baseline, worked out from the runs as read: the groups
    the filters let through, their comparison and their prepared rows. Plain Python, made off the
    window's thread; the window only hands its rows to the table's model."""

    records: list[RunRecord]  # every run read; a row's payload indexes into them
    text: str = ""  # the filter's text
    status: str = ""  # the status filter ("" for any)
    baseline: frozenset[Path] = frozenset()  # the folders of the pinned group or run
    groups: list[RunGroup] = dataclasses.field(default_factory=list)  # the groups shown
    comparison: Comparison = dataclasses.field(default_factory=lambda: Comparison([]))  # the shown runs, one row per run
    row_of: dict[Path, int] = dataclasses.field(default_factory=dict)  # a shown run's row in the comparison
    baseline_group: RunGroup | None = None  # the pinned runs as a group, under the name the table gives them
    titles: list[str] = dataclasses.field(default_factory=list)
    rows: list[Row] = dataclasses.field(default_factory=list)

    @property
    def filters(self) -> tuple[str, str, frozenset[Path]]:
        return self.text, self.status, self.baseline

    def effect_columns(self) -> list[str]:
        """The comparison columns an effect against the baseline is shown for: test MSE overall and per frequency."""
        if not self.baseline:
            return []
        return [t for t in self.comparison.titles() if t == "test MSE" or (t.startswith("test ") and t.endswith(" Hz"))]

    def arrange(self, cells: list[Cell], n: Cell, effect: str = "") -> list[Cell]:
        """A row's cells in the table's order: the comparison's, with n after the name and each effect
        column (``effect`` formatted with its metric's title) after its metric."""
        effects = set(self.effect_columns())
        arranged = [cells[0], n]
        for title, cell in zip(self.comparison.titles()[1:], cells[1:], strict=True):
            arranged += [cell, (effect.format(title), None)] if title in effects else [cell]
        return arranged

    def run_cells(self, record: RunRecord) -> list[Cell]:
        """A run's own cells, as the comparison has them."""
        values = self.comparison.rows[self.row_of[record.folder]]
        return [(shown(v, c), number(v)) if c.numeric else (str(v), None) for c, v in zip(self.comparison.columns, values, strict=True)]

    def group_cells(self, group: RunGroup) -> list[Cell]:
        """A group's cells: each number's mean ± std over its runs, each text's distinct values."""
        rows = [self.comparison.rows[self.row_of[r.folder]] for r in group.runs]
        cells: list[Cell] = []
        for c, column in enumerate(self.comparison.columns):
            values = [row[c] for row in rows]
            if column.numeric:
                text, mean = spread(values, column)
                cells.append((text, number(mean)))
            elif column.title == "run" and len(group.runs) > 1:
                cells.append((f"{len(group.runs)} runs", None))
            elif column.title == "name":
                cells.append((group.name, None))
            else:
                cells.append((", ".join(dict.fromkeys(str(v) for v in values if str(v))), None))
        return cells

    def row(self, records: Sequence[RunRecord], cells: list[Cell], n: Cell, index: dict[Path, int]) -> Row:
        arranged = self.arrange(cells, n)
        row = Row(
            [text for text, _ in arranged],
            [value for _, value in arranged],
            right=frozenset(c for c, (_, value) in enumerate(arranged) if value is not None),
            payload=[index[r.folder] for r in records],
        )
        if {r.folder for r in records} == self.baseline:  # the pinned row: bold, its effect cells saying "baseline"
            row.bold = True
            for c in self.effect_indices():
                row.texts[c], row.values[c] = "baseline", 0.0
        return row

    def effect_indices(self) -> list[int]:
        return [self.titles.index(f"Δ {t}") for t in self.effect_columns()]

    def set_effects(self, row: Row, group: RunGroup, baseline: RunGroup) -> None:
        """The group's effect cells against ``baseline``, coloured by the verdict."""
        if {r.folder for r in group.runs} == self.baseline:
            return
        mse = ComparisonColumn("test MSE")
        for c, title in zip(self.effect_indices(), self.effect_columns(), strict=True):
            metric = TEST_MSE if title == TEST_MSE else f"{TEST_MSE} {title.removeprefix('test ')}"
            effect = Effect(baseline.metric(metric), group.metric(metric))
            row.texts[c], row.values[c] = effect_text(effect, mse), number(effect.delta)
            row.tips[c] = effect_tip(effect)
            row.colours[c] = VERDICT_COLORS[effect.verdict]

    def find_baseline(self) -> RunGroup | None:
        """The pinned runs as a group: a group shown, else under the name the table gives them."""
        runs = tuple(r for r in by_start(self.records) if r.folder in self.baseline)
        shown = [g for g in self.groups if {r.folder for r in g.runs} == self.baseline]
        if shown or not runs:
            return shown[0] if shown else None
        alone = len(runs) == 1 and runs[0].folder in self.row_of  # a run pinned on its own, its group shown
        return RunGroup(runs, label=self.comparison.rows[self.row_of[runs[0].folder]][0] if alone else "")

    def make_rows(self) -> list[Row]:
        """A row per group (a group of several runs holds a row per run), effects against the baseline filled in."""
        index = {r.folder: k for k, r in enumerate(self.records)}
        rows = []
        for group in self.groups:
            n = len(group.runs)
            row = self.row(group.runs, self.group_cells(group), (str(n), float(n)), index)
            if n > 1:
                row.children = [self.row([r], self.run_cells(r), ("", None), index) for r in group.runs]
            if self.baseline_group is not None:
                self.set_effects(row, group, self.baseline_group)
            rows.append(row)
        return rows


def runs_view(
    records: list[RunRecord], text: str = "", status: str = "", baseline: frozenset[Path] = frozenset(), state: TaskState | None = None
) -> RunsView:
    """The table for ``records`` through the filters (``text``, ``status``) with ``baseline`` pinned; a
    background task (``state``), which stops early once it is no longer wanted."""

    def go_on() -> None:
        if state is not None and state.is_cancelled():
            raise CancelledError(state.kind)

    if state is not None:
        state.set_progress(None, f"Comparing {len(records)} runs")
    shown_records = [r for r in records if matches(r, text, status)]
    groups = group_runs(by_start(shown_records))  # a group is named after its first run
    go_on()
    comparison = compare(shown_records)
    go_on()
    view = RunsView(records, text, status, baseline, groups, comparison, {r.folder: k for k, r in enumerate(shown_records)})
    view.baseline_group = view.find_baseline()
    view.titles = [cell for cell, _ in view.arrange([(t, None) for t in comparison.titles()], ("n", None), "Δ {}")]
    view.rows = view.make_rows()
    return view


def read_view(runs_dir: Path, state: TaskState, text: str, status: str, baseline: frozenset[Path]) -> tuple[list[RunRecord], RunsView]:
    """A background task: the runs folder read (``read_runs``) and its table for the filters and baseline given."""
    records = read_runs(runs_dir, state)
    return records, runs_view(records, text, status, baseline, state)


class RunsPanel(QWidget):
    open_requested = Signal(object)  # RunRecord
    config_requested = Signal(object)  # Config
    resume_requested = Signal(object)  # Path
    report_requested = Signal(object)  # list[Path], in the order the runs started
    message = Signal(str)  # a sentence for the status bar
    loaded = Signal()  # the table shows the runs folder as it was last read

    def __init__(self, tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks or Tasks(self)  # the window's, shared by its panels and ended when it closes
        self._filling = False  # the table is being filled: its selection changes are not the reader's
        self._stale = False  # the runs folder changed while the tab was hidden: read it when shown
        self.runs_dir = Path("runs")
        self.folder_label = QLabel()
        self._read_once_painted = AfterPaint(self.folder_label, self.refresh)  # a tab shown with an old listing
        self.baseline_label = QLabel()
        self.baseline_label.setWordWrap(True)  # one line would set the window's least width past a small screen's
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: text in name, note or folder; #tag for a tag")
        self.filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(STATUSES)
        self.model = RowsModel(self)
        self.table = QTreeView()
        self.table.setModel(self.model)
        self.table.setUniformRowHeights(True)  # its layout never asks every row for its height
        self.table.header().setResizeContentsPrecision(ROWS_MEASURED)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(lambda *_: None if self._filling else self.on_selection())
        self.table.doubleClicked.connect(lambda *_: self.open_selected())
        self.table.expanded.connect(lambda _: self.table.resizeColumnToContents(0))  # the runs' names are indented
        self.metric_choice = QComboBox()
        self.x_axis = QComboBox()
        self.x_axis.addItems(["epoch", "wall time"])
        self.merge_seeds = QCheckBox("seeds as mean and spread")
        self.merge_seeds.setChecked(True)
        self.merge_seeds.setToolTip(
            "Runs that differ only in their seeds are drawn as their mean, with the lowest and highest value as a band"
        )
        for signal in (self.metric_choice.currentIndexChanged, self.x_axis.currentIndexChanged, self.merge_seeds.toggled):
            signal.connect(lambda *_: self.overlay_selected())
        self.overlay = RunsFigure()
        self.details = RunDetails()
        self.details.saved.connect(self._notes_saved)
        self.filter.textChanged.connect(lambda _: self.apply_filter())
        self.status_filter.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.setLayout(self._layout())
        self.records: list[RunRecord] = []
        self.view = RunsView([])  # what the table shows, for the filters and baseline it was made for
        self.baseline: frozenset[Path] = frozenset()  # the folders of the pinned group or run
        self.active_folder: Path | None = None  # the run this window is training
        self._keep_selected: set[Path] = set()  # to select again once the table shows what is being worked out
        self._loading = False  # the runs folder was read; ``loaded`` is due once the table shows it

    def _layout(self) -> QVBoxLayout:
        buttons = button_row(
            [
                ("Refresh", self.refresh),
                ("Open", self.open_selected),
                ("Load config", self.load_config),
                ("Resume", self.resume_selected),
                ("Set as baseline", self.pin_baseline),
                ("Export table…", self.export_table),
                ("Report…", self.report_selected),
                ("Delete…", self.delete_selected),
            ]
        )
        filters = QHBoxLayout()
        filters.addWidget(self.filter, 1)
        filters.addWidget(self.status_filter)
        overlay_controls = QHBoxLayout()
        overlay_controls.addWidget(QLabel("Overlay"))
        overlay_controls.addWidget(self.metric_choice, 1)
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
        left_layout.addWidget(self.baseline_label)
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

    # ----- reading the runs folder -------------------------------------------------------------
    def set_runs_dir(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.baseline = frozenset()
        self.refresh()

    def set_training(self, folder: Path | None) -> None:
        """The run this window is training (None: none), which Delete refuses."""
        self.active_folder = folder

    def refresh_when_shown(self) -> None:
        """Read the runs folder again now where the tab is in view, else once it is shown: a read of
        hundreds of runs in a thread of the window's process slows everything the window draws meanwhile
        (the figures of a run just imported took 0.4 s instead of 0.04 s)."""
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._read_once_painted.arm()

    def refresh(self) -> None:
        """Read the runs folder again in the background (a read under way is dropped), with the table for
        the filters and baseline worked out there too; the selection, filter, sort order and baseline stay."""
        self._stale = False
        self._read_once_painted.disarm()
        self._keep_selected |= {r.folder for r in self.selected()}
        # how far it is goes to the status bar: a label retyped at each step laid the tab out again
        self.folder_label.setText(f"Runs in <b>{self.runs_dir.resolve()}</b> (reading…)")
        runs_dir = self.runs_dir
        text, status, baseline = self._filters()
        self.tasks.start("runs", lambda state: read_view(runs_dir, state, text, status, baseline), lambda read: self.show_records(*read))

    def show_records(self, records: list[RunRecord], view: RunsView | None = None) -> None:
        """The table, filters and overlay choices for ``records``, the runs folder as just read; ``view``
        its table where it was worked out with the read (else it is worked out in the background)."""
        self.folder_label.setText(f"Runs in <b>{self.runs_dir.resolve()}</b>")
        self.records = records
        self._fill_metrics()
        self._loading = True
        self.tasks.cancel(RUNS_VIEW)  # made from the runs as they were before this read
        if view is None:
            self.apply_filter()
        else:
            self._show_view(view)  # worked out again there if the filters or baseline changed during the read

    @property
    def updating(self) -> bool:
        """The runs folder is being read, or the table worked out for the filters and baseline."""
        return self.tasks.running("runs") or self.tasks.running(RUNS_VIEW)

    def _fill_metrics(self) -> None:
        current = self.metric_choice.currentText()
        self.metric_choice.blockSignals(True)
        self.metric_choice.clear()
        self.metric_choice.addItems(metric_names(self.records))
        self.metric_choice.setCurrentText(current or "train loss")
        self.metric_choice.blockSignals(False)

    # ----- the table ---------------------------------------------------------------------------
    @property
    def groups(self) -> list[RunGroup]:
        """The groups the table shows."""
        return self.view.groups

    @property
    def comparison(self) -> Comparison:
        """The shown runs' own numbers and settings, one row per run."""
        return self.view.comparison

    def _filters(self) -> tuple[str, str, frozenset[Path]]:
        """What the table is made for: the filter's text, the status (any: ""), the baseline's folders."""
        status = self.status_filter.currentText()
        return self.filter.text(), "" if status == STATUSES[0] else status, self.baseline

    def apply_filter(self, selected: set[Path] | None = None) -> None:
        """Group the runs the filters let through and show them, keeping the selection (and ``selected``):
        worked out on a background task (one under way is dropped), the table swapped when it is done."""
        self._keep_selected |= selected or set()
        records, (text, status, baseline) = self.records, self._filters()
        self.tasks.start(RUNS_VIEW, lambda state: runs_view(records, text, status, baseline, state), self._show_view)

    def titles(self) -> list[str]:
        """The table's column titles: the comparison's, with n after the name and the effects after the test MSEs."""
        return list(self.view.titles)

    def _show_view(self, view: RunsView) -> None:
        """The table swapped for ``view``'s rows in one reset; sort column (by its title), expanded groups and selection kept."""
        if view.records is not self.records or view.filters != self._filters():  # made for what is no longer asked for
            self.apply_filter()
            return
        keep = self._keep_selected | {r.folder for r in self.selected()}
        self._keep_selected = set()
        top_rows = self.model.rows()
        expanded = {self._row_folders(r) for k, r in enumerate(top_rows) if r.children and self.table.isExpanded(self.model.index_of(k))}
        header = self.table.header()
        sorted_by, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        titles = self.view.titles
        title = titles[sorted_by] if 0 <= sorted_by < len(titles) else ""
        column = view.titles.index(title) if title in view.titles else max(0, min(sorted_by, len(view.titles) - 1))
        self.view = view
        self._filling = True
        try:
            self.model.set_rows(view.titles, view.rows, column, order)
            self.table.sortByColumn(column, order)  # the indicator: the rows are sorted so already
            for k, row in enumerate(self.model.rows()):
                if row.children and self._row_folders(row) in expanded:
                    self.table.setExpanded(self.model.index_of(k), True)
            self._select(keep)
        finally:
            self._filling = False
        fit_columns(self.table, self.model, lambda top: self.table.isExpanded(self.model.index_of(top)))
        self._show_baseline(view.baseline_group)
        self.on_selection()
        if self._loading:
            self._loading = False
            self.loaded.emit()

    def _row_folders(self, row: Row) -> frozenset[Path]:
        return frozenset(self.view.records[k].folder for k in row.payload or [])

    def _folders(self, index: QModelIndex) -> frozenset[Path]:
        """The folders of the runs of the row at ``index``."""
        return self._row_folders(self.model.row(index)) if index.isValid() else frozenset()

    def _select(self, folders: set[Path]) -> None:
        """Select the rows whose runs are all among ``folders`` (a group only when none of its runs is selected alone)."""
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for k, top in enumerate(self.model.rows()):
            mine = self._row_folders(top)
            if mine and mine <= folders:
                selection.select(self.model.index_of(k), self.model.index_of(k, column=last))
                continue
            for j, child in enumerate(top.children):
                if (theirs := self._row_folders(child)) and theirs <= folders:
                    selection.select(self.model.index_of(k, j), self.model.index_of(k, j, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(selection, flags)

    def selected(self) -> list[RunRecord]:
        """The runs of the selected rows in the order the table shows them (a group: all its runs)."""
        chosen: dict[int, None] = {}
        rows = sorted((self.model.place(i), self.model.row(i)) for i in self.table.selectionModel().selectedRows())
        for _, row in rows:
            chosen.update(dict.fromkeys(row.payload or []))
        return [self.view.records[k] for k in chosen]

    def _context_menu(self, position: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Set as baseline", self.pin_baseline).setEnabled(self.table.selectionModel().hasSelection())
        menu.addAction("Clear baseline", lambda: self.pin_baseline([])).setEnabled(bool(self.baseline))
        menu.exec(self.table.viewport().mapToGlobal(position))

    # ----- baseline ----------------------------------------------------------------------------
    def pin_baseline(self, records: Sequence[RunRecord] | None = None) -> None:
        """Compare every group with ``records`` (default: the selected group or run; none: no baseline)."""
        if records is None and not self.selected():
            self.message.emit("Select a group or a run in the table to pin it as the baseline")
            return
        records = self.selected() if records is None else records
        self.baseline = frozenset(r.folder for r in records)
        self.apply_filter()

    def baseline_group(self) -> RunGroup | None:
        """The pinned runs as a group, under the name the table gives them."""
        return self.view.baseline_group

    def _show_baseline(self, baseline: RunGroup | None) -> None:
        if baseline is None:
            self.baseline_label.setText(
                "No baseline: select a group or run and press Set as baseline to see every other group's change against it"
            )
        else:
            self.baseline_label.setText(
                f"Baseline: <b>{baseline.name}</b> (n = {len(baseline.runs)}); Δ = group mean − baseline mean, ± Welch's 95 % interval"
            )

    # ----- overlay, notes ----------------------------------------------------------------------
    def on_selection(self) -> None:
        self.overlay_selected()
        self.details.show_records(self.selected())

    def overlay_selected(self) -> None:
        metric, wall_time = self.metric_choice.currentText(), self.x_axis.currentText() == "wall time"
        baseline = self.baseline_group()
        records = [r for r in self.selected() if r.folder not in self.baseline]
        levels = reference_levels(metric_references([*records, *(baseline.runs if baseline else ())], metric))
        pinned = self._curves(baseline.name, list(baseline.runs), metric, wall_time) if baseline else []
        folders = {r.folder for r in records}
        if self.merge_seeds.isChecked():
            units = [(g.name, [r for r in g.runs if r.folder in folders]) for g in self.groups]
        else:
            units = [(self.comparison.rows[self.view.row_of[r.folder]][0], [r]) for r in records]
        series = [s for name, runs in units if runs for s in self._curves(name, runs, metric, wall_time)]
        self.overlay.show_runs(series, metric, wall_time, levels=levels, baseline=pinned[0] if pinned else None)

    @staticmethod
    def _curves(name: str, runs: list[RunRecord], metric: str, wall_time: bool) -> list[RunSeries]:
        """The curve of runs of one configuration (their mean and band), named as the table names them."""
        series = run_series(runs, metric, wall_time, merge_seeds=True)
        return [dataclasses.replace(s, name=name + (f" ({s.runs} seeds)" if s.runs > 1 else "")) for s in series]

    def _notes_saved(self, folder: Path) -> None:
        self.refresh()
        self.message.emit(f"notes saved in {folder / 'notes.json'}")

    # ----- actions -----------------------------------------------------------------------------
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
            self.report_requested.emit([r.folder for r in by_start(records)])

    def shown_rows(self) -> list[list[str]]:
        """The table's text as shown: each group's row, then its runs' rows where it is expanded."""
        rows = []
        for k, top in enumerate(self.model.rows()):
            members = top.children if top.children and self.table.isExpanded(self.model.index_of(k)) else []
            rows += [list(row.texts) for row in (top, *members)]
        return rows

    def export_table(self, path: str | None = None) -> Path | None:
        """The table as shown to ``path``: CSV, or LaTeX (booktabs) for a .tex name."""
        if not path:
            start = str(self.runs_dir / "runs.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Export the table", start, "CSV (*.csv);;LaTeX table (*.tex)")
        if not path:
            return None
        target = Path(path)
        render = table_latex if target.suffix.lower() == ".tex" else table_csv
        try:
            atomic_write_text(target, render(self.titles(), self.shown_rows()))
        except OSError as exc:
            QMessageBox.warning(self, "Cannot export the table", f"cannot write {target} ({exc.strerror or exc})")
            return None
        self.message.emit(f"table exported to {target}")
        return target

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
