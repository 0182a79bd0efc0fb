"""The Runs tab as a comparison view: columns for what differs, sorting, filters, overlay, notes, diff."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QItemSelectionModel

from engine.experiments import RunNotes
from engine.runs import Run
from gui.runs_panel import RunsPanel
from tests.conftest import small_config


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Three finished runs: hidden 16 and 32 (seeds 0 and 1 of 32), with names, notes and tags."""
    tmp = tmp_path_factory.mktemp("runs")
    specs = [
        (["model.hidden_size=16"], RunNotes(name="baseline", tags=("base",))),
        (["model.hidden_size=32"], RunNotes(name="wide", note="more capacity", tags=("capacity",))),
        (["model.hidden_size=32", "model.seed=1"], RunNotes(name="wide seed 1", tags=("capacity", "seeds"))),
    ]
    for overrides, notes in specs:
        run = Run.start(small_config(tmp, "training.num_epochs=2", *overrides), notes=notes)
        list(run.epochs())
        run.finish()
    return tmp / "runs"


@pytest.fixture
def panel(qtbot, runs_dir):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_runs_dir(runs_dir)
    return panel


def column(panel: RunsPanel, title: str) -> list[str]:
    c = panel.comparison.titles().index(title)
    return [panel.table.item(r, c).text() for r in range(panel.table.rowCount()) if not panel.table.isRowHidden(r)]


def select(panel: RunsPanel, *names: str) -> None:
    """Select the rows of the runs named ``names``, as a ctrl-click would."""
    table, selection = panel.table, panel.table.selectionModel()
    table.clearSelection()
    c = panel.comparison.titles().index("name")
    for r in range(table.rowCount()):
        if table.item(r, c).text() in names:
            selection.select(table.model().index(r, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)


def test_the_table_shows_results_and_one_column_per_setting_that_differs(panel):
    titles = panel.comparison.titles()
    assert {"status", "test MSE", "test 1 Hz", "test 7 Hz", "validation MSE", "gap", "best epoch", "seconds"} <= set(titles)
    assert {t for t in titles if "." in t} == {"model.hidden_size", "model.seed"}  # and no column for what all share
    assert sorted(column(panel, "model.hidden_size")) == ["16", "32", "32"]


def test_sorting_by_a_number_column_sorts_by_value(panel):
    c = panel.comparison.titles().index("test MSE")
    panel.table.sortItems(c)
    values = [panel.table.item(r, c).value for r in range(panel.table.rowCount())]
    assert values == sorted(values)
    panel.table.sortItems(c, order=panel.table.horizontalHeader().sortIndicatorOrder().DescendingOrder)
    assert [panel.table.item(r, c).value for r in range(panel.table.rowCount())] == sorted(values, reverse=True)


def test_filters_by_text_tag_and_status(panel):
    panel.filter.setText("#capacity")
    assert sorted(column(panel, "name")) == ["wide", "wide seed 1"]
    panel.filter.setText("MORE CAPACITY")  # the note's text, any case
    assert column(panel, "name") == ["wide"]
    panel.filter.setText("")
    panel.status_filter.setCurrentText("stopped")
    assert column(panel, "name") == []
    panel.status_filter.setCurrentText("completed")
    assert len(column(panel, "name")) == 3


def test_overlay_any_metric_and_seeds_as_mean_and_spread(panel):
    select(panel, "wide", "wide seed 1")
    assert len(panel.selected()) == 2
    assert "test MSE 1 Hz" in [panel.metric.itemText(i) for i in range(panel.metric.count())]
    panel.metric.setCurrentText("test MSE 1 Hz")
    assert [s.name for s in panel.overlay.series] and len(panel.overlay.series) == 2
    reference = panel.selected()[0].metrics["reference"]["per_frequency"][0]
    levels = {item.name(): item.yData[0] for item in panel.overlay.items if item.name() in ("outputs zeros", "known-model estimator")}
    assert levels == {"outputs zeros": reference["zero_output_mse"], "known-model estimator": reference["known_model_mse"]}
    panel.merge_seeds.setChecked(True)
    (group,) = panel.overlay.series
    assert group.runs == 2 and (group.low <= group.y).all() and (group.y <= group.high).all()
    panel.x_axis.setCurrentText("wall time")
    assert panel.overlay.plot.getAxis("bottom").labelText == "wall time"


def test_two_selected_runs_show_their_config_diff(panel):
    select(panel, "baseline", "wide")
    text = panel.details.diff.toPlainText()
    assert "model.hidden_size: 16 → 32" in text and "model.seed" not in text
    assert panel.details.diff.isVisibleTo(panel) and not panel.details.editor.isVisibleTo(panel)


def test_a_runs_notes_are_edited_in_the_panel_and_saved_in_its_folder(panel, qtbot):
    select(panel, "baseline")
    details = panel.details
    assert details.name.text() == "baseline" and not details.has_unsaved_notes
    details.note.setPlainText("the user's own config")
    details.tags.setText("base, reference")
    assert details.has_unsaved_notes
    with qtbot.waitSignal(panel.message):
        details.save_button.click()
    (folder,) = [r.folder for r in panel.records if r.notes.name == "baseline"]
    saved = json.loads((folder / "notes.json").read_text())
    assert saved["note"] == "the user's own config" and saved["tags"] == ["base", "reference"]
    assert [r.notes.name for r in panel.selected()] == ["baseline"]  # the selection survives the refresh


def test_notes_that_cannot_be_saved_are_kept_in_the_panel_with_a_message(panel, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from engine.experiments import write_notes

    select(panel, "baseline")
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
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path / "report"))
    select(window.runs, "baseline", "wide")
    window.runs.report_selected()
    text = (tmp_path / "report" / "report.md").read_text()
    assert text.count("\n### ") == 2 and "report of 2 runs written to" in window.statusBar().currentMessage()
    window.shutdown()


def test_cells_show_gaps_as_percentages_counts_whole_and_small_mse_in_scientific_notation():
    from engine.experiments import ComparisonColumn
    from gui.runs_panel import shown

    assert shown(0.0015, ComparisonColumn("gap", digits=2, percent=True)) == "0.15%"
    assert shown(12.0, ComparisonColumn("best epoch", digits=0)) == "12"
    assert shown(0.00045, ComparisonColumn("test MSE")) == "4.50e-04" and shown(0.0385, ComparisonColumn("test MSE")) == "0.03850"
    assert shown(None, ComparisonColumn("test MSE")) == "—"
