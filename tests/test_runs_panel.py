"""The Runs tab as a comparison view: columns for what differs, sorting, filters, overlay, notes, diff."""

from __future__ import annotations

import json
import statistics

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt

from engine.runs.notes import RunNotes
from engine.runs.run import Run
from gui.panels.runs import RunsPanel
from tests.conftest import scored_metrics, small_config


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Five finished runs: hidden 16 and 32, two seeds of each, and one of hidden 8; with names, notes and tags."""
    tmp = tmp_path_factory.mktemp("runs")
    specs = [
        (["model.hidden_size=16"], RunNotes(name="baseline", tags=("base",))),
        (["model.hidden_size=16", "model.seed=1"], RunNotes(name="baseline seed 1", tags=("base", "seeds"))),
        (["model.hidden_size=32"], RunNotes(name="wide", note="more capacity", tags=("capacity",))),
        (["model.hidden_size=32", "model.seed=1"], RunNotes(name="wide seed 1", tags=("capacity", "seeds"))),
        (["model.hidden_size=8"], RunNotes(name="narrow")),
    ]
    for overrides, notes in specs:
        run = Run.start(small_config(tmp, "training.num_epochs=2", *overrides), notes=notes)
        list(run.epochs())
        run.finish()
    return tmp / "runs"


def shown_in(panel: RunsPanel, runs_dir, qtbot) -> RunsPanel:
    """``panel`` once it has read ``runs_dir`` (in the background)."""
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.set_runs_dir(runs_dir)
    return panel


@pytest.fixture
def panel(qtbot, runs_dir):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    return shown_in(panel, runs_dir, qtbot)


def settled(panel: RunsPanel, qtbot) -> RunsPanel:
    """``panel`` once its table shows the filters and baseline as they are (worked out in the background)."""
    qtbot.waitUntil(lambda: not panel.updating, timeout=10_000)
    return panel


def rows(panel: RunsPanel, children: bool = False) -> list[QModelIndex]:
    """The tree's rows (their first cells) in the order shown: the groups, and with ``children`` each group's runs after it."""
    model, items = panel.table.model(), []
    for k in range(model.rowCount()):
        top = model.index(k, 0)
        items += [top, *([model.index(j, 0, top) for j in range(model.rowCount(top))] if children else [])]
    return items


def text(item: QModelIndex, c: int) -> str:
    """The text of column ``c`` in ``item``'s row."""
    return item.siblingAtColumn(c).data()


def colour(item: QModelIndex, c: int) -> str:
    """The colour of column ``c``'s text in ``item``'s row ("" for the view's own)."""
    brush = item.siblingAtColumn(c).data(Qt.ItemDataRole.ForegroundRole)
    return "" if brush is None else brush.color().name()


def column(panel: RunsPanel, title: str) -> list[str]:
    """The texts of one column in the groups' rows."""
    c = panel.titles().index(title)
    return [text(item, c) for item in rows(panel)]


def find(panel: RunsPanel, name: str, run: bool = False) -> QModelIndex:
    """The group row named ``name``, else (or with ``run``) the row of the run named so."""
    items, model = rows(panel, children=True), panel.table.model()
    groups = [item for item in items if not item.parent().isValid() and not (run and model.rowCount(item))]
    runs = [item for item in items if item.parent().isValid()]
    (item,) = [item for item in groups if item.data() == name] or [item for item in runs if item.data() == name]
    return item


def cell(panel: RunsPanel, name: str, title: str, run: bool = False) -> str:
    return text(find(panel, name, run), panel.titles().index(title))


def select(panel: RunsPanel, *names: str, runs: bool = False) -> None:
    """Select the rows of the groups (with ``runs``: of the runs) named ``names``, as a ctrl-click would."""
    panel.table.clearSelection()
    for name in names:
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        panel.table.selectionModel().select(find(panel, name, runs), flags)


def test_runs_that_differ_only_in_seeds_are_one_group_row_with_n_and_mean_and_std(panel):
    by_name = {r.notes.name: r.metrics.test_mse for r in panel.records}
    assert sorted(column(panel, "name")) == ["baseline", "narrow", "wide"]  # named after each group's first run
    assert dict(zip(column(panel, "name"), column(panel, "n"), strict=True)) == {"baseline": "2", "wide": "2", "narrow": "1"}
    mean = statistics.fmean([by_name["wide"], by_name["wide seed 1"]])
    std = statistics.stdev([by_name["wide"], by_name["wide seed 1"]])
    assert cell(panel, "wide", "test MSE") == f"{mean:.5f} ± {std:.5f}"
    assert cell(panel, "narrow", "test MSE") == f"{by_name['narrow']:.5f}"  # a single run: its own number
    wide, model = find(panel, "wide"), panel.table.model()
    assert sorted(model.index(k, 0, wide).data() for k in range(model.rowCount(wide))) == ["wide", "wide seed 1"]
    assert cell(panel, "wide seed 1", "model.seed") == "1" and cell(panel, "wide", "model.seed") == "0, 1"


def test_the_table_shows_results_and_one_column_per_setting_that_differs(panel):
    titles = panel.titles()
    assert {"n", "status", "test MSE", "test 1 Hz", "test 7 Hz", "validation MSE", "gap", "best epoch", "seconds"} <= set(titles)
    assert {t for t in titles if "." in t} == {"model.hidden_size", "model.seed"}  # and no column for what all share
    assert sorted(column(panel, "model.hidden_size")) == ["16", "32", "8"]
    assert not [t for t in titles if t.startswith("Δ")]  # no baseline yet


def test_sorting_by_a_number_column_sorts_the_groups_by_their_mean(panel):
    from engine.analysis.effects import by_start, group_runs

    c = panel.titles().index("test MSE")
    panel.table.sortByColumn(c, Qt.SortOrder.AscendingOrder)
    means = {g.name: g.test_mse().mean for g in group_runs(by_start(panel.records))}
    assert [means.get(name) for name in column(panel, "name")] == sorted(means.values())
    panel.table.sortByColumn(c, Qt.SortOrder.DescendingOrder)
    assert [means.get(name) for name in column(panel, "name")] == sorted(means.values(), reverse=True)


def test_filters_by_text_tag_and_status_regroup_the_runs_shown(panel, qtbot):
    panel.filter.setText("#capacity")
    assert column(settled(panel, qtbot), "name") == ["wide"] and column(panel, "n") == ["2"]
    panel.filter.setText("MORE CAPACITY")  # the note's text, any case
    assert column(settled(panel, qtbot), "name") == ["wide"] and column(panel, "n") == ["1"]
    panel.filter.setText("#seeds")
    assert sorted(column(settled(panel, qtbot), "name")) == ["baseline seed 1", "wide seed 1"]
    panel.filter.setText("")
    panel.status_filter.setCurrentText("stopped")
    assert column(settled(panel, qtbot), "name") == []
    panel.status_filter.setCurrentText("completed")
    settled(panel, qtbot)
    assert sorted(column(panel, "n")) == ["1", "2", "2"]


def test_a_pinned_baseline_gives_every_other_group_its_change_with_interval_and_verdict(panel, qtbot):
    from engine.analysis.effects import effect

    select(panel, "baseline")
    panel.pin_baseline()
    settled(panel, qtbot)
    titles = panel.titles()
    assert {"Δ test MSE", "Δ test 1 Hz", "Δ test 7 Hz"} <= set(titles)
    assert cell(panel, "baseline", "Δ test MSE") == "baseline" and "baseline" in panel.baseline_label.text()
    mse = {r.notes.name: r.metrics.test_mse for r in panel.records}
    expected = effect([mse["baseline"], mse["baseline seed 1"]], [mse["wide"], mse["wide seed 1"]])
    text = cell(panel, "wide", "Δ test MSE")
    delta, plus_minus, half, percent, *word = text.split()  # "-0.01234 ± 0.00780 (-15.2%) better"
    assert float(delta) == pytest.approx(expected.delta, rel=1e-3) and plus_minus == "±"
    assert float(half) == pytest.approx((expected.ci95[1] - expected.ci95[0]) / 2, rel=1e-3)
    assert percent == f"({expected.delta_pct:+.1f}%)" and " ".join(word) == expected.verdict.value
    assert cell(panel, "narrow", "Δ test MSE").endswith("cannot tell")  # one run: its spread is unknown
    assert colour(find(panel, "narrow"), titles.index("Δ test MSE")) == "#777777"
    panel.pin_baseline([])
    settled(panel, qtbot)
    assert not [t for t in panel.titles() if t.startswith("Δ")]


def test_verdicts_are_coloured_by_direction(qtbot, tmp_path):
    """Better green, worse vermillion, from the same palette as the charts (made-up runs with a clear effect)."""
    from engine.runs.run import RunRecord
    from gui.plots.figures import PALETTE

    def record(name: str, hidden: int, seed: int, mse: float) -> RunRecord:
        config = small_config(tmp_path, f"model.hidden_size={hidden}", f"model.seed={seed}")
        metrics = scored_metrics(mse, frequencies=[1.0])
        return RunRecord(tmp_path / f"20260101-00000{seed}-{hidden}", config, metrics, None, RunNotes(name=name))

    panel = RunsPanel()
    qtbot.addWidget(panel)
    records = [record("base", 16, 0, 0.10), record("base", 16, 1, 0.11), record("good", 32, 0, 0.01), record("good", 32, 1, 0.012)]
    records += [record("bad", 8, 0, 0.50), record("bad", 8, 1, 0.52)]
    panel.show_records(records)
    panel.pin_baseline(records[:2])
    settled(panel, qtbot)
    c = panel.titles().index("Δ test MSE")
    colours = {item.data(): (text(item, c).rsplit(" ", 1)[-1], colour(item, c)) for item in rows(panel)}
    assert colours["good"] == ("better", PALETTE[2].lower()) and colours["bad"] == ("worse", PALETTE[1].lower())


def test_the_table_as_shown_is_exported_as_csv_and_latex(panel, tmp_path, qtbot):
    import csv

    select(panel, "baseline")
    panel.pin_baseline()
    settled(panel, qtbot)
    panel.table.setExpanded(find(panel, "wide"), True)
    path = panel.export_table(str(tmp_path / "runs.csv"))
    lines = list(csv.reader(path.open(encoding="utf-8")))
    assert lines[0] == panel.titles()
    shown = [item for item in rows(panel, children=True) if not item.parent().isValid() or panel.table.isExpanded(item.parent())]
    assert len(lines) == 1 + 5 and [line[0] for line in lines[1:]].count("wide") == 2  # three groups, and wide's two runs
    assert lines[1:] == [[text(item, c) for c in range(len(lines[0]))] for item in shown]
    tex = panel.export_table(str(tmp_path / "runs.tex")).read_text(encoding="utf-8")
    assert "\\toprule" in tex and "\\bottomrule" in tex and "narrow" in tex


def test_overlay_any_metric_and_seeds_as_mean_and_spread(panel):
    select(panel, "wide")
    assert len(panel.selected()) == 2  # a group's row selects its runs
    assert "test MSE 1 Hz" in [panel.metric_choice.itemText(i) for i in range(panel.metric_choice.count())]
    panel.merge_seeds.setChecked(False)
    panel.metric_choice.setCurrentText("test MSE 1 Hz")
    assert [s.name for s in panel.overlay.series] and len(panel.overlay.series) == 2
    reference = panel.selected()[0].metrics.reference.per_frequency[0]
    levels = {item.name(): item.yData[0] for item in panel.overlay.items if item.name() in ("outputs zeros", "known-model estimator")}
    assert levels == {"outputs zeros": reference.zero_output_mse, "known-model estimator": reference.known_model_mse}
    panel.merge_seeds.setChecked(True)
    (group,) = panel.overlay.series
    assert group.runs == 2 and (group.low <= group.y).all() and (group.y <= group.high).all()
    panel.x_axis.setCurrentText("wall time")
    assert panel.overlay.plot.getAxis("bottom").labelText == "wall time"


def test_the_baseline_is_drawn_black_and_thick_under_its_name(panel, qtbot):
    from pyqtgraph import PlotDataItem

    select(panel, "baseline")
    panel.pin_baseline()
    settled(panel, qtbot)
    select(panel, "wide", "narrow")
    assert sorted(s.name for s in panel.overlay.series) == ["narrow", "wide (2 seeds)"]  # named as the table names them
    assert panel.overlay.baseline.name == "baseline (2 seeds)" and panel.overlay.baseline.runs == 2
    (curve,) = [item for item in panel.overlay.items if isinstance(item, PlotDataItem) and (item.name() or "").startswith("baseline")]
    assert curve.opts["pen"].color().name() == "#000000" and curve.opts["pen"].widthF() > 2


def test_two_selected_runs_show_their_config_diff(panel):
    select(panel, "baseline seed 1", "wide seed 1", runs=True)
    text = panel.details.diff.toPlainText()
    assert "model.hidden_size: 16 → 32" in text and "model.seed" not in text
    assert panel.details.diff.isVisibleTo(panel) and not panel.details.editor.isVisibleTo(panel)


def test_a_runs_notes_are_edited_in_the_panel_and_saved_in_its_folder(panel, qtbot):
    select(panel, "baseline", runs=True)
    details = panel.details
    assert details.name.text() == "baseline" and not details.has_unsaved_notes
    details.note.setPlainText("the reference config")
    details.tags.setText("base, reference")
    assert details.has_unsaved_notes
    with qtbot.waitSignal(panel.loaded):
        details.save_button.click()
    (folder,) = [r.folder for r in panel.records if r.notes.name == "baseline"]
    saved = json.loads((folder / "notes.json").read_text())
    assert saved["note"] == "the reference config" and saved["tags"] == ["base", "reference"]
    assert [r.notes.name for r in panel.selected()] == ["baseline"]  # the selection survives the refresh


def test_notes_that_cannot_be_saved_are_kept_in_the_panel_with_a_message(panel, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from engine.runs.notes import write_notes

    select(panel, "baseline", runs=True)
    details = panel.details
    folder, notes = details.record.folder, details.record.notes
    (folder / "notes.json").unlink()
    (folder / "notes.json").mkdir()
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: warned.append(args[2]))
    try:
        details.note.setPlainText("kept")
        details.save_button.click()
        assert len(warned) == 1 and "cannot write" in warned[0]
        assert details.note.toPlainText() == "kept" and details.has_unsaved_notes
    finally:  # the runs folder is shared by this module's tests
        (folder / "notes.json").rmdir()
        write_notes(folder, notes)


def test_the_report_button_writes_the_selected_runs_record(qtbot, tmp_path, runs_dir, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QFileDialog

    from gui.app import RESOURCES
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(runs_dir))
    monkeypatch.setattr(MainWindow, "keep_or_discard_edits", lambda self: True)  # closing asks nobody
    window = MainWindow(RESOURCES / "presets", settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.runs.table.model().rowCount() == 3)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path / "report"))
    window.runs.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # table order: wide, narrow, baseline
    select(window.runs, "wide", "baseline")
    window.runs.report_selected()
    qtbot.waitUntil(lambda: "report of 4 runs written to" in window.statusBar().currentMessage(), timeout=30_000)
    text = (tmp_path / "report" / "report.md").read_text()
    folders = sorted(r.folder.name for r in window.runs.selected())  # a folder is named by when its run started
    assert [r.folder.name for r in window.runs.selected()] != folders  # the table shows them in another order
    assert [text.index(f"`{name}`") for name in folders] == sorted(text.index(f"`{name}`") for name in folders)
    window.shutdown()


def test_cells_show_gaps_as_percentages_counts_whole_and_small_mse_in_scientific_notation():
    from engine.analysis.comparison import ComparisonColumn
    from gui.panels.runs import shown

    assert shown(0.0015, ComparisonColumn("gap", digits=2, percent=True)) == "0.15%"
    assert shown(12.0, ComparisonColumn("best epoch", digits=0)) == "12"
    assert shown(0.00045, ComparisonColumn("test MSE")) == "4.50e-04" and shown(0.0385, ComparisonColumn("test MSE")) == "0.03850"
    assert shown(None, ComparisonColumn("test MSE")) == "—"


def test_repeats_train_the_seeds_one_after_another_and_show_as_one_group(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from gui.app import RESOURCES
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(tmp_path / "runs"))
    monkeypatch.setattr(MainWindow, "keep_or_discard_edits", lambda self: True)  # closing asks nobody
    window = MainWindow(RESOURCES / "presets", settings)
    qtbot.addWidget(window)
    window.load_config_object(small_config(tmp_path, "training.num_epochs=1", "model.seed=5"))
    qtbot.waitUntil(lambda: window.config is not None and window.start_action.isEnabled())
    window.repeats.setValue(2)
    window.start_training()
    assert len(window.queued) == 1 and not window.repeats.isEnabled()
    qtbot.waitUntil(lambda: window.training_thread is None and not window.queued, timeout=120_000)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.runs)  # the tab reads the runs folder once shown
    qtbot.waitUntil(lambda: len(window.runs.records) == 2, timeout=10_000)
    assert sorted(r.config.model.seed for r in window.runs.records) == [5, 6]
    assert [text(item, 1) for item in rows(window.runs)] == ["2"]
    window.shutdown()


def test_the_runs_folder_is_read_off_the_windows_thread_with_a_count_and_the_window_goes_on(qtbot, runs_dir, monkeypatch):
    import threading

    from PySide6.QtCore import QTimer

    from engine.runs import run as engine_run

    release, readers, load_run = threading.Event(), set(), engine_run.load_run

    def slow(folder, index=None):
        readers.add(threading.current_thread())
        release.wait(10)
        return load_run(folder, index)

    monkeypatch.setattr(engine_run, "load_run", slow)
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_runs_dir(runs_dir)  # returns while the folders are still being read
    assert "reading" in panel.folder_label.text() and panel.records == []
    ticked = []
    QTimer.singleShot(0, lambda: ticked.append(True))
    qtbot.waitUntil(lambda: bool(ticked))  # the window handles its events while the folders are read
    assert panel.records == [] and panel.table.model().rowCount() == 0
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        release.set()
    assert len(panel.records) == 5 and threading.main_thread() not in readers
    assert "reading" not in panel.folder_label.text()


def test_reading_runs_reports_a_count_and_stops_when_cancelled(runs_dir):
    from gui.panels.runs import read_runs

    class State:
        def __init__(self, stop_after: int):
            self.said: list[str] = []
            self.stop_after = stop_after

        def set_progress(self, fraction, text):
            self.said.append(text)

        def is_cancelled(self):
            return len(self.said) >= self.stop_after

    every, cancelled = State(99), State(2)
    assert len(read_runs(runs_dir, every)) == 5 and every.said[-1] == "Reading runs 5/5"
    assert len(read_runs(runs_dir, cancelled)) == 2 and cancelled.said == ["Reading runs 1/5", "Reading runs 2/5"]


def test_set_as_baseline_with_nothing_selected_says_what_to_do(panel, qtbot):
    with qtbot.waitSignal(panel.message) as said:
        panel.pin_baseline()
    assert "Select a group or a run" in said.args[0] and not panel.baseline


def test_the_status_filter_offers_every_status_and_finds_pruned_and_damaged_runs(qtbot, tmp_path):
    from engine.runs.status import RunStatus

    for name, status in (("kept", None), ("cut", RunStatus.PRUNED), ("broken", None)):
        run = Run.start(small_config(tmp_path, "training.num_epochs=1"), notes=RunNotes(name=name))
        list(run.epochs())
        if status is not None:
            run.status = status
        run.finish()
        if name == "broken":
            (run.folder / "metrics.json").write_text("{not json")
    panel = shown_in(RunsPanel(), tmp_path / "runs", qtbot)
    qtbot.addWidget(panel)
    offered = [panel.status_filter.itemText(i) for i in range(panel.status_filter.count())]
    assert set(RunStatus) <= set(offered)
    for status, name in ((RunStatus.PRUNED, "cut"), (RunStatus.DAMAGED, "broken"), (RunStatus.COMPLETED, "kept")):
        panel.status_filter.setCurrentText(status)
        assert column(settled(panel, qtbot), "name") == [name], status


def many_records(tmp_path, count: int = 300) -> list:
    """``count`` made-up runs in three groups (hidden 8, 16 and 32, a seed each), and a stopped run of hidden 64 with no results."""
    import dataclasses

    from engine.runs.metrics import RunMetrics
    from engine.runs.run import RunRecord

    configs = {h: small_config(tmp_path, f"model.hidden_size={h}") for h in (8, 16, 32, 64)}
    records = []
    for k in range(count):
        hidden = (8, 16, 32)[k % 3]
        config = dataclasses.replace(configs[hidden], model=dataclasses.replace(configs[hidden].model, seed=k))
        metrics = scored_metrics(0.01 * hidden + 0.0001 * k, frequencies=[1.0])
        records.append(RunRecord(tmp_path / f"20260101-{k:06d}-interleaved", config, metrics, None, RunNotes(name=f"h{hidden}")))
    folder, nothing = tmp_path / f"20260101-{count:06d}-interleaved", RunMetrics.from_json({"status": "stopped"})
    stopped = RunRecord(folder, configs[64], nothing, None, RunNotes(name="stopped"))
    return [*records, stopped]


def test_three_hundred_runs_fill_one_model_of_prepared_rows(qtbot, tmp_path):
    """The table is a view on one model of prepared rows (no item per cell), its groups and their runs as the engine groups them."""
    from gui.panels.runs import shown
    from gui.table_model import RowsModel

    panel = RunsPanel()
    qtbot.addWidget(panel)
    records = many_records(tmp_path)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.show_records(records)
    model = panel.table.model()
    assert isinstance(model, RowsModel) and model.rowCount() == 4 and model.columnCount() == len(panel.titles())
    assert sorted(model.rowCount(group) for group in rows(panel)) == [0, 100, 100, 100]
    c = panel.titles().index("test MSE")
    h16 = find(panel, "h16")
    runs = [model.index(k, 0, h16) for k in range(model.rowCount(h16))]
    mse = {r.folder.name: r.metrics.test_mse for r in records}
    assert sorted(text(run, c) for run in runs) == sorted(shown(mse[r.folder.name], panel.comparison.columns[2]) for r in records[1:300:3])
    assert panel.shown_rows()[0] == [text(rows(panel)[0], k) for k in range(model.columnCount())]


def test_a_number_column_sorts_by_value_with_missing_numbers_last_in_either_order(qtbot, tmp_path):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        panel.show_records(many_records(tmp_path, 30))
    c = panel.titles().index("test MSE")
    panel.table.sortByColumn(c, Qt.SortOrder.AscendingOrder)
    assert column(panel, "name") == ["h8", "h16", "h32", "stopped"] and column(panel, "test MSE")[-1] == "—"
    panel.table.sortByColumn(c, Qt.SortOrder.DescendingOrder)
    assert column(panel, "name") == ["h32", "h16", "h8", "stopped"]  # the run without a test MSE still last
    h8 = find(panel, "h8")
    firsts = [panel.table.model().index(k, c, h8).data() for k in range(panel.table.model().rowCount(h8))]
    assert firsts == sorted(firsts, key=float, reverse=True)  # a group's runs sorted among themselves, by value


def test_sorting_filtering_and_a_new_baseline_keep_the_sort_column_expanded_groups_and_selection(panel, qtbot):
    c = panel.titles().index("validation MSE")
    panel.table.sortByColumn(c, Qt.SortOrder.DescendingOrder)
    panel.table.setExpanded(find(panel, "wide"), True)
    select(panel, "wide seed 1", runs=True)
    select(panel, "baseline")
    panel.pin_baseline()
    settled(panel, qtbot)
    header = panel.table.header()
    assert panel.titles()[header.sortIndicatorSection()] == "validation MSE"  # followed by its title past the Δ columns added
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert panel.table.isExpanded(find(panel, "wide")) and [r.notes.name for r in panel.selected()] == ["baseline", "baseline seed 1"]
    panel.filter.setText("seed")
    settled(panel, qtbot)
    assert [r.notes.name for r in panel.selected()] == ["baseline seed 1"]  # what the filter lets through of it


def hidden_runs_tab(qtbot, runs_dir):
    """(tabs, panel): a Runs tab behind another tab in view, told its folder changed."""
    from PySide6.QtWidgets import QLabel, QTabWidget

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    panel = RunsPanel()
    panel.runs_dir = runs_dir
    tabs.addTab(QLabel("another tab"), "other")
    tabs.addTab(panel, "Runs")
    tabs.show()
    qtbot.waitExposed(tabs)
    panel.refresh_when_shown()
    return tabs, panel


def test_a_hidden_runs_tab_reads_the_folder_when_shown_not_while_another_tab_draws(qtbot, runs_dir):
    tabs, panel = hidden_runs_tab(qtbot, runs_dir)
    assert not panel.tasks.running("runs") and not panel.records  # nothing read while hidden
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        tabs.setCurrentWidget(panel)
    assert panel.records
    panel.refresh_when_shown()  # in view: read at once
    assert panel.tasks.running("runs")
    qtbot.waitUntil(lambda: not panel.tasks.running("runs"))


def test_a_stale_runs_tab_starts_its_read_once_painted(qtbot, runs_dir):
    """The read runs in a thread of the window's process: started beside the tab's first paint, it slowed that paint."""
    from tests.test_repaints import PaintCounter

    tabs, panel = hidden_runs_tab(qtbot, runs_dir)
    counter = PaintCounter()
    panel.folder_label.installEventFilter(counter)
    began = panel.tasks.start
    paints_at_start: list[int] = []
    panel.tasks.start = lambda *args, **kwargs: paints_at_start.append(counter.paints[panel.folder_label]) or began(*args, **kwargs)
    with qtbot.waitSignal(panel.loaded, timeout=10_000):
        tabs.setCurrentWidget(panel)
    assert paints_at_start[0] >= 1
