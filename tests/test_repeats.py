"""Repeats of one configuration (train --repeats), patience, and the provenance every run records."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from cli import commands
from engine.analysis.effects import group_runs
from engine.config.schema import ConfigError, dump_config
from engine.runs import provenance
from engine.runs.integrity import damaged_files
from engine.runs.notes import RunNotes, has_given_name
from engine.runs.repeats import start_repeats, train_repeats
from engine.runs.run import Run, load_run, versions
from engine.training.trainer import EndReason, Session, TrainingControl
from tests.conftest import ROOT, small_config
from tests.kill_resume import EPOCHS, train_command, wait_for


@pytest.fixture
def validation_sequence(monkeypatch):
    """Make scoring return the given validation MSEs in turn (test MSE is real): patience on known numbers."""

    original = Session._score

    def use(values: list[float]) -> list[int]:
        scored: list[int] = []

        def score(self):
            test, _ = original(self)
            scored.append(self.epoch + 1)
            return test, values[len(scored) - 1]

        monkeypatch.setattr(Session, "_score", score)
        return scored

    return use


def test_patience_ends_training_after_that_many_scored_epochs_without_a_better_validation_mse(tmp_path, validation_sequence):
    scored = validation_sequence([5.0, 4.0, 4.5, 4.0, 6.0, 1.0, 1.0])
    run = Run.start(small_config(tmp_path, "training.num_epochs=20", "training.patience=2", "training.score_every=2"))
    reports = list(run.epochs())
    metrics = run.finish()
    assert scored == [1, 2, 4, 6] and [r.epoch for r in reports][-1] == 6  # 4 and 6 were not better than epoch 2
    assert metrics.best_epoch == 2 and metrics.validation_mse == 4.0
    assert metrics.status == "completed" and metrics.ended_by == EndReason.PATIENCE == "patience"
    assert "no better validation MSE in 2 scored epochs after epoch 2" in metrics.message


def test_patience_counts_on_after_a_resume_and_is_off_at_zero(tmp_path, validation_sequence):
    validation_sequence([5.0, 4.0, 4.5, 4.6, 4.7])
    control = TrainingControl()
    run = Run.start(small_config(tmp_path, "training.num_epochs=20", "training.patience=2"))
    for report in run.epochs(control):
        if report.epoch == 3:
            control.request_stop()
    run.finish()
    resumed = Run.resume(run.folder)
    assert [r.epoch for r in resumed.epochs()] == [4]  # epoch 3 was the first without improvement, epoch 4 the second
    assert resumed.finish().ended_by == "patience"
    validation_sequence([5.0, 6.0, 7.0])
    plain = Run.start(small_config(tmp_path, "training.num_epochs=3"))
    assert len(list(plain.epochs())) == 3 and plain.finish().ended_by == "epochs"


def test_every_run_records_where_its_numbers_came_from(tmp_path, monkeypatch):
    run = Run.start(small_config(tmp_path, "training.num_epochs=1", "training.num_threads=1"))
    list(run.epochs())
    environment = run.finish().environment
    for key in ("workbench", "python", "torch", "numpy", "scipy", "optuna", "PySide6", "cpu", "device"):
        assert isinstance(environment.get(key), str) and environment[key], key
    assert environment["threads"] == 1
    if shutil.which("git") and (ROOT / ".git").exists():
        assert len(environment["commit"]) == 40 and isinstance(environment["dirty"], bool)
    assert json.loads((run.folder / "metrics.json").read_text())["environment"] == environment


def test_without_git_the_commit_is_left_out(monkeypatch):
    monkeypatch.setenv("PATH", "")
    provenance.source_revision.cache_clear()
    try:
        assert provenance.source_revision() == {}
        assert "commit" not in versions() and versions()["workbench"]
    finally:
        provenance.source_revision.cache_clear()


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["model"]


def same_weights(a: Path, b: Path) -> bool:
    return all(torch.equal(value, weights(b)[key]) for key, value in weights(a).items())


def train_cli(config_path: Path, *extra: str) -> tuple[int, list[Path]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = commands.main(["train", "--config", str(config_path), "--no-graphs", *extra])
    return code, [Path(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("mode", ["interleaved", "streams"])
def test_repeats_train_k_seeds_as_ordinary_runs_equal_to_each_trained_alone(tmp_path, mode):
    config = small_config(tmp_path, f"training.mode={mode}", "training.num_threads=1", "model.seed=7", "training.num_epochs=2")
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(config))
    code, printed = train_cli(path, "--repeats", "3", "--name", "base", "--note", "how much does the seed move it")
    assert code == 0 and len(printed) == 3 and all((p / "metrics.json").is_file() for p in printed)
    records = [load_run(p) for p in printed]
    assert [r.config.model.seed for r in records] == [7, 8, 9]
    assert len({r.notes.group for r in records}) == 1 and records[0].notes.group
    assert [r.notes.name for r in records] == ["base (seed 7)", "base (seed 8)", "base (seed 9)"]
    assert all(r.notes.note == "how much does the seed move it" for r in records)
    assert all(r.metrics.status == "completed" and r.metrics.epochs_completed == 2 for r in records)
    assert len(group_runs(records)) == 1
    code, made = train_cli(path, "--repeats", "2", "--set", "model.hidden_size=32")  # no --name: names made from the changes
    made = [load_run(p).notes for p in made]
    assert [n.name for n in made] == ["hidden 32", "hidden 32, seed 8"] and not any(has_given_name(n) for n in made)
    assert made[1].changes[-1] == ("model.seed", 7, 8)
    for record in records:
        code, (alone,) = train_cli(path, "--set", f"model.seed={record.config.model.seed}")
        assert code == 0 and same_weights(record.folder, alone)
        assert load_run(alone).metrics.results.test == record.metrics.results.test
        assert load_run(alone).notes.group == ""


@pytest.mark.parametrize("mode", ["interleaved", "streams"])
def test_stopped_repeats_are_each_resumable_and_end_as_if_never_stopped(tmp_path, mode):
    config = small_config(tmp_path, f"training.mode={mode}", "training.num_threads=1", "training.num_epochs=3")
    whole = start_repeats(config, 2, RunNotes(name="whole"))
    list(train_repeats(whole))
    control = TrainingControl()
    stopped = start_repeats(config, 2, RunNotes(name="stopped"))
    for _run, report in train_repeats(stopped, control):
        if report.epoch == 2:
            control.request_stop()
    assert [r.session.epoch for r in stopped] == ([2, 2] if mode == "interleaved" else [2, 0])  # streams: one after another
    for run in stopped:
        resumed = Run.resume(run.folder)
        list(resumed.epochs())
        assert resumed.status == "completed" and resumed.session.epoch == 3
    for done, again in zip(whole, stopped, strict=True):
        assert same_weights(done.folder, again.folder)


def test_a_killed_repeat_group_leaves_every_member_resumable(tmp_path):
    command = [*train_command(tmp_path / "runs", tmp_path / "data"), "--repeats", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = lambda: [p / "history.csv" for p in (tmp_path / "runs").glob("*")]  # noqa: E731
    wait_for(lambda: len([h for h in history() if h.exists()]) == 2 or process.poll() is not None, what="both members' first epoch")
    process.kill()
    process.wait(timeout=60)
    folders = sorted((tmp_path / "runs").glob("*"))
    assert len(folders) == 2
    for folder in folders:
        assert damaged_files(folder) == []
        resumed = Run.resume(folder)
        list(resumed.epochs())
        assert resumed.status == "completed" and resumed.session.epoch == EPOCHS


def test_repeats_that_pass_the_largest_seed_are_refused_before_any_folder(tmp_path):
    config = small_config(tmp_path, f"model.seed={2**32 - 2}")
    with pytest.raises(ConfigError, match=r"--repeats: 3 seeds from model.seed 4294967294 pass 4294967295; allowed: 1 to 2"):
        start_repeats(config, 3, RunNotes())
    with pytest.raises(ConfigError, match="--repeats: 0 is not allowed"):
        start_repeats(config, 0, RunNotes())
    assert not (tmp_path / "runs").exists()
