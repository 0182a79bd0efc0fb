"""The checkpoint is one type (engine.training.checkpoints.Checkpoint): what a session saves reads back whole."""

from __future__ import annotations

import pytest
import torch

from engine.runs.run import Run
from engine.training.checkpoints import Checkpoint, CheckpointError, load_checkpoint, read_torch_file, save_checkpoint
from tests.conftest import small_config


def test_a_sessions_checkpoint_reads_back_as_it_was_saved(tmp_path):
    run = Run.start(small_config(tmp_path, "training.num_epochs=2"))
    list(run.epochs())
    saved = run.session.checkpoint()
    save_checkpoint(tmp_path / "again.pt", saved)
    loaded = load_checkpoint(tmp_path / "again.pt")
    assert loaded.epoch == 2 and loaded.progress == saved.progress and loaded.mode == saved.mode
    assert loaded.config == saved.config and loaded.restore_problem() is None
    assert all(torch.equal(value, loaded.model[key]) for key, value in saved.model.items())
    assert torch.equal(loaded.rng["torch"], saved.rng["torch"])


def test_weights_alone_say_what_a_resume_would_lack(tmp_path):
    weights_only = Checkpoint(model={}, config=small_config(tmp_path).to_dict())
    assert weights_only.restore_problem() == "it has no optimizer, progress, history, rng to continue from"
    assert weights_only.epoch == 0
    assert set(weights_only.to_payload()) == {"format", "model", "config", "mode"}


def test_progress_without_one_of_its_numbers_is_named(tmp_path):
    run = Run.start(small_config(tmp_path))
    last = run.folder / "checkpoints" / "last.pt"
    payload = read_torch_file(last)
    del payload["progress"]["best_epoch"]
    torch.save(payload, last)
    with pytest.raises(CheckpointError, match="progress is not as the workbench writes it"):
        load_checkpoint(last)
