"""The Sweeps tab: a space built from the editor's experiment runs as the sweep command, its trials
fill the table and figures, and the best trial's settings go back into the editor."""

from __future__ import annotations

import subprocess
import sys

from engine.config.schema import dump_config
from gui.panels import sweeps as sweeps_panel
from gui.panels.sweeps import ROOT, SweepsPanel, headless_command, space_lines
from tests.conftest import small_config


def test_the_space_editor_reads_choices_ranges_and_log_scales():
    text = "model.hidden_size: [8, 16]\ntraining.learning_rate: 1e-4..1e-2 log\nmodel.num_layers: 1..3\n\n"
    assert space_lines(text) == {
        "model.hidden_size": [8, 16],
        "training.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "model.num_layers": {"low": 1, "high": 3, "log": False},
    }


def test_a_sweep_built_in_the_tab_runs_fills_the_table_and_loads_its_best(qtbot, tmp_path):
    base = tmp_path / "experiment.yaml"
    base.write_text(dump_config(small_config(tmp_path, "training.num_threads=1")))
    panel = SweepsPanel()
    qtbot.addWidget(panel)
    panel.base_path, panel.sweeps_dir = base, tmp_path / "sweeps"
    panel.study_name.setText("tab")
    panel.sampler.setCurrentText("random")
    panel.trials.setValue(2)
    panel.epochs.setValue(2)
    panel.workers.setValue(1)
    panel.space.setPlainText("model.hidden_size: [8, 12]\n")
    spec_file = panel.build_from_form()
    assert spec_file is not None and spec_file.read_text().startswith("base: experiment.yaml")
    assert panel.spec.total_trials == 2 and "model.hidden_size: one of 8, 12" in panel.summary.text()
    panel.start()
    with qtbot.waitSignal(panel.process.finished, timeout=240_000):
        pass

    def shown() -> bool:  # the study read, then drawn a figure per event-loop turn
        return not panel.reading and not panel.drawing.running()

    qtbot.waitUntil(lambda: panel.process is None and shown() and panel.table.model().rowCount() == 2)
    assert panel.table.model().rowCount() == 2 and [r["state"] for r in panel.rows] == ["complete", "complete"]
    assert panel.objective.points.xData.tolist() == [0, 1]
    assert "importance cannot be estimated yet (2 of 10 completed trials needed)" in panel.importance.empty.label.text
    assert panel.importance.empty.label.isVisibleTo(panel.importance.plot) and not panel.importance.items  # no bars from 2 trials
    loaded = []
    panel.load_config.connect(loaded.append)
    panel.load_best()
    best = min(panel.rows, key=lambda r: r["validation_mse"])
    assert loaded and loaded[0].model.hidden_size == best["model.hidden_size"] and loaded[0].training.num_epochs == 2


def test_a_chosen_sweep_file_is_read_off_the_windows_thread_and_a_bad_one_names_its_problem(qtbot, tmp_path, monkeypatch):
    import threading

    base = tmp_path / "experiment.yaml"
    base.write_text(dump_config(small_config(tmp_path)))
    good = tmp_path / "sweep.yaml"
    good.write_text("base: experiment.yaml\nstudy: chosen\nparameters:\n  model.hidden_size: [8, 16]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: experiment.yaml\nstudy: bad\nparameters:\n  model.hidden_siz: [8]\n")
    readers = []
    real = sweeps_panel.load_sweep
    monkeypatch.setattr(sweeps_panel, "load_sweep", lambda path: readers.append(threading.current_thread()) or real(path))
    panel = SweepsPanel()
    qtbot.addWidget(panel)
    panel.sweeps_dir = tmp_path / "sweeps"
    panel.choose_sweep_file(str(good))
    qtbot.waitUntil(lambda: panel.spec is not None)
    assert panel.spec.study == "chosen" and "model.hidden_size: one of 8, 16" in panel.summary.text()
    assert readers and threading.main_thread() not in readers
    panel.choose_sweep_file(str(bad))
    qtbot.waitUntil(lambda: panel.spec is None)
    assert "did you mean 'model.hidden_size'" in panel.summary.text() and not panel.start_button.isEnabled()


def test_a_bad_space_is_named_in_the_tab_and_start_stays_off(qtbot, tmp_path):
    base = tmp_path / "experiment.yaml"
    base.write_text(dump_config(small_config(tmp_path)))
    panel = SweepsPanel()
    qtbot.addWidget(panel)
    panel.base_path = base
    panel.space.setPlainText("model.hidden_siz: [8]\n")
    assert panel.build_from_form() is None
    assert "did you mean 'model.hidden_size'" in panel.summary.text()
    assert not panel.start_button.isEnabled()


def test_a_setting_picked_from_the_form_joins_the_space_around_its_current_value(qtbot, tmp_path):
    from gui.panels.sweeps import searchable_keys

    assert {"model.hidden_size", "training.learning_rate", "training.lr_schedule"} <= set(searchable_keys())
    assert "data.data_dir" not in searchable_keys()  # a folder is not a search dimension
    panel = SweepsPanel()
    qtbot.addWidget(panel)
    panel.current = small_config(tmp_path)
    panel.space.setPlainText("")
    for key, kind in (("model.hidden_size", "range"), ("training.learning_rate", "log range"), ("training.lr_schedule", "choices")):
        panel.key_picker.setCurrentText(key)
        panel.kind.setCurrentText(kind)
        panel.add_picked()
    assert space_lines(panel.space.toPlainText()) == {
        "model.hidden_size": {"low": 8, "high": 32, "log": False},
        "training.learning_rate": {"low": 0.0003, "high": 0.03, "log": True},
        "training.lr_schedule": ["constant"],
    }


def test_the_search_space_is_kept_as_typed_and_back_after_a_restart(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = SweepsPanel(settings)
    qtbot.addWidget(first)
    first.space.setPlainText("model.num_layers: [1, 2, 3]\n")
    settings.sync()
    again = SweepsPanel(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))  # the next session
    qtbot.addWidget(again)
    assert again.space.toPlainText() == "model.num_layers: [1, 2, 3]\n"


def test_the_tab_comes_back_with_its_settings_and_the_last_sweep_read_off_the_window_thread(qtbot, tmp_path):
    import optuna
    from PySide6.QtCore import QSettings

    from engine.sweeps.runner import create_study, storage_for

    base = tmp_path / "experiment.yaml"
    base.write_text(dump_config(small_config(tmp_path)))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = SweepsPanel(settings)
    qtbot.addWidget(first)
    first.base_path, first.sweeps_dir = base, tmp_path / "sweeps"
    first.study_name.setText("kept")
    first.sampler.setCurrentText("random")
    first.trials.setValue(3)
    first.epochs.setValue(7)
    first.pruning.setChecked(True)
    first.space.setPlainText("model.hidden_size: [8, 12]\n")
    spec_file = first.build_from_form()
    study = create_study(first.spec, storage_for(None, first.sweeps_dir / "kept"))  # a sweep that ran one trial
    study.add_trial(optuna.trial.create_trial(value=0.25, user_attrs={"settings": {"model.hidden_size": 12}}))
    settings.sync()

    again = SweepsPanel(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))  # the next session
    qtbot.addWidget(again)
    again.sweeps_dir = first.sweeps_dir  # the window sets it from its settings before showing the tab
    assert again.study_name.text() == "kept" and again.sampler.currentText() == "random"
    assert (again.trials.value(), again.epochs.value(), again.pruning.isChecked()) == (3, 7, True)
    assert again.spec_path == spec_file and str(spec_file) in again.summary.text()
    assert again.table.model().rowCount() == 0  # the study is read on a background task, the window goes on meanwhile
    qtbot.waitUntil(lambda: again.table.model().rowCount() == 1, timeout=30_000)
    assert again.rows[0]["model.hidden_size"] == 12 and again.rows[0]["validation_mse"] == 0.25
    again.shutdown()


def test_from_source_a_sweep_starts_through_the_checkouts_main_py():
    """The command the Sweeps tab starts runs this checkout's command line (main.py found from the panel's module)."""
    program, arguments = headless_command(["--version"])
    result = subprocess.run([program, *arguments], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("lstm-workbench")


def test_a_frozen_bundle_starts_its_sweeps_as_itself_with_no_main_py(tmp_path, monkeypatch):
    """A bundle is the program and has main.py built in: the command must not name a main.py beside it."""
    bundle = tmp_path / "lstm-workbench"  # stands in for the bundle: its entry point is main.py
    bundle.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "main.py"}" "$@"\n')
    bundle.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle))
    program, arguments = headless_command(["--version"])
    assert program == str(bundle) and not any("main.py" in a for a in arguments)
    result = subprocess.run([program, *arguments], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("lstm-workbench")


def test_the_dashboard_is_not_said_to_start_once_it_is_no_longer_installed(qtbot, tmp_path, monkeypatch):
    """The button is made while optuna-dashboard is installed; removed since, nothing starts and nothing claims it did."""
    base = tmp_path / "experiment.yaml"
    base.write_text(dump_config(small_config(tmp_path)))
    panel = SweepsPanel()
    qtbot.addWidget(panel)
    panel.base_path, panel.sweeps_dir = base, tmp_path / "sweeps"
    panel.study_name.setText("tab")
    panel.space.setPlainText("model.hidden_size: [8, 12]\n")
    assert panel.build_from_form() is not None
    journal = tmp_path / "sweeps" / "tab" / "study.journal"
    journal.parent.mkdir(parents=True)
    journal.touch()
    monkeypatch.setattr(sweeps_panel, "dashboard_command", lambda: None)
    messages: list[str] = []
    panel.message.connect(messages.append)
    panel.open_dashboard()
    assert messages == []


def test_three_hundred_trials_fill_one_model_and_numbers_sort_by_value_with_missing_last(qtbot):
    """The trials table is a view on one model of prepared rows; a column of numbers sorts by value (settings
    too: 8 before 128), a trial without one last in either order, text case-insensitively."""
    from pathlib import Path

    from PySide6.QtCore import QItemSelectionModel, Qt

    from engine.analysis.comparison import ComparisonColumn
    from gui.panels.runs import shown
    from gui.table_model import RowsModel

    panel = SweepsPanel()
    qtbot.addWidget(panel)
    states = ["complete", "Pruned", "failed"]
    panel.rows = [
        {
            "number": k,
            "state": states[k % 3],
            "model.hidden_size": (8, 16, 128)[k % 3],
            "validation_mse": None if k % 10 == 0 else 0.5 - k / 1000,
            "seconds": 1.5,
            "run_dir": f"/runs/{k};/runs/{k}-b",
        }
        for k in range(300)
    ]
    panel._fill_table()
    model = panel.table.model()
    assert isinstance(model, RowsModel) and model.rowCount() == 300
    titles = ["number", "state", "model.hidden_size", "validation_mse", "seconds"]
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == titles

    def column(title: str) -> list[str]:
        return [model.index(r, titles.index(title)).data() for r in range(model.rowCount())]

    assert column("number") == [str(k) for k in reversed(range(300))]  # newest first, as the table opens
    seventh = column("number").index("7")
    assert [model.index(seventh, c).data() for c in range(5)] == ["7", "Pruned", "16", shown(0.493, ComparisonColumn("v", mse=True)), "1.5"]
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        panel.table.sortByColumn(titles.index("validation_mse"), order)
        values = column("validation_mse")
        numbers = [float(v) for v in values[:270]]
        assert values[270:] == ["—"] * 30 and numbers == sorted(numbers, reverse=order == Qt.SortOrder.DescendingOrder)
    panel.table.sortByColumn(titles.index("model.hidden_size"), Qt.SortOrder.AscendingOrder)
    assert column("model.hidden_size") == ["8"] * 100 + ["16"] * 100 + ["128"] * 100
    panel.table.sortByColumn(titles.index("state"), Qt.SortOrder.AscendingOrder)
    assert column("state") == ["complete"] * 100 + ["failed"] * 100 + ["Pruned"] * 100
    opened = []
    panel.open_run.connect(opened.append)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    panel.table.selectionModel().select(model.index(column("number").index("42"), 0), flags)
    panel._open_selected()
    assert opened == [Path("/runs/42")]
