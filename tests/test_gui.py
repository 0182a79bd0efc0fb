"""The real window, driven offscreen: waits are qtbot signals and conditions, never sleeps."""

from __future__ import annotations

import gc
import multiprocessing
import sys
import time
import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton

from engine.config import load_config
from gui.app import RESOURCES
from gui.main_window import MainWindow
from tests.conftest import small_config


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(tmp_path / "runs"))
    win = MainWindow(RESOURCES / "presets", settings)
    qtbot.addWidget(win)
    win.load_config_object(small_config(tmp_path))
    yield win
    win.shutdown()
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
    before = window.preview.signals.mixture.copy()
    window.form.editors["data.frequencies"].spins[0].setValue(2)
    qtbot.waitUntil(lambda: window.preview.component.itemText(0) == "2 Hz")
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
    status, _, metrics = finished.args
    assert status == "completed" and metrics["epochs_completed"] == 2
    assert [r.epoch for r in window.training.reports] == [1, 2]
    qtbot.waitUntil(lambda: window.thread is None)
    csv_files = window.training.export_curves(str(tmp_path / "curves.csv"))
    assert [p.name for p in csv_files] == ["curves.csv", "curves_per_frequency.csv"]
    assert len(csv_files[0].read_text().splitlines()) == 3  # header and one row per epoch
    png, _ = window.training.export_curves(str(tmp_path / "curves.png"))
    assert QImage(str(png)).width() == window.training.loss.size_inches[0] * 50  # the config's dpi
    svg, _ = window.training.export_curves(str(tmp_path / "curves.svg"))
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert window.results.record is not None and window.results.table.rowCount() == 5
    assert window.form.isEnabled() and window.start_action.isEnabled()


def test_pause_resume_and_stop_within_a_second_leaving_last_pt(qtbot, window):
    worker = start(qtbot, window, 100_000)
    assert not window.form.isEnabled()  # editing is locked while a run is active
    with qtbot.waitSignal(worker.epoch_done, timeout=30_000):
        pass
    window.toggle_pause()
    assert worker.control.paused
    seen = len(window.training.reports)
    with qtbot.assertNotEmitted(worker.epoch_done, wait=300):
        pass
    window.toggle_pause()
    with qtbot.waitSignal(worker.epoch_done, timeout=30_000):
        pass
    assert len(window.training.reports) > seen
    asked = time.perf_counter()
    with qtbot.waitSignal(worker.finished, timeout=5_000) as finished:
        window.stop_training()
    assert time.perf_counter() - asked < 1.0
    assert finished.args[0] == "stopped"
    assert (window.last_run_folder / "checkpoints" / "last.pt").exists()
    qtbot.waitUntil(lambda: window.thread is None)


def test_a_diverging_run_is_shown_and_the_window_stays_usable(qtbot, window):
    window.form.editors["training.learning_rate"].setValue(10)
    worker = start(qtbot, window, 5)
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        pass
    assert finished.args[0] == "diverged"
    qtbot.waitUntil(lambda: window.thread is None)
    assert window.error_box is not None and window.error_box.isVisible()
    assert "diverged at epoch 1" in window.error_box.text()
    assert (window.last_run_folder / "checkpoints" / "last.pt").exists()
    assert window.form.isEnabled() and window.start_action.isEnabled()
    window.form.editors["training.learning_rate"].setValue(0.003)  # still editable, and trains again
    worker = start(qtbot, window, 1)
    with qtbot.waitSignal(worker.finished, timeout=60_000) as finished:
        pass
    assert finished.args[0] == "completed"
    qtbot.waitUntil(lambda: window.thread is None)


def test_export_a_graph_at_the_configured_dpi_and_open_a_past_run(qtbot, window, tmp_path):
    worker = start(qtbot, window, 2)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.thread is None and window.results.tabs.count() == 5)  # built one per event-loop turn
    window.results.tabs.setCurrentIndex(3)  # Graph 2: 12 x 8 inches
    path = window.results.export_current(str(tmp_path / "g2.png"))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (12 * 50, 8 * 50)

    runs = window.runs
    runs.refresh()
    assert runs.table.rowCount() == 1
    runs.table.selectRow(0)
    runs.open_selected()
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


def test_the_delete_button_asks_before_deleting_a_run(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QPushButton

    worker = start(qtbot, window, 1)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: window.thread is None)
    window.runs.refresh()
    window.runs.table.selectRow(0)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    delete = next(b for b in window.runs.findChildren(QPushButton) if b.text() == "Delete…")
    delete.click()
    assert len(asked) == 1 and window.last_run_folder.exists()


def test_qt_calls_keep_pythons_reference_to_none(qtbot, window):
    """PySide6 6.12.0 dropped a reference to None on every void call; on Python 3.11 a long
    training crashed the window with 'deallocating None'. Guard the pinned toolkit."""
    editor = window.form.editors["visualization.time_window"]
    before = sys.getrefcount(None)
    for k in range(2000):
        window.tabs.setCurrentIndex(k % window.tabs.count())
        editor.setValue(100 + k % 50)
    assert sys.getrefcount(None) >= before - 100
