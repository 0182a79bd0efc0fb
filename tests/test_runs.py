from __future__ import annotations

import json
import math
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.runs.metrics import SCHEMA
from engine.runs.run import Run, list_runs, load_run
from engine.training.checkpoints import CheckpointError, load_checkpoint, model_from_checkpoint
from engine.training.trainer import TrainingControl
from tests.conftest import small_config


def final_weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["model"]


@pytest.mark.parametrize(("mode", "noise"), [("interleaved", "fixed"), ("streams", "fixed"), ("streams", "fresh")])
def test_a_stopped_and_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, mode, noise):
    config = small_config(
        tmp_path,
        f"training.mode={mode}",
        f"training.training_noise={noise}",
        "training.num_epochs=4",
        "model.num_layers=2",
        "model.dropout=0.2",
    )
    whole = Run.start(config)
    assert len(list(whole.epochs())) == 4
    whole.finish()

    control = TrainingControl()
    first = Run.start(config)
    for report in first.epochs(control):
        if report.epoch == 2:
            control.request_stop()
    assert first.status == "stopped" and first.session.epoch == 2
    first.finish()
    assert json.loads((first.folder / "metrics.json").read_text())["status"] == "stopped"

    resumed = Run.resume(first.folder)
    assert [r.epoch for r in resumed.epochs()] == [3, 4]
    resumed.finish()
    for key, value in final_weights(whole.folder).items():
        assert torch.equal(value, final_weights(first.folder)[key]), key
    assert resumed.status == "completed"


@pytest.mark.parametrize("mode", ["interleaved", "streams"])
def test_fresh_noise_trains_epoch_one_on_the_train_set_and_each_later_epoch_on_a_new_draw(tmp_path, mode):
    losses = {}
    for noise in ("fixed", "fresh"):
        config = small_config(tmp_path, f"training.mode={mode}", f"training.training_noise={noise}", "training.num_epochs=3")
        run = Run.start(config)
        losses[noise] = [r.train_loss for r in run.epochs()]
        run.finish()
    assert losses["fresh"][0] == losses["fixed"][0]
    assert losses["fresh"][1:] != losses["fixed"][1:]


def test_run_folder_contents_and_metrics(tmp_path):
    config = small_config(tmp_path)
    run = Run.start(config)
    reports = list(run.epochs())
    metrics = run.finish()
    names = {p.name for p in run.folder.iterdir()}
    assert {"config.yaml", "metrics.json", "history.csv", "predictions.npz", "checkpoints", "graphs"} <= names
    assert {p.name for p in (run.folder / "checkpoints").iterdir()} == {"last.pt", "best.pt"}
    on_disk = json.loads((run.folder / "metrics.json").read_text())
    for key in ("mode", "device", "epochs_completed", "seconds_per_epoch", "train", "test", "generalization_gap", "generalization_pass"):
        assert key in on_disk
    assert on_disk == json.loads(json.dumps(metrics.to_json())) and on_disk["schema"] == SCHEMA
    assert [row["frequency_hz"] for row in on_disk["test"]["per_frequency"]] == [1.0, 3.0, 5.0, 7.0]
    assert on_disk["epochs_completed"] == 3 and on_disk["environment"]["torch"] == torch.__version__
    lines = (run.folder / "history.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,train_loss,test_mse,test_mse_1hz")
    assert reports[-1].wall_seconds >= reports[0].wall_seconds > 0
    record = load_run(run.folder)
    assert record.history.epoch.tolist() == [1, 2, 3] and record.config == config
    assert record.history == run.session.history  # the CSV form reads back every number exactly
    assert list_runs(tmp_path / "runs") == [run.folder]


def test_checkpoints_load_with_weights_only_and_rebuild_the_model(tmp_path):
    run = Run.start(small_config(tmp_path))
    list(run.epochs())
    payload = torch.load(run.folder / "checkpoints" / "best.pt", weights_only=True)
    assert set(payload) >= {"model", "optimizer", "config", "progress", "rng", "history"}
    config, model = model_from_checkpoint(load_checkpoint(run.folder / "checkpoints" / "best.pt"))
    assert config == run.config and model.lstm.hidden_size == 16


def test_three_frequencies_at_another_rate_train_and_report_three_rows(tmp_path):
    config = small_config(
        tmp_path, "data.frequencies=[2, 6, 11]", "data.sampling_rate=64", "model.input_size=4", "visualization.comparison_freq_idx=2"
    )
    for mode in ("interleaved", "streams"):
        config.training.mode = mode
        run = Run.start(config)
        report = list(run.epochs())[-1]
        assert len(report.test_mse_per_frequency) == 3
        metrics = run.finish()
        assert [row.frequency_hz for row in metrics.results.train.per_frequency] == [2.0, 6.0, 11.0]


def test_time_budget_stops_training(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=100000", "training.time_budget_s=1.0", "training.lr_schedule=cosine")
    run = Run.start(config)
    reports = list(run.epochs())
    assert 1 <= len(reports) < 100000 and reports[-1].wall_seconds >= 1.0
    assert reports[-1].learning_rate < reports[0].learning_rate


def test_damaged_and_foreign_checkpoints_give_messages(tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(broken)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(CheckpointError, match="not a workbench checkpoint"):
        load_checkpoint(plain)
    pickled = tmp_path / "pickled.pt"
    pickled.write_bytes(pickle.dumps(os.system, protocol=4))  # not torch's format at all
    with warnings.catch_warnings(record=True) as shown, pytest.raises(CheckpointError, match="not a torch file"):
        warnings.simplefilter("always")
        load_checkpoint(pickled)
    assert not shown  # torch's own warnings about the file stay out of the one-line message


def test_a_crafted_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    hostile = tmp_path / "hostile.pt"
    torch.save({"format": 1, "model": Payload(), "config": {}}, hostile)
    with pytest.raises(CheckpointError, match="refused: the file asks to load"):
        load_checkpoint(hostile)
    assert not marker.exists()


def test_a_scoring_interval_scores_the_first_every_kth_and_the_last_epoch_and_picks_best_among_them(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=7", "training.score_every=3")
    run = Run.start(config)
    reports = list(run.epochs())
    metrics = run.finish()
    scored = [r.epoch for r in reports if r.validation_mse is not None]
    assert scored == [1, 3, 6, 7]
    assert all(math.isnan(r.test_mse) and all(math.isnan(v) for v in r.test_mse_per_frequency) for r in reports if r.epoch not in scored)
    assert all(math.isfinite(r.test_mse) for r in reports if r.epoch in scored)
    assert not any(r.is_best for r in reports if r.epoch not in scored)  # an unscored epoch is never a candidate
    assert metrics.best_epoch in scored and metrics.validation_mse == min(r.validation_mse for r in reports if r.epoch in scored)
    history = load_run(run.folder).history
    assert np.isnan(history.test_mse[[1, 3, 4]]).all() and np.isfinite(history.test_mse[[0, 2, 5, 6]]).all()  # NaN reads back


def test_a_scoring_interval_keeps_training_itself_unchanged(tmp_path):
    every = Run.start(small_config(tmp_path, "training.num_epochs=4"))
    list(every.epochs())
    every.finish()
    sparse = Run.start(small_config(tmp_path, "training.num_epochs=4", "training.score_every=2"))
    list(sparse.epochs())
    sparse.finish()
    for key, value in final_weights(every.folder).items():
        assert torch.equal(value, final_weights(sparse.folder)[key]), key


def test_a_time_budget_scores_its_last_epoch(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=100000", "training.time_budget_s=0.5", "training.score_every=1000")
    run = Run.start(config)
    reports = list(run.epochs())
    assert reports[-1].validation_mse is not None and math.isfinite(reports[-1].test_mse)
