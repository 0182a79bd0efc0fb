"""Extraction, not replay: test draws that start at random moments, scored beside the spec's test."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import engine.training.evaluation as evaluation
from engine.config.schema import Config, apply_overrides
from engine.runs.run import Run
from engine.signals.dataset import common_period, generate, shifted_draws
from engine.signals.known_model import known_model_estimate
from engine.training.evaluation import SetMetrics, extraction
from tests.conftest import small_config


def test_the_common_period_is_when_every_sine_repeats():
    assert common_period([1.0, 3.0, 5.0, 7.0]) == pytest.approx(1.0)
    assert common_period([2.0, 6.0, 11.0]) == pytest.approx(1.0)
    assert common_period([1.5, 2.5]) == pytest.approx(2.0)
    assert common_period([1.0, 1.1]) == pytest.approx(10.0)
    assert common_period([1.0, math.sqrt(2)]) == pytest.approx(1.0)  # no common period: the slowest sine's


def test_a_shifted_set_follows_the_noise_law_with_shifted_targets_and_zero_start_is_bit_identical():
    data = Config().data
    spec = generate(data, 5)
    assert all(np.array_equal(getattr(generate(data, 5, 0.0), k), getattr(spec, k)) for k in ("t", "mixture", "targets", "components"))
    shifted = generate(data, 5, 0.37)
    assert np.allclose(
        shifted.targets, np.sin(2 * np.pi * np.outer(data.frequencies, 0.37 + np.arange(spec.n_samples) / data.sampling_rate))
    )
    assert not np.allclose(shifted.targets, spec.targets)
    gain = (shifted.components * shifted.targets).mean(axis=1) / (shifted.targets**2).mean(axis=1)
    phase = data.phase_multiplier * 2 * np.pi
    assert gain == pytest.approx(np.full(4, 1.0 * np.sin(phase) / phase), abs=0.01)  # E[A] E[cos phi], per-sample draws
    residual = shifted.components - gain[:, None] * shifted.targets
    assert residual.std() == pytest.approx(math.sqrt(0.4**2 / 12 / 2), rel=0.1)  # amplitude noise U(0.8, 1.2), drawn per sample
    draws = shifted_draws(data, 8)
    assert len({seed for seed, _ in draws}) == 8 and all(0 <= start < 1.0 for _, start in draws)
    assert {seed for seed, _ in draws}.isdisjoint({data.train_seed, data.test_seed, data.validation_seed})


def test_a_model_that_replays_the_t0_curve_scores_zero_on_the_spec_test_and_badly_on_shifted_starts(monkeypatch):
    data = apply_overrides(Config(), ["data.sampling_rate=100", "data.duration=4"]).data
    replay = generate(data, data.test_seed).targets  # whatever the input, the t = 0 curve

    monkeypatch.setattr(evaluation, "predict_sets", lambda model, sets, mode, batch_size: [replay for _ in sets])
    spec_test = generate(data, data.test_seed)
    assert SetMetrics.of(evaluation.predict(None, spec_test, "interleaved", 32), spec_test.targets).mse == 0.0
    shifted = extraction(None, data, 8, "interleaved", 32).to_dict()
    assert shifted["draws"] == 8 and shifted["mse"] > 0.3  # about 1 - cos(2 pi f t0) on average: a replay is found out
    assert shifted["known_model_mse"] < 0.05  # while the estimator that reads S extracts
    assert len(shifted["per_frequency"]) == 4 and len(shifted["mse_per_draw"]) == len(shifted["known_model_mse_per_draw"]) == 8


def test_the_known_model_estimator_extracts_a_noise_free_shifted_signal():
    data = apply_overrides(Config(), ["data.amp_min=1", "data.amp_max=1", "data.phase_multiplier=0"]).data
    signals = generate(data, 3, 0.61)
    estimate = known_model_estimate(signals, data)
    half = signals.n_samples // 2
    assert np.abs(estimate[:, half:] - signals.targets[:, half:]).max() < 1e-6


def test_the_known_model_estimator_finds_the_shared_start_within_a_tenth_of_a_second():
    data = Config().data  # the default noise law: amplitude and phase drawn per sample
    for seed, start in shifted_draws(data, 3):
        signals = generate(data, seed, start)
        error = (known_model_estimate(signals, data) - signals.targets) ** 2
        assert error[:, 100:].mean() < 1e-4  # one unknown t0, not eight free coefficients: it locks in fast
        assert error.mean() < 0.003


@pytest.mark.parametrize("fast", [3, 45])
def test_the_known_model_estimator_handles_frequencies_with_a_long_common_period(fast):
    settings = [f"data.frequencies=[1.01, {fast}]", "data.sampling_rate=200", "data.duration=10", "model.input_size=3"]
    data = apply_overrides(Config(), settings).data
    for seed, start in [(4, 37.5), *shifted_draws(data, 3)]:  # the common period is 100 s: the search covers it
        signals = generate(data, seed, start)
        error = (known_model_estimate(signals, data) - signals.targets) ** 2
        assert np.isfinite(error).all() and error[:, signals.n_samples // 2 :].mean() < 1e-3, (seed, start)


def test_metrics_carry_the_extraction_check_and_zero_turns_it_off(tmp_path):
    run = Run.start(small_config(tmp_path, "training.num_epochs=1", "evaluation.shifted_starts=3"))
    list(run.epochs())
    shifted = run.finish().shifted
    assert shifted.draws == 3 and len(shifted.starts) == 3 and 0 < shifted.mse < 2
    on_disk = json.loads((run.folder / "metrics.json").read_text())
    assert on_disk["shifted"]["mse"] == shifted.mse
    off = Run.start(small_config(tmp_path, "training.num_epochs=1", "evaluation.shifted_starts=0"))
    list(off.epochs())
    assert off.finish().shifted is None


def test_start_time_zero_keeps_the_users_data_and_random_starts_train_and_validation_elsewhere(tmp_path):
    from engine.signals.dataset import load_splits, start_of, training_draw

    config = small_config(tmp_path)
    zero = load_splits(config, tmp_path / "data")
    for got, seed in (
        (zero.train, config.data.train_seed),
        (zero.test, config.data.test_seed),
        (zero.validation, config.data.validation_seed),
    ):
        expected = generate(config.data, seed)
        assert np.array_equal(got.mixture, expected.mixture) and np.array_equal(got.t, expected.t)  # bit-identical to before
    assert np.array_equal(training_draw(config.data, 3).t, zero.train.t)
    moved = apply_overrides(config, ["data.start_time=random"])
    splits = load_splits(moved, tmp_path / "data")
    assert splits.test.t[0] == 0.0 and np.array_equal(splits.test.mixture, zero.test.mixture)  # the spec's test stays
    assert 0 < splits.train.t[0] < 1 and 0 < splits.validation.t[0] < 1 and splits.train.t[0] != splits.validation.t[0]
    starts = {training_draw(moved.data, epoch).t[0] for epoch in range(4)}
    assert len(starts) == 4 and start_of(moved.data, 7) == start_of(moved.data, 7)  # fresh per draw, reproducible per seed


def test_a_run_with_random_starts_trains_and_reports_its_extraction(tmp_path):
    run = Run.start(small_config(tmp_path, "data.start_time=random", "training.training_noise=fresh", "training.num_epochs=2"))
    reports = list(run.epochs())
    metrics = run.finish()
    assert len(reports) == 2 and metrics.status == "completed" and metrics.shifted.draws == 8


def test_with_random_starts_each_streams_segment_is_a_recording_of_its_own(tmp_path):
    from engine.signals.dataset import load_splits, training_draw
    from engine.training.streams import segment_sequences
    from engine.training.trainer import Session

    config = small_config(tmp_path, "data.start_time=random", "training.mode=streams", "training.segments=4")
    whole = training_draw(config.data, 2)
    pieces = training_draw(config.data, 2, segments=4)
    assert np.array_equal(pieces.mixture - pieces.components.sum(axis=0) / 4, np.zeros(pieces.n_samples))  # the same law
    length = pieces.n_samples // 4
    firsts = pieces.t[::length][:4]
    assert len(set(firsts.tolist())) == 4 and all(0 <= t0 < 1 for t0 in firsts)
    for j, t0 in enumerate(firsts):  # within a piece, time runs on one sample at a time
        piece = slice(j * length, (j + 1) * length)
        assert np.allclose(pieces.t[piece], t0 + np.arange(length) / config.data.sampling_rate)
        assert np.allclose(pieces.targets[:, piece], np.sin(2 * np.pi * np.outer(config.data.frequencies, pieces.t[piece])))
    assert np.array_equal(whole.t, training_draw(config.data, 2, segments=1).t)  # one segment: one start, as before
    assert np.array_equal(training_draw(config.data, 2, segments=4).t, pieces.t)  # reproducible per draw

    fresh = apply_overrides(config, ["training.training_noise=fresh"])
    session = Session(fresh, load_splits(fresh), torch.device("cpu"))  # what the first epoch trains on
    first_inputs, _ = training_draw(config.data, 0, segments=4).rows()
    assert np.array_equal(session.inputs.numpy(), first_inputs)
    x, _ = segment_sequences(session.inputs, session.targets, 4, 4)
    assert x.shape[:2] == (16, length)
    splits = load_splits(config)
    fixed = Session(config, splits, torch.device("cpu"))  # one fixed draw: trained exactly as it is scored
    assert np.array_equal(fixed.inputs.numpy(), splits.train.rows()[0])


def test_with_random_starts_the_memorisation_check_scores_unseen_draws_that_start_as_the_train_set_does(monkeypatch):
    from engine.signals.dataset import start_of
    from engine.training.evaluation import memorisation, unseen_seeds

    seen: list[float] = []

    def record(model, sets, mode, batch_size):
        seen.extend(float(signals.t[0]) for signals in sets)
        return [np.zeros_like(signals.targets) for signals in sets]

    monkeypatch.setattr(evaluation, "predict_sets", record)
    train = SetMetrics(0.5, (0.5,) * 4)
    for law in ("zero", "random"):
        data = apply_overrides(Config(), ["data.sampling_rate=100", "data.duration=2", f"data.start_time={law}"]).data
        seen.clear()
        memorisation(None, data, train, 3, "streams", 32)
        assert seen == [start_of(data, seed) for seed in unseen_seeds(data, 3)]  # a like-for-like comparison with the train draw
        assert (law == "random") == all(t0 > 0 for t0 in seen)


def test_the_estimator_s_score_is_remembered_by_content_so_a_sweep_s_trials_pay_once(monkeypatch):
    import engine.signals.known_model as known_model

    data = apply_overrides(Config(), ["data.sampling_rate=100", "data.duration=2"]).data
    calls = []
    real = known_model.known_model_estimate
    monkeypatch.setattr(known_model, "known_model_estimate", lambda s, d: calls.append(1) or real(s, d))
    monkeypatch.setattr(known_model, "_MSE_BY_CONTENT", {})
    signals = generate(data, 11, 0.3)
    first = known_model.known_model_mse(signals, data)
    assert first == pytest.approx(((real(signals, data) - signals.targets) ** 2).mean(axis=1))
    first[:] = 9.0  # a caller's change never reaches the remembered score
    again = known_model.known_model_mse(generate(data, 11, 0.3), data)  # the same draw, made again
    assert len(calls) == 1 and again.max() < 1.0
    known_model.known_model_mse(generate(data, 12, 0.3), data)  # another draw
    known_model.known_model_mse(signals, apply_overrides(Config(), ["data.sampling_rate=100", "data.duration=2", "data.amp_max=1.5"]).data)
    assert len(calls) == 3  # another draw, or another noise law, is computed afresh
