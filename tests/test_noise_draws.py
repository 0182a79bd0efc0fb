"""The model-free noise check (engine.signals.noise): it must measure noise, not the signal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.signals.dataset import generate
from engine.signals.noise import band_noise_power
from tests.conftest import small_config


def test_band_noise_power_is_zero_without_noise(tmp_path):
    data = replace(small_config(tmp_path).data, amp_min=1.0, amp_max=1.0, phase_multiplier=0.0)
    assert np.all(band_noise_power(data, seed=1) < 1e-20)


def test_band_noise_power_removes_the_mean_phase_offset_of_the_jitter(tmp_path):
    """Phase jitter in [0, 3.6 deg] shifts every component by 1.8 deg on average; that shift is
    the same in every draw, so it is signal, not noise, and must not count as band power."""
    data = replace(small_config(tmp_path).data, amp_min=1.0, amp_max=1.0, phase_multiplier=0.01)
    signals = generate(data, seed=1)
    naive = np.abs(np.fft.rfft(signals.mixture - signals.targets.mean(axis=0))) ** 2
    bins = np.fft.rfftfreq(signals.n_samples, 1.0 / data.sampling_rate)
    naive_band = np.array([naive[np.abs(bins - f) <= 2.0].sum() for f in signals.frequencies])
    assert np.all(band_noise_power(data, seed=1) < naive_band / 5)


def test_band_noise_power_differs_between_draws(tmp_path):
    data = small_config(tmp_path).data
    first, second = band_noise_power(data, seed=1), band_noise_power(data, seed=2)
    assert np.all(first > 0) and not np.allclose(first, second)
