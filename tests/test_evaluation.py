from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import Config, apply_overrides
from engine.data import generate
from engine.evaluation import predict, predict_sets
from engine.model import FrequencyLSTM


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
