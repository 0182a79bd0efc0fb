"""Importing plain PyTorch checkpoints: their format in, an ordinary evaluated run folder out."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch

import main
from engine.config.schema import dump_config
from engine.runs.notes import read_notes
from engine.runs.run import load_run
from engine.signals.dataset import load_splits
from engine.training.evaluation import evaluate
from engine.training.model import FrequencyLSTM
from tests.conftest import small_config


def their_checkpoint(path: Path, model: FrequencyLSTM, epochs: int = 5) -> Path:
    """A file as their program saved it: fc.* for the head, a history with 0-based best_epoch."""
    state = {k.replace("head.", "fc."): v for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    history = {"train_loss": [0.5 / (k + 1) for k in range(epochs)], "epoch_times": [1.2] * epochs, "best_loss": 0.1, "best_epoch": 3}
    torch.save(
        {"model_state_dict": state, "epoch": epochs - 1, "loss": 0.1, "optimizer_state_dict": optimizer.state_dict(), "history": history},
        path,
    )
    return path


@pytest.fixture
def setup(tmp_path):
    config = small_config(tmp_path)
    config_file = tmp_path / "their.yaml"
    config_file.write_text(dump_config(config))
    torch.manual_seed(7)
    model = FrequencyLSTM.from_config(config.model)
    return config, config_file, model


def test_an_imported_checkpoint_scores_what_its_weights_score_and_keeps_its_history(setup, tmp_path, capsys):
    config, config_file, model = setup
    checkpoint = their_checkpoint(tmp_path / "their_model.pth", model)
    runs = tmp_path / "imported-runs"
    assert main.cli_main(["import", str(checkpoint), "--config", str(config_file), "--runs-dir", str(runs), "--no-graphs"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    record = load_run(folder)
    splits = load_splits(config, Path(config.data.data_dir))
    direct = evaluate(model, splits.train, splits.test, config.training.mode, config.training.batch_size, 0.1)
    assert record.metrics.status == "imported"
    assert record.metrics.results.test.mse == pytest.approx(direct.test.mse, rel=1e-6)
    assert record.metrics.results.train.mse == pytest.approx(direct.train.mse, rel=1e-6)
    assert record.metrics.best_epoch == 4  # their 0-based epoch 3
    assert record.history.train_loss.tolist() == [0.5 / (k + 1) for k in range(5)] and record.history.wall_seconds[-1] == pytest.approx(6.0)
    notes = read_notes(folder)
    assert notes.imported_from == str(checkpoint.resolve()) and "imported" in notes.tags
    assert (folder / "checkpoints" / "best.pt").exists()


@pytest.mark.parametrize("case", ["wrong_shape", "junk", "not_a_dict", "foreign_keys", "code", "bad_history"])
def test_wrong_shapes_junk_and_hostile_files_are_one_line_and_exit_2(setup, tmp_path, capsys, case):
    _, config_file, _ = setup
    path = tmp_path / f"{case}.pth"
    if case == "wrong_shape":
        their_checkpoint(path, FrequencyLSTM(5, 32))
    elif case == "junk":
        path.write_bytes(os.urandom(512))
    elif case == "not_a_dict":
        torch.save([1, 2, 3], path)
    elif case == "bad_history":  # their weights, a history of the wrong shape: imported without it
        their_checkpoint(path, setup[2])
        payload = torch.load(path, weights_only=True)
        torch.save({**payload, "history": {"epoch_times": 5, "train_loss": "x"}}, path)
    elif case == "foreign_keys":
        torch.save({"model_state_dict": {"encoder.weight": torch.zeros(2)}}, path)
    else:
        path.write_bytes(pickle.dumps(os.system, protocol=2))  # would run a command if unpickled
    runs = tmp_path / f"runs-{case}"
    code = main.cli_main(["import", str(path), "--config", str(config_file), "--runs-dir", str(runs)])
    err = capsys.readouterr().err.strip().splitlines()
    if case == "bad_history":
        assert code == 0 and not any("Traceback" in line for line in err)
        return
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert str(path) in err[0]
    assert not runs.exists()  # nothing written
    if case == "wrong_shape":
        assert "the checkpoint has hidden size 32, the config 16" in err[0]


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        ((5, 32, 1), "the checkpoint has hidden size 32, the config 16; allowed: a config with model.hidden_size 32"),
        ((5, 16, 2), "the checkpoint has 2 layers, the config 1; allowed: a config with model.num_layers 2"),
        (
            (3, 8, 2),
            "the checkpoint has input size 3 (2 frequencies), hidden size 8 and 2 layers, the config 5 (4 frequencies), 16 and 1; "
            "allowed: a config with data.frequencies of 2 values (model.input_size 3), model.hidden_size 8, model.num_layers 2",
        ),
    ],
)
def test_a_checkpoint_of_another_architecture_names_what_differs_in_the_configs_terms(setup, tmp_path, capsys, theirs, expected):
    _, config_file, _ = setup
    path = their_checkpoint(tmp_path / "other.pth", FrequencyLSTM(*theirs))
    code = main.cli_main(["import", str(path), "--config", str(config_file), "--runs-dir", str(tmp_path / "runs")])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and expected in line, line


def test_metrics_json_of_an_import_is_strict_json(setup, tmp_path):
    _, config_file, model = setup
    checkpoint = tmp_path / "bare.pth"
    torch.save({"model_state_dict": {k.replace("head.", "fc."): v for k, v in model.state_dict().items()}}, checkpoint)
    assert main.cli_main(["import", str(checkpoint), "--config", str(config_file), "--runs-dir", str(tmp_path / "r"), "--no-graphs"]) == 0
    (metrics,) = (tmp_path / "r").glob("*/metrics.json")
    json.loads(metrics.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))


def test_file_import_in_the_window_opens_the_imported_run(qtbot, tmp_path, monkeypatch):
    import threading

    from PySide6.QtCore import QSettings

    from engine.runs.checkpoint_import import import_checkpoint
    from gui.app import RESOURCES
    from gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(tmp_path / "runs"))
    monkeypatch.setattr(MainWindow, "keep_or_discard_edits", lambda self: True)  # closing asks nobody
    window = MainWindow(RESOURCES / "presets", settings)
    qtbot.addWidget(window)
    config = small_config(tmp_path)
    window.load_config_object(config)
    qtbot.waitUntil(lambda: window.config is not None)
    checkpoint = their_checkpoint(tmp_path / "theirs.pth", FrequencyLSTM.from_config(config.model))
    importers = []
    monkeypatch.setattr(
        "gui.main_window.import_checkpoint", lambda *args: importers.append(threading.current_thread()) or import_checkpoint(*args)
    )
    window.import_checkpoint(str(checkpoint))
    qtbot.waitUntil(lambda: window.results.record is not None, timeout=60_000)  # evaluated on a background task
    folder = window.results.record.folder
    assert folder.parent == tmp_path / "runs" and importers and threading.main_thread() not in importers
    assert {p.name for p in (folder / "graphs").glob("*.png")} >= {"loss_curve.png", "graph1_comparison.png"}
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.runs)  # the Runs tab reads the folder once shown, in the background
    qtbot.waitUntil(lambda: any(r.folder == folder for r in window.runs.records))
    window.shutdown()
