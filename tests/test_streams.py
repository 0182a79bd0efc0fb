from __future__ import annotations

import pytest
import torch

from engine.config.schema import Config
from engine.signals.dataset import generate
from engine.training.evaluation import predict
from engine.training.model import FrequencyLSTM
from engine.training.streams import StreamsTrainer, segment_sequences


def test_a_windowed_call_equals_k_single_sample_calls():
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 24, num_layers=2).eval()
    x = torch.randn(6, 50, 5)
    state = model.zero_state(6)
    with torch.no_grad():
        windowed, (h1, c1) = model(x, state)
        outs = []
        for k in range(50):
            out, state = model(x[:, k : k + 1], state)
            outs.append(out)
    stepped = torch.cat(outs, dim=1)
    assert (windowed - stepped).abs().max() < 1e-5
    assert (h1 - state[0]).abs().max() < 1e-5 and (c1 - state[1]).abs().max() < 1e-5


def test_segments_are_contiguous_pieces_in_time():
    x = torch.arange(2 * 10, dtype=torch.float32).view(20, 1)
    y = torch.arange(20, dtype=torch.float32)
    seq_x, seq_y = segment_sequences(x, y, n_freq=2, segments=3)
    assert seq_x.shape == (6, 3, 1)
    assert seq_y.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [10, 11, 12], [13, 14, 15], [16, 17, 18]]


def test_streams_prediction_runs_each_frequency_from_a_zero_state_sample_by_sample():
    config = Config()
    config.data.duration = 0.3
    signals = generate(config.data, 1)
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8).eval()
    x = torch.from_numpy(signals.rows()[0]).view(4, 300, 5)
    with torch.no_grad():
        expected = []
        for i in range(4):
            state = model.zero_state(1)
            for k in range(300):
                out, state = model(x[i : i + 1, k : k + 1], state)
                expected.append(out.item())
    got = predict(model, signals, "streams", 32).reshape(-1)
    assert abs(got - torch.tensor(expected).numpy()).max() < 1e-5


def test_streams_training_reduces_the_loss():
    config = Config()
    config.data.duration = 1.0
    x, y = (torch.from_numpy(a) for a in generate(config.data, 1).rows())
    torch.manual_seed(0)
    trainer = StreamsTrainer(FrequencyLSTM(5, 16), 4, segments=4, tbptt_steps=25, learning_rate=0.01, clip_grad_norm=1.0)
    first = trainer.train_epoch(x, y, lambda: True)
    for _ in range(15):
        last = trainer.train_epoch(x, y, lambda: True)
    assert last < 0.75 * first


def test_several_fresh_draws_per_epoch_train_side_by_side_and_the_first_is_the_train_set(tmp_path):
    import numpy as np

    from engine.config.schema import ConfigError, apply_overrides
    from engine.signals.dataset import load_splits, training_draw
    from engine.training.trainer import Session
    from tests.conftest import small_config

    config = small_config(tmp_path, "training.mode=streams", "training.training_noise=fresh", "training.draws_per_epoch=3")
    session = Session(config, load_splits(config), torch.device("cpu"))
    rows = [training_draw(config.data, k).rows()[0] for k in range(3 * config.training.num_epochs)]
    assert np.array_equal(session.inputs.numpy(), np.concatenate(rows[:3]))  # train_seed's set first, then two more
    assert session.trainer.n_freq == 3 * len(config.data.frequencies)  # each draw's sequences are more of the batch
    reports = list(session.epochs())
    assert len(reports) == config.training.num_epochs and np.array_equal(session.inputs.numpy(), np.concatenate(rows[-3:]))

    one = Session(apply_overrides(config, ["training.draws_per_epoch=1"]), load_splits(config), torch.device("cpu"))
    assert np.array_equal(one.inputs.numpy(), rows[0])  # one draw: exactly what it always was

    with pytest.raises(ConfigError, match=r"training\.draws_per_epoch.*fresh"):
        apply_overrides(config, ["training.training_noise=fixed"])
    assert apply_overrides(config, ["training.training_noise=fixed", "training.mode=interleaved"])  # ignored there
