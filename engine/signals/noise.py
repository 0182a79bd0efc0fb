"""How much noise a mixture carries near each frequency, measured without any model: the part of the
noise an estimator that reads the mixture lets through, whatever it learned."""

from __future__ import annotations

import numpy as np

from engine.config.schema import DataConfig
from engine.signals.dataset import generate


def band_noise_power(data: DataConfig, seed: int, half_width_hz: float = 2.0) -> np.ndarray:
    """Power of S's noise (S minus its expectation) within half_width_hz of each frequency."""
    signals = generate(data, seed)
    half_span = data.phase_multiplier * np.pi
    omega_t = 2.0 * np.pi * np.outer(signals.frequencies, signals.t)
    # E[A sin(wt + phi)] for A ~ U(amp_min, amp_max), phi ~ U(0, 2 half_span)
    mean_amplitude = (data.amp_min + data.amp_max) / 2
    expected = mean_amplitude * np.sinc(half_span / np.pi) * np.sin(omega_t + half_span)
    power = np.abs(np.fft.rfft(signals.mixture - expected.mean(axis=0))) ** 2
    bins = np.fft.rfftfreq(signals.n_samples, 1.0 / data.sampling_rate)
    return np.array([power[np.abs(bins - f) <= half_width_hz].sum() for f in signals.frequencies])
