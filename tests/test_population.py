"""Trials trained as one population: each run is the run it would have been alone."""

from __future__ import annotations

import json

import pytest
import torch

from engine.config.schema import Config, apply_overrides
from engine.runs.run import Run, train_together
from engine.signals.dataset import load_splits
from engine.training.trainer import Cohort, Session, cohort_problem
from tests.conftest import small_config

VARIANTS = [
    ("model.seed=1", "training.learning_rate=0.003"),
    ("model.seed=2", "training.learning_rate=0.01"),
    ("model.seed=3", "training.clip_grad_norm=0.05"),
]


def configs(tmp_path, *extra: str) -> list[Config]:
    return [small_config(tmp_path, "training.num_threads=1", *extra, *variant) for variant in VARIANTS]


def solo(config: Config) -> list:
    session = Session(config, load_splits(config), torch.device("cpu"))
    return list(session.epochs())


def test_each_member_of_a_cohort_reports_what_its_solo_run_reports(tmp_path):
    members = configs(tmp_path)
    sessions = [Session(c, load_splits(c), torch.device("cpu")) for c in members]
    reports: dict[int, list] = {i: [] for i in range(len(members))}
    for session, report in Cohort(sessions).epochs():
        reports[sessions.index(session)].append(report)
    for i, config in enumerate(members):
        alone = solo(config)
        assert [r.epoch for r in reports[i]] == [r.epoch for r in alone] == [1, 2, 3]
        assert [r.train_loss for r in reports[i]] == pytest.approx([r.train_loss for r in alone], abs=1e-5)
        assert [r.test_mse for r in reports[i]] == pytest.approx([r.test_mse for r in alone], abs=1e-5)
    assert len({reports[i][-1].train_loss for i in reports}) == len(members)  # they are different trainings


def test_runs_trained_together_write_their_folders_and_a_pruned_one_leaves(tmp_path):
    runs = [Run.start(c, tmp_path / "runs") for c in configs(tmp_path)]
    seen: list[tuple[str, int]] = []
    for run, report in train_together(runs):
        seen.append((run.folder.name, report.epoch))
        if run is runs[1] and report.epoch == 1:
            run.status = "pruned"
    assert [e for name, e in seen if name == runs[1].folder.name] == [1]
    assert [e for name, e in seen if name == runs[0].folder.name] == [1, 2, 3]
    assert [r.status for r in runs] == ["completed", "pruned", "completed"]
    metrics = runs[2].finish()
    assert metrics.epochs_completed == 3
    assert json.loads((runs[2].folder / "metrics.json").read_text())["status"] == "completed"
    alone = solo(runs[2].config)
    history = runs[2].session.history
    assert history.train_loss.tolist() == pytest.approx([r.train_loss for r in alone], abs=1e-5)
    # what a resume would read: the member's own Adam state and weights
    resumed = Run.resume(runs[2].folder)
    assert resumed.session.epoch == 3
    assert resumed.session.history.train_loss.tolist() == history.train_loss.tolist()


def test_a_diverging_member_fails_alone(tmp_path):
    members = configs(tmp_path)
    members[0] = apply_overrides(members[0], ["training.learning_rate=50", "training.clip_grad_norm=0"])
    runs = [Run.start(c, tmp_path / "runs") for c in members]
    epochs = {run.folder.name: 0 for run in runs}
    for run, _ in train_together(runs):
        epochs[run.folder.name] += 1
    assert runs[0].status == "diverged" and "diverged" in runs[0].message
    assert [r.status for r in runs[1:]] == ["completed", "completed"]
    assert epochs[runs[1].folder.name] == 3


def test_only_interleaved_configs_equal_but_for_seed_rate_and_clip_make_a_cohort(tmp_path):
    members = configs(tmp_path)
    assert cohort_problem(members) is None
    other = apply_overrides(members[1], ["model.hidden_size=8"])
    assert "model.hidden_size" in cohort_problem([members[0], other])
    streams = [apply_overrides(c, ["training.mode=streams"]) for c in members]
    assert "interleaved" in cohort_problem(streams)
    with pytest.raises(ValueError, match=r"model\.hidden_size"):
        Cohort([Session(c, load_splits(c), torch.device("cpu")) for c in (members[0], other)])


def test_a_time_budget_keeps_runs_apart(tmp_path):
    """A member charged its population's seconds would train fewer epochs than alone: no cohort then."""
    members = configs(tmp_path, "training.time_budget_s=60")
    assert "time_budget_s" in cohort_problem(members)


def test_members_must_be_at_the_same_epoch(tmp_path):
    members = configs(tmp_path, "training.training_noise=fresh")
    ahead = Session(members[0], load_splits(members[0]), torch.device("cpu"))
    next(ahead.epochs())
    behind = Session(members[1], load_splits(members[1]), torch.device("cpu"))
    with pytest.raises(ValueError, match="epoch"):
        Cohort([ahead, behind])


def test_a_cohort_draws_fresh_noise_once_an_epoch_for_all(tmp_path, monkeypatch):
    members = configs(tmp_path, "training.training_noise=fresh")
    sessions = [Session(c, load_splits(c), torch.device("cpu")) for c in members]
    cohort = Cohort(sessions)
    draws = []
    real = Session._draws_of
    monkeypatch.setattr(Session, "_draws_of", lambda self, epoch: draws.append(epoch) or real(self, epoch))
    reports = list(cohort.epochs())
    assert len(reports) == 3 * len(members)
    assert draws == [0, 1, 2]
    alone = solo(members[2])  # and each member still trains on the draws its solo run would
    assert [r.train_loss for s, r in reports if s is sessions[2]] == pytest.approx([r.train_loss for r in alone], abs=1e-5)


def test_a_member_without_clipping_whose_gradient_overflows_gets_a_scale_of_one():
    from engine.training.interleaved import clip_scales

    norms = torch.tensor([float("inf"), 3.0, float("inf"), 0.5])
    clips = torch.tensor([float("inf"), float("inf"), 1.0, 1.0])  # no clip: inf
    scales = clip_scales(norms, clips)
    assert scales[0] == 1.0 and scales[1] == 1.0 and scales[3] == 1.0
    assert scales[2] > 1e30  # an overflowed clipped gradient is scaled to nothing, as clip_grad_norm_ does
