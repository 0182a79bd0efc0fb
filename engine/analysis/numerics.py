"""Pure numerics behind the figures, apart from Qt: display smoothing and the spectrum of a signal."""

from __future__ import annotations

import numpy as np


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average (display smoothing only)."""
    out = np.empty_like(values, dtype=float)
    last, count = 0.0, 0
    for k, v in enumerate(values):
        if not np.isfinite(v):
            out[k] = np.nan
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out[k] = last / (1 - weight**count)
    return out


def spectrum(signal: np.ndarray, sampling_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided amplitude spectrum: a unit sine shows a peak of height 1 at its frequency."""
    signal = np.asarray(signal, dtype=float)
    n = signal.size
    magnitude = np.abs(np.fft.rfft(signal)) * 2.0 / max(n, 1)
    return np.fft.rfftfreq(n, d=1.0 / sampling_rate), magnitude


def spectrum_range(freqs: np.ndarray, frequencies: list[float]) -> np.ndarray:
    """The part of a spectrum worth showing: up to twice the highest mixed frequency, plus 1 Hz."""
    return freqs <= max(2.0 * max(frequencies), 1.0) + 1.0


def error_histogram(errors: np.ndarray, bins: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Density histogram of output - target, symmetric about zero: (bin edges, densities)."""
    errors = np.asarray(errors, dtype=float)
    errors = errors[np.isfinite(errors)]
    reach = float(np.max(np.abs(errors))) if errors.size else 1.0
    edges = np.linspace(-reach, reach, bins + 1) if reach > 0 else np.linspace(-1.0, 1.0, bins + 1)
    density, _ = np.histogram(errors, bins=edges, density=errors.size > 0)
    return edges, density.astype(float)


def moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """The causal moving mean over the last ``window`` samples (fewer at the start): a readable trend."""
    values = np.asarray(values, dtype=float)
    window = max(1, int(window))
    total = np.cumsum(np.concatenate([[0.0], values]))
    counts = np.minimum(np.arange(1, values.size + 1), window)
    return (total[1:] - total[np.maximum(np.arange(1, values.size + 1) - window, 0)]) / counts
