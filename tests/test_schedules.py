"""Learning-rate schedules: each epoch's rate equals torch's own scheduler on the same epochs and validation
values, a resumed run continues the schedule exactly, history.csv records the rates, bad settings are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler

from engine.config.schema import Config, ConfigError, apply_overrides, config_from_dict, dump_config, parse_yaml
from engine.runs.run import Run, load_run
from engine.signals.dataset import load_splits
from engine.training.schedules import Plateau, learning_rate_at
from engine.training.trainer import Cohort, Session, TrainingControl
from tests.conftest import small_config


def optimizer(lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def torch_rates(lr: float, epochs: int, make) -> list[float]:
    """The rate torch's scheduler gives each epoch when it is stepped after every epoch."""
    opt = optimizer(lr)
    scheduler = make(opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return rates


def our_rates(*overrides: str) -> list[float]:
    config = apply_overrides(Config(), ["training.learning_rate=0.01", *overrides])
    return [learning_rate_at(config, epoch, 0.0) for epoch in range(config.training.num_epochs)]


def warmup(opt: torch.optim.Optimizer, epochs: int) -> lr_scheduler.LinearLR:
    return lr_scheduler.LinearLR(opt, start_factor=1 / (epochs + 1), end_factor=1.0, total_iters=epochs)


def test_step_decay_is_torch_s_multistep_lr():
    ours = our_rates("training.num_epochs=9", "training.lr_schedule=step", "training.lr_milestones=[3, 5]", "training.lr_gamma=0.5")
    theirs = torch_rates(0.01, 9, lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[3, 5], gamma=0.5))
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours[3] == pytest.approx(0.005) and ours[2] == pytest.approx(0.01)  # "after epoch 3": the 4th epoch decays


def test_a_warm_up_then_steps_at_absolute_epochs_is_torch_s_linear_then_multistep():
    ours = our_rates("training.num_epochs=9", "training.lr_schedule=step", "training.lr_milestones=[4, 6]", "training.lr_warmup_epochs=2")
    theirs = torch_rates(
        0.01,
        9,
        lambda opt: lr_scheduler.SequentialLR(
            opt, [warmup(opt, 2), lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)], milestones=[2]
        ),
    )
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours[:3] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01])


@pytest.mark.parametrize("warm", [0, 3])
def test_cosine_after_a_warm_up_is_torch_s_linear_then_cosine_annealing(warm):
    ours = our_rates("training.num_epochs=10", "training.lr_schedule=cosine", f"training.lr_warmup_epochs={warm}")

    def make(opt):
        cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=10 - warm)
        return lr_scheduler.SequentialLR(opt, [warmup(opt, warm), cosine], milestones=[warm]) if warm else cosine

    assert ours == pytest.approx(torch_rates(0.01, 10, make), rel=1e-9)


def test_a_warm_up_alone_rises_as_torch_s_linear_lr_to_the_constant_rate():
    ours = our_rates("training.num_epochs=6", "training.lr_warmup_epochs=4")
    assert ours == pytest.approx(torch_rates(0.01, 6, lambda opt: warmup(opt, 4)), rel=1e-9)
    assert ours[4:] == [0.01, 0.01]


def test_the_plateau_is_torch_s_reduce_on_plateau_with_threshold_zero():
    # equal is not better; 0.89999 after 0.9 is (threshold 0); the floor stops reductions
    scores = [1.0, 0.9, 0.95, 0.9, 0.96, 0.89999, 0.97, 0.98, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    settings = ["training.learning_rate=0.01", "training.lr_schedule=plateau", "training.lr_patience=1", "training.lr_factor=0.3"]
    config = apply_overrides(Config(), [*settings, "training.lr_min=0.0005"])
    plateau = Plateau(0.01)
    opt = optimizer(0.01)
    reference = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=1, threshold=0.0, min_lr=0.0005)
    ours, theirs = [], []
    for epoch, score in enumerate(scores, start=1):
        plateau.observe(config.training, epoch, score)
        reference.step(score)
        ours.append(plateau.rate)
        theirs.append(opt.param_groups[0]["lr"])
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert len(set(ours)) == 4 and ours[-1] == 0.0005  # three reductions, the last one to the floor


def scripted_validation(monkeypatch, values: list[float]) -> None:
    """Each scored epoch's validation MSE is values[epoch - 1]: a plateau chosen, not hoped for."""
    real = Session._score

    def score(session: Session):
        test, _ = real(session)
        return test, values[session.epoch]  # the epochs trained before this one

    monkeypatch.setattr(Session, "_score", score)


PLATEAU = (
    "training.num_epochs=14",
    "training.score_every=2",
    "training.lr_schedule=plateau",
    "training.lr_warmup_epochs=2",
    "training.lr_patience=1",
    "training.lr_factor=0.5",
    "training.lr_min=0.001",
)
# scored: 1, 2 (warm-up, ignored), 4 best, 6 worse, 8 equal -> lower; 10, 12 worse -> lower to the floor; 14
SCORES = [9.0, 8.0, 0, 0.9, 0, 0.95, 0, 0.9, 0, 0.99, 0, 0.99, 0, 0.5]


def expected_plateau_rates(history_validation: np.ndarray, lr: float, warm: int) -> list[float]:
    """torch's LinearLR for the warm-up, then ReduceLROnPlateau stepped with each later scored epoch's MSE."""
    opt = optimizer(lr)
    rise = warmup(opt, warm)
    plateau = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=0.0, min_lr=0.001)
    rates = []
    for epoch, score in enumerate(history_validation, start=1):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if epoch <= warm:
            rise.step()
        elif math.isfinite(score):
            plateau.step(score)
    return rates


def test_a_plateau_run_trains_each_epoch_at_torch_s_rate_and_history_csv_records_it(tmp_path, monkeypatch):
    scripted_validation(monkeypatch, SCORES)
    run = Run.start(small_config(tmp_path, *PLATEAU))
    reports = list(run.epochs())
    run.finish()
    history = load_run(run.folder).history
    assert [r.learning_rate for r in reports] == history.learning_rate.tolist()
    assert np.isfinite(history.validation_mse).tolist() == [e in (1, 2, 4, 6, 8, 10, 12, 14) for e in range(1, 15)]
    expected = expected_plateau_rates(history.validation_mse, 0.003, 2)
    assert history.learning_rate.tolist() == pytest.approx(expected, rel=1e-9)
    assert sorted(set(np.round(history.learning_rate[2:], 12))) == [0.001, 0.0015, 0.003]


@pytest.mark.parametrize(
    "schedule",
    [PLATEAU, ("training.num_epochs=6", "training.lr_schedule=step", "training.lr_milestones=[3, 4]", "training.lr_warmup_epochs=2")],
    ids=["plateau", "step"],
)
def test_a_stopped_and_resumed_run_continues_the_schedule_exactly(tmp_path, monkeypatch, schedule):
    scripted_validation(monkeypatch, SCORES)
    config = small_config(tmp_path, *schedule)
    whole = Run.start(config)
    list(whole.epochs())
    whole.finish()

    control = TrainingControl()
    first = Run.start(config)
    for report in first.epochs(control):
        if report.epoch == 5:  # the plateau has a best and a bad epoch to carry over
            control.request_stop()
    first.finish()
    resumed = Run.resume(first.folder)
    list(resumed.epochs())
    resumed.finish()

    assert load_run(first.folder).history.learning_rate.tolist() == load_run(whole.folder).history.learning_rate.tolist()
    last = "checkpoints/last.pt"
    weights = torch.load(whole.folder / last, weights_only=True)["model"]
    for key, value in torch.load(first.folder / last, weights_only=True)["model"].items():
        assert torch.equal(value, weights[key]), key


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["training.lr_milestones=[5, 3]"], "training.lr_milestones: [5, 3] is not increasing; allowed: epochs in increasing order"),
        (["training.lr_milestones=[2.5]"], "training.lr_milestones: item 2.5 is not allowed; allowed: finite whole numbers > 0"),
        (["training.lr_milestones=50"], "training.lr_milestones: 50 is not allowed; allowed: a list of whole numbers"),
        (["training.lr_schedule=step"], "training.lr_milestones: [] gives the step schedule nothing to do; allowed: one epoch or more"),
        (
            ["training.lr_schedule=step", "training.lr_milestones=[3]", "training.lr_warmup_epochs=3"],
            "training.lr_milestones: 3 falls in the warm-up (training.lr_warmup_epochs 3); allowed: epochs above 3",
        ),
        (["training.lr_gamma=0"], "training.lr_gamma: 0 is not allowed; allowed: a number from 1e-06 to 1.0"),
        (["training.lr_factor=-0.5"], "training.lr_factor: -0.5 is not allowed; allowed: a number from 1e-06 to 1.0"),
        (["training.lr_patience=-1"], "training.lr_patience: -1 is not allowed; allowed: an integer from 0 to 1000000"),
        (["training.lr_warmup_epochs=100"], "training.lr_warmup_epochs: 100 leaves no epoch at the learning rate; allowed: 0 to 99"),
        (
            ["training.lr_schedule=plateau", "training.selection=train_loss"],
            "training.lr_schedule: plateau watches the validation MSE, which training.selection train_loss does not measure",
        ),
        (["training.lr_schedule=plateau", "training.lr_min=0.01"], "training.lr_min: 0.01 is above training.learning_rate (0.0001)"),
        (["training.lr_schedule=linear"], "training.lr_schedule: 'linear' is not allowed; allowed: one of constant, cosine, step, plateau"),
    ],
)
def test_a_bad_schedule_setting_is_one_line_naming_the_key_and_what_is_allowed(overrides, expected):
    with pytest.raises(ConfigError) as caught:
        apply_overrides(Config(), overrides)
    assert len(caught.value.messages) == 1 and caught.value.messages[0].startswith(expected)


def test_a_saved_schedule_loads_back_and_a_file_without_the_keys_gets_the_constant_rate():
    config = apply_overrides(
        Config(), ["training.lr_schedule=step", "training.lr_milestones=[30, 60]", "training.lr_gamma=0.5", "training.lr_warmup_epochs=5"]
    )
    text = dump_config(config)
    assert "lr_milestones: [30, 60]" in text
    assert config_from_dict(parse_yaml(text)) == config
    plain = config_from_dict({"training": {"learning_rate": 0.001}})
    assert plain.training.lr_schedule == "constant" and plain.training.lr_warmup_epochs == 0


def test_each_member_of_a_population_follows_its_own_plateau_and_warm_up(tmp_path, monkeypatch):
    scripted_validation(monkeypatch, SCORES)
    members = [
        small_config(tmp_path, "training.num_threads=1", *PLATEAU, f"model.seed={seed}", f"training.learning_rate={lr}")
        for seed, lr in ((1, 0.003), (2, 0.01))
    ]
    sessions = [Session(c, load_splits(c), torch.device("cpu")) for c in members]
    rates: dict[int, list[float]] = {0: [], 1: []}
    for session, report in Cohort(sessions).epochs():
        rates[sessions.index(session)].append(report.learning_rate)
    for k, config in enumerate(members):
        alone = [r.learning_rate for r in Session(config, load_splits(config), torch.device("cpu")).epochs()]
        assert rates[k] == alone and len(set(alone[2:])) == 3  # after the warm-up: the base and two reductions
