"""The figures' numerics, checked apart from Qt."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.numerics import ema, error_histogram, moving_mean, spectrum, spectrum_range


def test_a_unit_sine_shows_a_peak_of_one_at_its_frequency():
    rate, f = 100.0, 7.0
    t = np.arange(1000) / rate
    freqs, magnitude = spectrum(np.sin(2 * np.pi * f * t), rate)
    assert freqs[np.argmax(magnitude)] == pytest.approx(f) and magnitude.max() == pytest.approx(1.0, rel=1e-6)
    assert spectrum_range(freqs, [1.0, 7.0]).sum() == np.sum(freqs <= 15.0)


def test_ema_is_debiased_and_leaves_gaps():
    assert ema(np.array([2.0, 2.0, 2.0]), 0.9).tolist() == pytest.approx([2.0, 2.0, 2.0])  # no pull toward zero
    assert ema(np.array([1.0, 3.0]), 0.0).tolist() == [1.0, 3.0]
    smoothed = ema(np.array([1.0, np.nan, 3.0]), 0.5)
    assert np.isnan(smoothed[1]) and 1.0 < smoothed[2] < 3.0


def test_error_histogram_is_a_symmetric_density():
    errors = np.random.default_rng(0).normal(0.0, 0.1, 10_000)
    edges, density = error_histogram(errors, bins=40)
    assert edges[0] == -edges[-1] and edges.size == 41
    assert np.sum(density * np.diff(edges)) == pytest.approx(1.0)
    assert abs(np.argmax(density) - 19.5) <= 3  # the peak sits near zero
    edges, density = error_histogram(np.zeros(5))
    assert np.isfinite(edges).all() and np.isfinite(density).all()


def test_moving_mean_is_causal_and_exact():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    assert moving_mean(values, 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert moving_mean(values, 1).tolist() == values.tolist()
