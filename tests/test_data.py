from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.config.schema import Config, apply_overrides
from engine.signals.dataset import cache_key, export_csv, generate, load_or_generate, training_draw


def test_same_seed_same_data_other_seed_other_noise():
    data = Config().data
    a, b, c = generate(data, 1), generate(data, 1), generate(data, 2)
    assert np.array_equal(a.mixture, b.mixture)
    assert not np.allclose(a.mixture, c.mixture)
    assert np.array_equal(a.targets, c.targets)  # same clean signal, only the noise differs


def test_fresh_training_draws_start_from_the_train_set_and_differ_per_epoch():
    data = Config().data
    first, second, third = (training_draw(data, epoch) for epoch in range(3))
    assert np.array_equal(first.mixture, generate(data, data.train_seed).mixture)
    assert np.array_equal(second.mixture, training_draw(data, 1).mixture)  # a resumed run redraws the same
    mixtures = [first.mixture, second.mixture, third.mixture, generate(data, data.test_seed).mixture]
    assert all(not np.allclose(a, b) for i, a in enumerate(mixtures) for b in mixtures[i + 1 :])
    assert np.array_equal(second.targets, first.targets)


def test_time_axis_and_clean_targets():
    signals = generate(Config().data, 1)
    assert signals.t.shape == (10_000,) and signals.t[0] == 0.0 and np.isclose(signals.t[-1], 9.999)
    assert np.allclose(signals.targets[1], np.sin(2 * np.pi * 3.0 * signals.t))


def test_noise_is_drawn_per_sample_with_the_specified_statistics():
    data = apply_overrides(Config(), ["data.phase_multiplier=0.0"]).data
    signals = generate(data, 7)
    clean_mean = signals.targets.mean(axis=0)
    residual = signals.mixture - clean_mean  # = (1/N) sum (A_i - 1) sin(theta_i) when phase noise is off
    var_a = (data.amp_max - data.amp_min) ** 2 / 12
    expected = var_a * (signals.targets**2).sum(axis=0).mean() / 16
    assert abs(residual.var() / expected - 1) < 0.05
    lag1 = np.corrcoef(residual[:-1], residual[1:])[0, 1]
    assert abs(lag1) < 0.05  # a fresh draw at every sample, never one per signal


def test_phase_noise_stays_within_its_multiplier():
    quiet = generate(apply_overrides(Config(), ["data.amp_min=1.0", "data.amp_max=1.0"]).data, 3)
    deviation = np.abs(quiet.mixture - quiet.targets.mean(axis=0))
    # each component moves by at most |sin(x + phi) - sin(x)| <= phi <= 0.01 * 2 pi
    assert deviation.max() <= 0.01 * 2 * np.pi + 1e-12
    assert deviation.max() > 0.005


def test_row_layout_blocks_one_hot_and_shared_mixture():
    signals = generate(Config().data, 1)
    inputs, outputs = signals.rows()
    n = signals.n_samples
    assert inputs.shape == (40_000, 5) and outputs.shape == (40_000,)
    for i in range(4):
        block = inputs[i * n : (i + 1) * n]
        assert np.allclose(block[:, 0], signals.mixture)
        assert np.all(block[:, 1 + i] == 1) and block[:, 1:].sum() == n
        assert np.allclose(outputs[i * n : (i + 1) * n], signals.targets[i])


def test_cache_reuses_a_file_and_never_a_stale_one(tmp_path: Path):
    data = Config().data
    first = load_or_generate(data, 1, tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    assert np.array_equal(load_or_generate(data, 1, tmp_path).mixture, first.mixture)
    changed = apply_overrides(Config(), ["data.phase_multiplier=1.0"]).data
    assert cache_key(changed, 1) != cache_key(data, 1)
    assert not np.allclose(load_or_generate(changed, 1, tmp_path).mixture, first.mixture)
    assert len(list(tmp_path.iterdir())) == 2


def test_csv_export_in_the_course_table_shape(tmp_path: Path):
    config = apply_overrides(Config(), ["data.sampling_rate=20", "data.duration=1"])
    signals = generate(config.data, 1)
    path = tmp_path / "train.csv"
    export_csv(signals, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "t,S,C1,C2,C3,C4,target"
    assert len(lines) == 1 + 80
    row = lines[1 + 20 + 2].split(",")  # block 2 (3 Hz), t = 0.1
    assert row[0] == "0.1" and row[2:6] == ["0", "1", "0", "0"]
    assert np.isclose(float(row[6]), np.sin(2 * np.pi * 3 * 0.1), atol=1e-6)
