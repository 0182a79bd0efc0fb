from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.config import Config, apply_overrides
from engine.data import generate
from engine.evaluation import Memorisation, predict, predict_sets, unseen_seeds
from engine.model import FrequencyLSTM
from engine.runs import Run
from tests.conftest import small_config


@pytest.mark.parametrize(("mode", "batch"), [("streams", 32), ("interleaved", 32), ("interleaved", 7)])
def test_several_sets_in_one_pass_give_each_set_its_own_outputs(mode, batch):
    """Batch 7 leaves a last batch of another size, which starts from zeros per set."""
    data = apply_overrides(Config(), ["data.sampling_rate=50", "data.duration=2.0"]).data
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8)
    sets = [generate(data, seed) for seed in (1, 2, 3)]
    together = predict_sets(model, sets, mode, batch)
    for signals, outputs in zip(sets, together, strict=True):
        assert outputs.shape == (4, 100)
        assert np.abs(outputs - predict(model, signals, mode, batch)).max() < 1e-6
    assert not np.allclose(together[0], together[1])


def test_unseen_draws_never_reuse_the_train_validation_or_test_seed():
    data = Config().data
    first = unseen_seeds(data, 8)
    assert len(set(first)) == 8 and not {data.train_seed, data.test_seed, data.validation_seed} & set(first)
    clashing = dataclasses.replace(data, train_seed=first[0], validation_seed=first[1])
    again = unseen_seeds(clashing, 8)
    assert first[0] not in again and first[1] not in again and len(set(again)) == 8
    assert unseen_seeds(dataclasses.replace(data, test_seed=7), 8) != first  # derived from test_seed


def test_a_train_mse_far_below_the_unseen_draws_is_memorised_and_one_inside_them_is_not():
    unseen = np.array([[0.010, 0.020], [0.012, 0.022], [0.011, 0.018], [0.009, 0.020]])
    check = Memorisation((1.0, 3.0), (0.004, 0.0205), unseen)
    z = check.z
    assert z[0] < -2 < z[1]
    assert check.memorised
    row = check.to_dict()["per_frequency"][0]
    assert row["memorised"] and row["unseen_mean"] == pytest.approx(0.0105) and row["z"] == pytest.approx(z[0])
    assert not Memorisation((1.0, 3.0), (0.0105, 0.02), unseen).memorised


def test_metrics_carry_the_memorisation_check_and_the_zero_output_reference(tmp_path):
    run = Run.start(small_config(tmp_path, "training.num_epochs=2", "evaluation.unseen_draws=3"))
    list(run.epochs())
    metrics = run.finish()
    check = metrics["memorisation"]
    assert check["draws"] == 3 and len(check["per_frequency"]) == 4
    assert all(row["unseen_std"] > 0 and np.isfinite(row["z"]) for row in check["per_frequency"])
    assert [row["train_mse"] for row in check["per_frequency"]] == [row["mse"] for row in metrics["train"]["per_frequency"]]
    assert metrics["reference"]["zero_output_mse"] == pytest.approx(0.5, abs=1e-9)  # unit sines over whole periods
