"""The real window, driven offscreen: waits are qtbot signals and conditions, never sleeps."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QPoint, QPointF, QRect, QSettings, Qt, QThread
from PySide6.QtGui import QImage, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLabel, QPushButton

from engine.config.schema import load_config
from engine.runs.metrics import RunMetrics
from gui.app import RESOURCES
from gui.main_window import MainWindow
from gui.panels.training import RunState
from gui.plots.run_graphs import export_graphs
from tests.conftest import small_config


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(tmp_path / "runs"))
    win = MainWindow(RESOURCES / "presets", settings)
    win.load_config_object(small_config(tmp_path))
    yield win
    win.shutdown()
    monkeypatch.setattr(MainWindow, "keep_or_discard_edits", lambda self: True)  # teardown asks nobody about the test's edits
    win.close()
    win.deleteLater()
    with warnings.catch_warnings():  # isinstance over every live object touches torch's deprecated aliases
        warnings.simplefilter("ignore")
        running = [t for t in gc.get_objects() if isinstance(t, QThread) and t.isRunning()]
    assert not running, f"test leaked running QThreads: {running}"
    assert not multiprocessing.active_children(), "test leaked a training process"


def start(qtbot, win: MainWindow, epochs: int):
    win.form.editors["training.num_epochs"].setValue(epochs)
    qtbot.waitUntil(lambda: win.config is not None and win.config.training.num_epochs == epochs)
    win.start_training()
    assert win.worker is not None
    return win.worker


def test_editing_a_data_field_updates_the_preview(qtbot, window):
    qtbot.waitUntil(lambda: window.preview.signals is not None and not window.preview.drawing.running())  # generated on a background task
    before = window.preview.signals.mixture.copy()
    with qtbot.waitSignal(window.preview.drawn):
        window.form.editors["data.frequencies"].spins[0].setValue(2)
    assert window.preview.component.itemText(0) == "2 Hz"
    assert window.preview.signals.frequencies[0] == 2.0
    assert not (window.preview.signals.mixture == before).all()


def test_an_invalid_value_is_marked_and_blocks_start(qtbot, window):
    assert window.start_action.isEnabled()
    window.form.editors["model.input_size"].setValue(7)
    qtbot.waitUntil(lambda: not window.start_action.isEnabled())
    assert "model.input_size: 7 does not fit 4 frequencies; allowed: 5" in window.form.errors.text()
    assert "border" in window.form.editors["model.input_size"].styleSheet()
    window.form.editors["model.input_size"].setValue(5)
    qtbot.waitUntil(window.start_action.isEnabled)
    assert window.form.errors.text() == ""


def test_the_frequency_list_editor_adds_and_removes_and_the_engine_checks_the_result(qtbot, window):
    editor = window.form.editors["data.frequencies"]
    editor.add_button.click()
    qtbot.waitUntil(lambda: not window.start_action.isEnabled())
    assert editor.values() == [1, 3, 5, 7, 9]
    assert "model.input_size: 5 does not fit 5 frequencies; allowed: 6" in window.form.errors.text()
    window.form.editors["model.input_size"].setValue(6)
    qtbot.waitUntil(window.start_action.isEnabled)
    assert window.preview.component.count() == 5
    remove = editor.spins[1].parentWidget().findChild(QPushButton)
    remove.click()
    qtbot.waitUntil(lambda: not window.start_action.isEnabled())  # 4 frequencies, input_size 6 again
    assert editor.values() == [1, 5, 7, 9]
    editor.spins[3].setValue(60)  # at or above Nyquist (50 Hz at 100 Hz sampling) is named at the field
    qtbot.waitUntil(lambda: "data.frequencies: 60 Hz is at or above Nyquist" in window.form.errors.text())
    assert "border" in editor.styleSheet()


def test_a_two_epoch_training_delivers_each_epoch_and_the_results_and_exports_curves(qtbot, window, tmp_path):
    worker = start(qtbot, window, 2)
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        pass
    event = finished.args[0]
    assert event.status == "completed" and event.metrics.epochs_completed == 2
    assert window.training.history.epoch.tolist() == [1, 2]
    qtbot.waitUntil(lambda: window.training_thread is None)
    csv_files = window.training.export_curves(str(tmp_path / "curves.csv"))
    assert [p.name for p in csv_files] == ["curves.csv", "curves_per_frequency.csv"]
    assert len(csv_files[0].read_text().splitlines()) == 3  # header and one row per epoch
    png, _ = window.training.export_curves(str(tmp_path / "curves.png"))
    assert QImage(str(png)).width() == window.training.loss.size_inches[0] * 50  # the config's dpi
    svg, _ = window.training.export_curves(str(tmp_path / "curves.svg"))
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert window.results.record is not None and window.results.table.columnCount() == 5
    assert window.form.isEnabled() and window.start_action.isEnabled()


def test_pause_parks_the_run_and_stop_ends_it_stopped_leaving_last_pt(qtbot, window):
    worker = start(qtbot, window, 100_000)
    assert not window.form.isEnabled()  # editing is locked while a run is active
    with qtbot.waitSignal(worker.epoch_done, timeout=30_000):
        pass
    window.toggle_pause()
    assert worker.control.paused and window.pause_action.text() == "&Resume"
    assert window.training.state is RunState.PAUSED and window.training.state_label.text() == "Paused"
    qtbot.waitUntil(worker.control.parked.is_set, timeout=30_000)  # the loop waits in the pause
    qtbot.waitUntil(lambda: len(window.training.history) == torch_epoch(window.last_run_folder))  # what was sent is shown
    seen = len(window.training.history)
    window.toggle_pause()
    assert window.training.state is RunState.TRAINING
    with qtbot.waitSignal(worker.epoch_done, timeout=30_000) as epoch:
        pass
    assert epoch.args[0].report.epoch == seen + 1  # nothing trained while parked
    with qtbot.waitSignal(worker.finished, timeout=30_000) as finished:
        window.stop_training()
        assert "Stopping at the next optimizer step" in window.training.status.text() and not window.stop_action.isEnabled()
        assert window.training.state is RunState.STOPPING
    assert finished.args[0].status == "stopped" and window.training.status.text().startswith("Run stopped.")
    assert window.training.state is RunState.STOPPED and "ETA" not in window.training.status.text()
    assert (window.last_run_folder / "checkpoints" / "last.pt").exists()
    qtbot.waitUntil(lambda: window.training_thread is None)


def held_export(folder: Path, config) -> list[Path]:
    """The real export, once the test opens the named pipe beside the runs folder for writing."""
    with (folder.parent.parent / "release").open("rb") as pipe:
        pipe.read()
    return export_graphs(folder, config)


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe holds the graphs back")
def test_results_are_shown_while_the_graphs_are_still_being_written(qtbot, window, tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "release")
    monkeypatch.setattr("gui.main_window.export_graphs", held_export)
    worker = start(qtbot, window, 1)
    qtbot.waitUntil(lambda: window.results.record is not None, timeout=60_000)  # the graphs are held back meanwhile
    assert window.results.record.folder == window.last_run_folder and window.tabs.currentWidget() is window.results
    assert window.training.state is RunState.COMPLETED and "Writing its graphs" in window.training.status.text()
    assert not list((window.last_run_folder / "graphs").glob("*.png")) and not window.stop_action.isEnabled()
    with qtbot.waitSignal(worker.finished, timeout=60_000), (tmp_path / "release").open("wb"):
        pass  # opening the pipe for writing lets the graphs be written
    assert list((window.last_run_folder / "graphs").glob("*.png"))
    qtbot.waitUntil(lambda: window.training_thread is None)


def torch_epoch(folder: Path) -> int:
    import torch

    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["progress"]["epoch"]


def test_a_diverging_run_is_shown_and_the_window_stays_usable(qtbot, window):
    window.form.editors["training.learning_rate"].setValue(10)
    worker = start(qtbot, window, 5)
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        pass
    assert finished.args[0].status == "diverged"
    qtbot.waitUntil(lambda: window.training_thread is None)
    assert window.error_box is not None and window.error_box.isVisible()
    assert "diverged at epoch 1" in window.error_box.text()
    assert (window.last_run_folder / "checkpoints" / "last.pt").exists()
    assert window.form.isEnabled() and window.start_action.isEnabled()
    window.form.editors["training.learning_rate"].setValue(0.003)  # still editable, and trains again
    worker = start(qtbot, window, 1)
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        pass
    assert finished.args[0].status == "completed"
    qtbot.waitUntil(lambda: window.training_thread is None)


def test_export_a_graph_at_the_configured_dpi_and_open_a_past_run(qtbot, window, tmp_path):
    worker = start(qtbot, window, 2)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    from gui.panels.results import FIGURE_TITLES

    qtbot.waitUntil(lambda: window.training_thread is None and window.results.tabs.count() == len(FIGURE_TITLES))  # built one per turn
    window.results.tabs.setCurrentIndex(3)  # Graph 2: 12 x 8 inches
    path = window.results.export_current(str(tmp_path / "g2.png"))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (12 * 50, 8 * 50)

    select_first_run(qtbot, window)
    assert window.runs.table.model().rowCount() == 1
    window.runs.open_selected()
    assert window.results.record.folder == window.last_run_folder
    assert window.last_run_folder.name in window.results.title.text()


def test_save_and_reload_a_config(qtbot, window, tmp_path):
    window.form.editors["model.hidden_size"].setValue(24)
    qtbot.waitUntil(lambda: window.config is not None and window.config.model.hidden_size == 24)
    assert window.isWindowModified()
    path = tmp_path / "saved.yaml"
    assert window.save_as(str(path))
    assert not window.isWindowModified()
    assert load_config(path) == window.config
    window.load_config_object(small_config(tmp_path))
    assert window.open_config(path)
    qtbot.waitUntil(lambda: window.config is not None and window.config.model.hidden_size == 24)


def test_saving_the_users_file_keeps_their_comments(qtbot, window, tmp_path):
    mine = tmp_path / "config.yaml"
    mine.write_text(Path(RESOURCES / "presets" / "seed.yaml").read_text())
    assert window.open_config(mine)
    window.form.editors["training.batch_size"].setValue(64)
    qtbot.waitUntil(lambda: window.config is not None and window.config.training.batch_size == 64)
    assert window.save()
    text = mine.read_text()
    assert "batch_size: 64" in text and "L=1 CONSTRAINT EXPLANATION" in text


def one_epoch_run_selected(qtbot, window) -> None:
    """Train one epoch to its end and select the run in the Runs tab."""
    worker = start(qtbot, window, 1)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.training_thread is None)
    select_first_run(qtbot, window)


def select_first_run(qtbot, window) -> None:
    """Read the Runs tab's folder again (in the background) and select its first row."""
    with qtbot.waitSignal(window.runs.loaded, timeout=10_000):
        window.runs.refresh()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    window.runs.table.selectionModel().select(window.runs.table.model().index(0, 0), flags)


def test_the_delete_button_asks_before_deleting_a_run(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QPushButton

    one_epoch_run_selected(qtbot, window)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    delete = next(b for b in window.runs.findChildren(QPushButton) if b.text() == "Delete…")
    delete.click()
    assert len(asked) == 1 and window.last_run_folder.exists()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: its count cannot drop")
def test_qt_calls_keep_pythons_reference_to_none(qtbot, window):
    """PySide6 6.12.0 dropped a reference to None on every void call; on Python 3.11 a long
    training crashed the window with 'deallocating None'. Guard the pinned toolkit."""
    editor = window.form.editors["visualization.time_window"]
    gc.collect()
    gc.disable()  # earlier tests' garbage, freed mid-loop, would drop None's count too (-194 seen in CI)
    try:
        before = sys.getrefcount(None)
        for k in range(2000):
            window.tabs.setCurrentIndex(k % window.tabs.count())
            editor.setValue(100 + k % 50)
        after = sys.getrefcount(None)
    finally:
        gc.enable()
    assert after >= before - 100  # the bug dropped one per void call: thousands over this loop


# ----- trust: nothing lost, every value editable, numbers that do not mislead ---------------------


def answer_with(monkeypatch, button):
    """Answer every question box with ``button``, recording each question asked."""
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or button)
    return asked


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_quit_with_unsaved_edits_asks_save_discard_or_cancel(qtbot, window, tmp_path, monkeypatch, answer):
    from PySide6.QtWidgets import QMessageBox

    path = tmp_path / "mine.yaml"
    assert window.save_as(str(path))
    window.form.editors["model.hidden_size"].setValue(24)
    qtbot.waitUntil(lambda: window.isWindowModified())
    window.show()
    asked = answer_with(monkeypatch, getattr(QMessageBox.StandardButton, answer))
    window.close()
    assert len(asked) == 1 and "not saved" in asked[0]
    assert window.isVisible() == (answer == "Cancel")
    assert (load_config(path).model.hidden_size == 24) == (answer == "Save")


def test_opening_a_preset_over_unsaved_edits_asks_first(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.form.editors["model.hidden_size"].setValue(24)
    qtbot.waitUntil(lambda: window.config is not None and window.config.model.hidden_size == 24)
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    streams = next(a for a in window.presets_menu.actions() if a.text() == "streams")
    streams.trigger()
    assert len(asked) == 1 and window.config.model.hidden_size == 24  # cancelled: the edits stay
    answer_with(monkeypatch, QMessageBox.StandardButton.Discard)
    streams.trigger()
    qtbot.waitUntil(lambda: window.config is not None and window.config.training.mode == "streams")
    assert not window.isWindowModified()  # a preset just opened has no edits to lose
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    window.close()
    assert asked == [] and not window.isVisible()


def test_every_value_the_schema_allows_is_editable_and_out_of_range_is_named_at_the_field(qtbot, window):
    form = window.form
    form.editors["data.train_seed"].setText("4294967295")  # 2**32 - 1: above a spin box's int range
    qtbot.waitUntil(lambda: window.config is not None and window.config.data.train_seed == 4294967295)
    form.editors["training.learning_rate"].setText("1e-5")
    qtbot.waitUntil(lambda: window.config is not None and window.config.training.learning_rate == 0.00001)
    form.editors["model.hidden_size"].setText("0")
    qtbot.waitUntil(lambda: window.config is None)
    message = "model.hidden_size: 0 is not allowed; allowed: an integer from 1 to 4096"
    assert form.field_errors["model.hidden_size"].text() == message and not form.field_errors["model.hidden_size"].isHidden()
    assert "border" in form.editors["model.hidden_size"].styleSheet() and not window.start_action.isEnabled()
    form.editors["model.hidden_size"].setText("12x")
    qtbot.waitUntil(lambda: "'12x' is not allowed" in form.field_errors["model.hidden_size"].text())
    form.editors["model.hidden_size"].setText("32")
    qtbot.waitUntil(lambda: window.config is not None and window.config.model.hidden_size == 32)
    assert form.field_errors["model.hidden_size"].isHidden()


def test_numbers_show_their_shortest_form_units_mode_and_superseded_keys(qtbot, window):
    form = window.form
    window.load_config_object(load_config(RESOURCES / "presets" / "seed.yaml"))
    assert form.editors["training.learning_rate"].text() == "0.0001"
    assert form.editors["data.duration"].text() == "10"
    assert form.editors["model.dropout"].text() == "0"
    assert [spin.text() for spin in form.editors["data.frequencies"].spins] == ["1 Hz", "3 Hz", "5 Hz", "7 Hz"]
    row = form.editors["data.duration"].parentWidget()
    assert "s" in [label.text() for label in row.findChildren(QLabel)]
    assert form.frequency_hint.text() == "→ f2 = 3 Hz"
    assert not form.editors["training.tbptt_steps"].isEnabled() and not form.editors["training.segments"].isEnabled()
    assert "only in streams mode" in form.editors["training.tbptt_steps"].toolTip()
    assert form.editors["training.batch_size"].isEnabled()
    form.editors["training.mode"].setCurrentText("streams")
    assert form.editors["training.tbptt_steps"].isEnabled() and not form.editors["training.batch_size"].isEnabled()
    for key in ("training.save_dir", "visualization.output_dir"):
        assert not form.editors[key].isEnabled() and "superseded" in form.editors[key].toolTip()


def test_a_window_run_writes_its_graphs_and_a_training_run_cannot_be_deleted(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    worker = start(qtbot, window, 100_000)
    assert "Starting" in window.training.status.text()  # before the first event
    with qtbot.waitSignal(worker.epoch_done, timeout=60_000):
        pass
    select_first_run(qtbot, window)
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warned.append(args[2]))
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Yes)
    window.runs.delete_selected()
    assert asked == [] and "training" in warned[0] and window.last_run_folder.exists()
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        window.stop_training()
    qtbot.waitUntil(lambda: window.training_thread is None)
    graphs = {p.name for p in (window.last_run_folder / "graphs").glob("*.png")}
    assert {"loss_curve.png", "graph2_all_frequencies.png"} <= graphs
    assert window.results.record.folder == window.last_run_folder


def test_a_resumed_run_shows_and_exports_its_whole_history_with_the_best_epoch(qtbot, window, tmp_path):
    worker = start(qtbot, window, 100_000)
    qtbot.waitUntil(lambda: len(window.training.history) >= 2, timeout=60_000)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        window.stop_training()
    qtbot.waitUntil(lambda: window.training_thread is None)
    before = torch_epoch(window.last_run_folder)
    window.resume_run(window.last_run_folder)
    qtbot.waitUntil(lambda: len(window.training.history) >= before + 1, timeout=60_000)
    assert window.training.history.epoch[: before + 1].tolist() == list(range(1, before + 2))
    with qtbot.waitSignal(window.worker.finished, timeout=60_000):
        window.stop_training()
    qtbot.waitUntil(lambda: window.training_thread is None)
    csv_path, _ = window.training.export_curves(str(tmp_path / "curves.csv"))
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("epoch,") and "validation MSE" in rows[0]
    assert [int(float(r.split(",")[0])) for r in rows[1:]] == list(range(1, len(rows)))
    assert len(rows) - 1 >= before + 1
    assert window.training.loss.best.isVisible()
    assert "curves exported to" in window.statusBar().currentMessage()


def test_results_keep_quality_apart_from_the_generalization_rule(qtbot, window):
    from gui.panels.results import FAIL, PASS

    metrics = {
        "train": {"mse": 0.36, "per_frequency": [{"frequency_hz": 1.0, "mse": 0.36}]},
        "test": {"mse": 0.361, "per_frequency": [{"frequency_hz": 1.0, "mse": 0.361}]},
        "generalization_gap": 0.003,
        "generalization_gap_per_frequency": [{"frequency_hz": 1.0, "gap": 0.003}],
        "generalization_threshold": 0.1,
        "generalization_pass": True,
        "reference": {
            "zero_output_mse": 0.5,
            "known_model_mse": 0.0012,
            "per_frequency": [{"frequency_hz": 1.0, "known_model_mse": 0.0015}],
        },
        "memorisation": {"draws": 8, "memorised": False, "per_frequency": [{"frequency_hz": 1.0, "z": 0.3, "memorised": False}]},
        "shifted": {"draws": 8, "mse": 0.004, "known_model_mse": 0.001, "per_frequency": [{"frequency_hz": 1.0, "mse": 0.005}]},
        "best_epoch": 3,
        "epochs_completed": 5,
        "selected_by": "validation",
    }
    window.results._fill_table(RunMetrics.from_json(metrics))
    cell = table_cells(window.results.table)
    assert cell["test ÷ zero-output", "overall"].text() == "72.2%" and cell["test ÷ zero-output", "overall"].background().color() == FAIL
    assert cell["gap rule", "overall"].text() == "PASS" and cell["gap rule", "overall"].background().color() == PASS
    assert cell["test MSE", "overall"].background().style() == Qt.BrushStyle.NoBrush  # not painted green
    text = window.results.verdict.text()
    assert "72.2% of 0.50000, what a model that outputs zeros scores" in text and "says nothing of quality" in text
    assert "best.pt</b>: epoch 3 of 5" in text and "not memorised" in text
    assert [cell["known-model MSE", column].text() for column in ("overall", "1 Hz")] == ["0.00120", "0.00150"]
    assert "knows the signal model scores 0.00120" in text
    assert [cell["extraction MSE", column].text() for column in ("overall", "1 Hz")] == ["0.00400", "0.00500"]
    assert "<b>Extraction</b>: MSE 0.00400 on 8 test draws" in text


def table_cells(table) -> dict:
    """A table's items by (row name, column name)."""
    rows = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]
    columns = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return {(row, column): table.item(r, c) for r, row in enumerate(rows) for c, column in enumerate(columns)}


def test_every_verdict_of_a_four_frequency_run_is_in_view_at_the_default_window_size(qtbot, window):
    names = [1.0, 3.0, 5.0, 7.0]
    per = [{"frequency_hz": f, "mse": 0.01} for f in names]
    metrics = {
        "train": {"mse": 0.01, "per_frequency": per},
        "test": {"mse": 0.011, "per_frequency": per},
        "generalization_gap": 0.1,
        "generalization_gap_per_frequency": [{"frequency_hz": f, "gap": 0.1} for f in names],
        "generalization_threshold": 0.1,
        "generalization_pass": False,
        "reference": {"zero_output_mse": 0.5, "known_model_mse": 0.001},
        "memorisation": {
            "draws": 8,
            "memorised": False,
            "per_frequency": [{"frequency_hz": f, "z": -0.5, "memorised": False} for f in names],
        },
    }
    window.resize(1440, 900)
    window.show()
    window.tabs.setCurrentWidget(window.results)
    window.results._fill_table(RunMetrics.from_json(metrics))
    qtbot.waitExposed(window)
    table = window.results.table
    assert table.horizontalScrollBar().maximum() == 0 and table.verticalScrollBar().maximum() == 0
    assert table_cells(table)["gap rule", "7 Hz"].text() == "FAIL"


def test_open_names_the_run_in_the_status_bar_and_exports_start_in_its_folder(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    one_epoch_run_selected(qtbot, window)
    window.runs.open_selected()
    assert window.last_run_folder.name in window.statusBar().currentMessage()
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: offered.append(args[2]) or ("", ""))
    window.results.export_metrics()
    assert Path(offered[0]).parent == window.last_run_folder


def test_frequencies_the_schema_allows_open_unrounded_and_unmodified(qtbot, window, tmp_path):
    path = tmp_path / "fine.yaml"
    path.write_text("data:\n  frequencies: [0.0005, 2.0001, 3.25, 5.5]\n  sampling_rate: 100\n")
    assert window.open_config(path)
    qtbot.waitUntil(lambda: window.config is not None and window.config.data.frequencies == [0.0005, 2.0001, 3.25, 5.5])
    assert not window.isWindowModified()


def test_runs_started_and_ended_many_times_free_their_thread_safely(qtbot, window, monkeypatch):
    """CI once died with SIGSEGV in _thread_done: deleteLater on Python-owned thread objects freed them twice."""
    from tests.test_worker import FinishedRun

    def finished_run(*args, worker=None, **kwargs):
        if worker is not None:
            worker.close()
        return FinishedRun()

    monkeypatch.setattr("gui.main_window.BackgroundRun", finished_run)
    monkeypatch.setattr(MainWindow, "_prepare_training_process", lambda self: None)  # no process: only the thread's life cycle
    for _ in range(200):
        window.start_training()
        assert window.training_thread is not None
        qtbot.waitUntil(lambda: window.training_thread is None, timeout=10_000)
    assert window.start_action.isEnabled()
    assert "completed" in window.statusBar().currentMessage()


def wheel(widget, notches: int) -> bool:
    """One wheel turn over ``widget``'s centre, through the application's filters; whether a widget
    took it (a real one that nobody takes goes on to the parents: the scroll area)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_turning_the_wheel_over_the_form_edits_nothing_unless_a_box_was_clicked_into(qtbot, window):
    window.show()
    qtbot.waitExposed(window)
    mode, frequency = window.form.editors["training.mode"], window.form.editors["data.frequencies"].spins[0]
    before = (mode.currentIndex(), frequency.value())
    assert not wheel(mode, -1) and not wheel(frequency, -1)  # left for the scroll area
    boxes = window.findChildren(QAbstractSpinBox) + window.findChildren(QComboBox)
    assert boxes and all(box.focusPolicy() != Qt.FocusPolicy.WheelFocus for box in boxes)  # or a real wheel takes focus first
    assert (mode.currentIndex(), frequency.value()) == before
    window.activateWindow()
    frequency.setFocus()
    qtbot.waitUntil(frequency.hasFocus)
    assert wheel(frequency, 1)  # a box clicked into still takes the wheel
    assert frequency.value() != before[1]


def click_in_the_box(monkeypatch, choice: str) -> list[str]:
    """Answer every message box that has buttons of its own by clicking ``choice``; the questions asked."""
    from PySide6.QtWidgets import QMessageBox

    asked = []

    def click(box: QMessageBox) -> int:
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == choice).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click)
    return asked


@pytest.mark.parametrize("answer", ["Cancel", "Save", "Save As…", "Run the file as saved"])
def test_starting_a_sweep_over_unsaved_edits_of_its_base_offers_save_save_as_or_the_file_as_saved(
    qtbot, window, tmp_path, monkeypatch, answer
):
    from PySide6.QtWidgets import QFileDialog

    path, copy = tmp_path / "mine.yaml", tmp_path / "copy" / "mine-24.yaml"
    copy.parent.mkdir()
    assert window.save_as(str(path))
    window.sweeps.space.setPlainText("training.learning_rate: [0.001, 0.002]\n")
    window.sweeps.trials.setValue(1)
    window.sweeps.epochs.setValue(1)
    assert window.sweeps.build_from_form() is not None
    window.form.editors["model.hidden_size"].setValue(24)
    qtbot.waitUntil(lambda: window.isWindowModified())
    asked = click_in_the_box(monkeypatch, answer)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(copy), ""))
    window.sweeps.start()
    assert len(asked) == 1 and "mine.yaml" in asked[0] and "not saved" in asked[0]
    assert (window.sweeps.process is not None) == (answer != "Cancel")
    assert (load_config(path).model.hidden_size == 24) == (answer == "Save")  # the file the edits came from
    assert copy.exists() == (answer == "Save As…")
    if answer == "Save As…":  # the sweep runs on the copy, its first file untouched
        assert load_config(copy).model.hidden_size == 24 and window.config_path == copy
        assert Path(window.sweeps.spec.base_path) == copy.resolve() and window.sweeps.spec.base_config().model.hidden_size == 24
    if answer == "Run the file as saved":
        assert window.sweeps.spec.base_config().model.hidden_size != 24 and window.isWindowModified()
    window.sweeps.shutdown()


def test_the_preview_window_never_claims_more_samples_than_the_data_has(qtbot, tmp_path):
    from engine.config.schema import apply_overrides
    from gui.panels.preview import PreviewPanel

    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.show()  # a hidden preview draws once shown
    long = apply_overrides(small_config(tmp_path), ["data.sampling_rate=1000", "data.duration=2.0"])  # 2000 samples
    with qtbot.waitSignal(panel.drawn):
        panel.set_config(long)
    assert panel.window_size.value() == 1000
    short = apply_overrides(long, ["data.sampling_rate=250"])  # 500 samples
    with qtbot.waitSignal(panel.drawn):
        panel.set_config(short)
    assert panel.window_size.value() == 500 and panel.window_size.maximum() == 500
    assert panel.figure.time_plot.listDataItems()[0].xData.size == 500
    with qtbot.waitSignal(panel.drawn):
        panel.set_config(long)
    assert panel.window_size.value() == 1000  # the window asked for comes back with the data


def shown_preview(qtbot, config):
    """A preview panel in view, drawn for ``config``."""
    from gui.panels.preview import PreviewPanel

    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.drawn):
        panel.set_config(config)
    return panel


def test_the_preview_is_drawn_after_the_turn_that_asks_and_says_drawn_only_for_the_last_config(qtbot, tmp_path):
    """The window answers between the preview's plots; a set replaced while being drawn is never called drawn."""
    from engine.config.schema import apply_overrides

    first = apply_overrides(small_config(tmp_path), ["data.duration=2.0"])
    panel = shown_preview(qtbot, first)
    drawn: list[int] = []
    panel.drawn.connect(lambda: drawn.append(panel.signals.n_samples))
    panel.redraw()
    assert panel.drawing.running() and not drawn  # drawn from the next turn on, a plot per turn
    qtbot.waitUntil(lambda: bool(drawn))
    drawn.clear()
    longer = apply_overrides(first, ["data.duration=3.0"])
    panel.redraw()
    panel.set_config(longer)  # while the first set is being drawn
    qtbot.waitUntil(lambda: bool(drawn))
    assert drawn == [panel.signals.n_samples] and panel.signals.n_samples == round(3.0 * first.data.sampling_rate)
    assert panel.figure.mixture.xData.size == min(panel.window_size.value(), panel.signals.n_samples)


def test_a_hidden_preview_holds_a_new_set_and_draws_it_once_shown(qtbot, tmp_path):
    """Nothing is drawn out of view: the figure keeps the set it showed until its tab is shown again."""
    from engine.config.schema import apply_overrides

    short = apply_overrides(small_config(tmp_path), ["data.duration=2.0"])
    panel = shown_preview(qtbot, short)
    drawn_samples = panel.figure.mixture.xData.size
    panel.hide()
    with qtbot.waitSignal(panel.drawn):
        panel.set_config(apply_overrides(short, ["data.duration=3.0"]))
    assert panel.signals.n_samples > drawn_samples and panel.figure.mixture.xData.size == drawn_samples
    with qtbot.waitSignal(panel.drawn):
        panel.show()
    assert panel.figure.mixture.xData.size == min(panel.signals.n_samples, panel.window_size.value())


def test_the_form_is_never_squeezed_behind_a_sideways_scroll_in_a_small_window(qtbot, window):
    from PySide6.QtWidgets import QScrollArea

    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    scroll = window.form.findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.horizontalScrollBar().maximum() == 0)  # every field and its Remove button in full
    assert window.preview.width() >= 400  # and the preview keeps room to be read


def test_no_tab_widens_a_window_sized_for_a_small_screen(qtbot, window):
    window.resize(760, 600)
    window.show()
    qtbot.waitExposed(window)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        QCoreApplication.sendPostedEvents()
        assert window.minimumSizeHint().width() <= 760, window.tabs.tabText(index)
        assert window.width() == 760, window.tabs.tabText(index)


# ----- fitting the screen, outcomes in view, help ---------------------------------------------------


def opened_at(settings: QSettings) -> QRect:
    """Where the next session's window opens, from the same settings."""
    win = MainWindow(RESOURCES / "presets", settings)
    win.closing = True  # no spare training process for a window that only opens
    try:
        return win.frameGeometry()
    finally:
        win.deleteLater()


def test_the_window_opens_inside_the_screens_free_area_and_a_saved_size_only_where_it_still_fits(window):
    area = window.screen().availableGeometry()
    assert area.contains(window.frameGeometry()), (window.frameGeometry(), area)  # a first start, nothing saved
    window.setGeometry(area.x() + 20, area.y() + 30, area.width() - 100, area.height() - 120)
    window.settings.setValue("geometry", window.saveGeometry())
    kept = opened_at(window.settings)
    assert (kept.width(), kept.height()) == (area.width() - 100, area.height() - 120)  # a saved size that fits comes back
    window.setGeometry(area.x(), area.y(), area.width() + 700, area.height() + 500)  # saved on a larger screen
    window.settings.setValue("geometry", window.saveGeometry())
    assert area.contains(opened_at(window.settings))


def test_a_written_report_is_said_in_a_bar_in_view_with_a_button_that_opens_it(qtbot, window, tmp_path, monkeypatch):
    import threading

    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    report, writers = tmp_path / "out" / "report.md", []
    monkeypatch.setattr("gui.main_window.write_report", lambda folders, out, figures: writers.append(threading.current_thread()) or report)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.show()
    qtbot.waitExposed(window)
    page = window.tabs.currentWidget().geometry()
    window.write_report([tmp_path / "run"], str(tmp_path / "out"))
    qtbot.waitUntil(lambda: window.notice.isVisible())  # written on a background task
    assert str(report) in window.notice.message and threading.main_thread() not in writers
    assert window.notice.text.toolTip() == window.notice.message  # whole, where the row shows it cut
    assert window.frameGeometry().contains(window.notice.mapTo(window, window.notice.rect().bottomRight()))
    assert window.tabs.currentWidget().geometry() == page  # beside the tabs: no page moves or shrinks for it
    window.notice.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(report))]
    window.notice.close_button.click()
    assert not window.notice.isVisible()


def test_a_long_outcome_is_cut_in_the_middle_to_the_room_beside_the_tabs(qtbot, window):
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    long = "report written to /" + "/".join(f"folder{k}" for k in range(60)) + "/report.md"
    window.say(long)
    shown = window.notice.text.text()
    assert shown != long and shown.startswith("report written to") and shown.endswith("report.md") and "…" in shown
    bar = window.notice.geometry()
    assert window.tabs.rect().contains(bar) and not bar.intersects(window.tabs.tabBar().geometry())
    assert window.notice.height() <= window.tabs.tabBar().height()


def test_the_windows_report_draws_its_figures_in_another_process_and_writes_them(qtbot, window, tmp_path, monkeypatch):
    from engine.runs.run import Run

    run = Run.start(small_config(tmp_path, "training.num_epochs=1"))
    list(run.epochs())
    run.finish()
    monkeypatch.setattr("gui.plots.figures.export_figures", lambda *args: pytest.fail("a figure drawn in the window's process"))
    window.write_report([run.folder], str(tmp_path / "out"))
    qtbot.waitUntil(lambda: window.notice.isVisibleTo(window), timeout=60_000)
    assert (tmp_path / "out" / "report.md").is_file() and list((tmp_path / "out").glob("*.png"))


def test_the_best_trial_loaded_from_a_sweep_is_unsaved_and_shows_short_numbers(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from engine.config.schema import apply_overrides

    best = apply_overrides(small_config(tmp_path), ["training.learning_rate=0.0016051911333587634"])
    window.sweeps.load_config.emit(best)
    qtbot.waitUntil(lambda: window.config is not None and window.config.training.learning_rate == 0.0016051911333587634)
    assert window.isWindowModified()  # on disk nowhere yet: quitting asks
    assert window.form.editors["training.learning_rate"].text() == "0.001605"  # the value itself stays exact
    window.show()
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    window.close()
    assert len(asked) == 1 and window.isVisible()


def test_open_config_starts_in_the_folder_of_the_last_config_not_the_last_export(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    (tmp_path / "configs").mkdir()
    assert window.save_as(str(tmp_path / "configs" / "mine.yaml"))
    offered = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: offered.append(args[2]) or ("", ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: offered.append(args[2]) or ("", ""))
    window.open_config_dialog()
    window.save_as()
    assert [Path(p).parent if p.endswith(".yaml") else Path(p) for p in offered] == [tmp_path / "configs"] * 2


def test_help_lists_the_guide_the_actions_shortcuts_and_where_runs_are_kept(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QDialog, QTableWidget

    from gui.app import user_guide

    help_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Help")
    texts = [a.text() for a in help_menu.actions()]
    assert texts[:3] == ["&User guide", "&Keyboard shortcuts", "Where &runs are kept"]
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    help_menu.actions()[0].trigger()
    assert opened == [QUrl.fromLocalFile(str(user_guide()))] and user_guide().exists()
    shown = []
    monkeypatch.setattr(QDialog, "exec", lambda dialog: shown.append(dialog) or 0)
    help_menu.actions()[1].trigger()
    table = shown[-1].findChild(QTableWidget)
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Start training"] == window.start_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    assert {"Open config…", "Save config", "Pause", "Stop"} <= set(rows)
    window.start_action.setShortcut(QKeySequence("Ctrl+T"))  # read from the actions, so never out of date
    help_menu.actions()[1].trigger()
    table = shown[-1].findChild(QTableWidget)
    assert any(
        table.item(r, 1).text() == QKeySequence("Ctrl+T").toString(QKeySequence.SequenceFormat.NativeText) for r in range(table.rowCount())
    )
    window.runs.runs_dir.mkdir(parents=True, exist_ok=True)  # Open is offered for a folder that exists
    help_menu.actions()[2].trigger()
    assert str(window.runs.runs_dir.resolve()) in " ".join(label.text() for label in shown[-1].findChildren(QLabel))
    next(b for b in shown[-1].findChildren(QPushButton) if b.text() == "Open").click()
    assert opened[-1] == QUrl.fromLocalFile(str(window.runs.runs_dir.resolve()))


def test_the_preview_shows_the_set_that_trains_first_including_its_random_start(qtbot, tmp_path):
    import numpy as np
    import torch

    from engine.config.schema import apply_overrides
    from engine.signals.dataset import load_splits
    from engine.training.trainer import Session
    from gui.panels.preview import PreviewPanel

    panel = PreviewPanel()
    qtbot.addWidget(panel)
    for overrides in (["data.start_time=random"], ["data.start_time=random", "training.mode=streams", "training.segments=2"]):
        config = apply_overrides(small_config(tmp_path), overrides)
        with qtbot.waitSignal(panel.drawn):
            panel.set_config(config)
        trained = Session(config, load_splits(config), torch.device("cpu")).inputs[: panel.signals.n_samples, 0].numpy()
        assert np.array_equal(panel.signals.mixture.astype(np.float32), trained), overrides
        assert panel.signals.t[0] > 0  # not the t = 0 set
