"""The figures' numerics, checked apart from Qt."""

from __future__ import annotations

import numpy as np
import pytest

from engine.numerics import ema, spectrum, spectrum_range


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
