"""The known-model reference: what an estimator that knows the signal model extracts from S, causally.

It knows the frequencies, the noise law (amplitude and phase drawn per sample) and that every
component shares one start t0, uniform over the frequencies' common period; it does not know t0.
At each sample it weighs every candidate t0 by the likelihood of S so far (a one-dimensional
search on a grid, Gaussian noise of the law's variance) and outputs the posterior mean of each
target. Once the posterior is narrower than the grid, Newton steps refine its peak and a Laplace
approximation gives the mean. It uses only the past of S, as an L=1 model does.

Where the common period holds too many periods of the fastest frequency for a fine enough grid
(more than GRID_LIMIT / GRID_PER_PERIOD), it falls back to fitting a free sine and cosine per
frequency, which needs no start at all but locks on more slowly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config.schema import DataConfig
from engine.signals.dataset import SignalSet, common_period
from engine.storage.files import atomic_write_bytes

GRID_PER_PERIOD = 32  # grid points per period of the fastest frequency: the likelihood's finest ripple
GRID_LIMIT = 16384  # past this the free fit takes over: a coarser grid misses the peak, a finer one is slow
NEWTON_STEPS = 3
PEAKED = 0.5  # a grid weight above this: the posterior is narrower than the grid


@dataclass(frozen=True)
class NoiseLaw:
    """What S looks like given t0: each component's mean is gain * sin(w (t + t0) + phase)."""

    gain: float  # |E[A exp(i phi)]|
    phase: float  # arg E[exp(i phi)]
    variance: float  # of S around its mean, per sample, averaged over a cycle

    @classmethod
    def of(cls, data: DataConfig, n_freq: int) -> NoiseLaw:
        width = data.phase_multiplier * 2.0 * np.pi
        mean_phasor = 1.0 + 0j if width == 0 else (np.exp(1j * width) - 1.0) / (1j * width)  # phi ~ U(0, width)
        mean_amplitude = 0.5 * (data.amp_min + data.amp_max)
        mean_square = (data.amp_max - data.amp_min) ** 2 / 12 + mean_amplitude**2  # E[A^2]
        gain = mean_amplitude * abs(mean_phasor)
        return cls(gain, float(np.angle(mean_phasor)), max(mean_square - gain**2, 0.0) / (2 * n_freq))


_MSE_BY_CONTENT: dict[bytes, np.ndarray] = {}
_MSE_CACHE_SIZE = 64


def known_model_mse(signals: SignalSet, data: DataConfig, cache_dir: Path | None = None) -> np.ndarray:
    """Per-frequency MSE of the estimator on ``signals``, remembered by content for the process (every
    trial of a sweep scores the same draws, and each costs about 0.15 s, nine a run) and, given
    ``cache_dir``, in a file there, so the next run on the same data pays nothing."""
    key = hashlib.blake2b(digest_size=16)
    for array in (signals.t, signals.mixture, signals.targets):
        key.update(np.ascontiguousarray(array).tobytes())
    key.update(json.dumps(dataclasses.asdict(data), sort_keys=True, default=str).encode())
    digest = key.digest()
    mse = _MSE_BY_CONTENT.get(digest)
    if mse is None:
        path = None if cache_dir is None else Path(cache_dir) / f"known-model-{digest.hex()}.npy"
        mse = _read_mse(path, signals.n_frequencies)
        if mse is None:
            mse = ((known_model_estimate(signals, data) - signals.targets) ** 2).mean(axis=1)
            _write_mse(path, mse)
        if len(_MSE_BY_CONTENT) >= _MSE_CACHE_SIZE:
            _MSE_BY_CONTENT.clear()
        _MSE_BY_CONTENT[digest] = mse
    return mse.copy()


def _read_mse(path: Path | None, n_freq: int) -> np.ndarray | None:
    """A score kept by an earlier run, or None (no file, or one that is damaged or of another shape)."""
    if path is None or not path.exists():
        return None
    try:
        mse = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return mse if mse.shape == (n_freq,) and mse.dtype == np.float64 else None


def _write_mse(path: Path | None, mse: np.ndarray) -> None:
    if path is None:
        return
    buffer = io.BytesIO()
    np.save(buffer, mse)
    with contextlib.suppress(OSError):  # the file is an optimisation; an unwritable folder must not stop a run
        atomic_write_bytes(path, buffer.getvalue())


def known_model_estimate(signals: SignalSet, data: DataConfig) -> np.ndarray:
    """Each target's posterior mean given S up to every sample: (N, n)."""
    omega = 2.0 * np.pi * np.asarray(signals.frequencies, dtype=float)
    n_freq, n = omega.size, signals.n_samples
    law = NoiseLaw.of(data, n_freq)
    if law.gain < 1e-9:  # S carries no trace of the targets' phase: the best guess is zero
        return np.zeros((n_freq, n))
    period = common_period(list(signals.frequencies))
    size = max(64, int(np.ceil(period * omega.max() / (2 * np.pi) * GRID_PER_PERIOD)))
    if size > GRID_LIMIT:
        return _free_fit_estimate(signals, data.sampling_rate, law)
    grid = np.arange(size) * (period / size)
    scale = law.gain / n_freq  # S = (1/N) sum of components
    coef = scale * _mean_coefficients(grid, omega, law.phase)  # (M, 2N): S's mean is basis @ coef
    target = np.concatenate([np.cos(np.outer(grid, omega)), np.sin(np.outer(grid, omega))], axis=1)
    precision = 1.0 / (2.0 * max(law.variance, 1e-12))
    estimate = np.empty((n, n_freq))
    chunk = max(1, 2_000_000 // max(size, 4 * n_freq * n_freq))  # tens of MB at most, whatever the length
    start_gram = np.zeros((2 * n_freq, 2 * n_freq))
    for part, tau, basis, grams, moments in _past_sums(signals.mixture, omega, data.sampling_rate, start_gram, chunk):
        log_like = precision * _fit_terms(grams, moments, coef)
        log_like -= log_like.max(axis=1, keepdims=True)
        weights = np.exp(log_like)
        weights /= weights.sum(axis=1, keepdims=True)
        sums = weights @ target  # (k, 2N): E[cos w t0], E[sin w t0]
        mean = basis[:, :n_freq] * sums[:, :n_freq] + basis[:, n_freq:] * sums[:, n_freq:]  # E[sin w (tau + t0)]
        rows = np.flatnonzero(weights.max(axis=1) > PEAKED)
        if rows.size:
            best = grid[weights[rows].argmax(axis=1)]
            refined, found = _laplace_mean(best, omega, tau[rows], grams[rows], moments[rows], scale, law.phase, precision)
            mean[rows[found]] = refined[found]  # where Newton found no peak, the grid's mean stays
        estimate[part] = mean
    return estimate.T


def _past_sums(
    mixture: np.ndarray, omega: np.ndarray, sampling_rate: float, gram: np.ndarray, chunk: int
) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Chunk by chunk: the samples' slice, their time since the recording began, the basis
    [sin w tau, cos w tau] and, for every sample, the sums over the past up to it (carried from
    chunk to chunk, starting from ``gram``): G = sum basis basis' and m = sum basis S."""
    moment = np.zeros(gram.shape[0])
    for start in range(0, len(mixture), chunk):
        part = slice(start, min(start + chunk, len(mixture)))
        tau = np.arange(part.start, part.stop) / sampling_rate
        basis = np.concatenate([np.sin(np.outer(tau, omega)), np.cos(np.outer(tau, omega))], axis=1)  # (k, 2N)
        grams = gram + np.cumsum(basis[:, :, None] * basis[:, None, :], axis=0)
        moments = moment + np.cumsum(basis * mixture[part, None], axis=0)
        gram, moment = grams[-1], moments[-1]
        yield part, tau, basis, grams, moments


def _fit_terms(grams: np.ndarray, moments: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """2 coef' m - coef' G coef for every past sum and every candidate start, (k, M): minus the
    squared error of S so far, up to a constant. The quadratic term as G.ravel() @ (coef coef').ravel(),
    a block of candidates at a time so memory stays bounded for many frequencies."""
    terms = 2.0 * moments @ coef.T
    flat = grams.reshape(len(grams), -1)
    block = max(1, 4_000_000 // flat.shape[1])
    for start in range(0, len(coef), block):
        part = coef[start : start + block]
        terms[:, start : start + block] -= flat @ np.einsum("mi,mj->mij", part, part).reshape(len(part), -1).T
    return terms


def _mean_coefficients(t0: np.ndarray, omega: np.ndarray, phase: float) -> np.ndarray:
    """sin(w (tau + t0) + phase) = sin(w tau) cos(w t0 + phase) + cos(w tau) sin(w t0 + phase)."""
    angle = np.outer(t0, omega) + phase
    return np.concatenate([np.cos(angle), np.sin(angle)], axis=1)


def _laplace_mean(
    t0: np.ndarray, omega: np.ndarray, tau: np.ndarray, grams: np.ndarray, moments: np.ndarray, scale: float, phase: float, precision: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps from the best grid point to the likelihood's peak; E[sin w (tau + t0)] under the
    Gaussian of the peak's curvature is sin(w (tau + peak)) exp(-w^2 var / 2). Also which rows
    ended on a peak (negative second derivative)."""
    limit = 1.0 / (omega.max() * 4)  # a quarter radian of the fastest sine per step
    for step in range(NEWTON_STEPS + 1):
        angle = np.outer(t0, omega) + phase
        value = scale * _mean_coefficients(t0, omega, phase)
        slope = scale * np.concatenate([-np.sin(angle), np.cos(angle)], axis=1) * np.tile(omega, 2)
        residual = moments - np.einsum("kij,kj->ki", grams, value)
        first = 2.0 * np.einsum("ki,ki->k", slope, residual)
        second = 2.0 * (np.einsum("ki,ki->k", -value * np.tile(omega**2, 2), residual) - np.einsum("ki,kij,kj->k", slope, grams, slope))
        peak = second < 0
        if step < NEWTON_STEPS:
            t0 = t0 + np.clip(np.where(peak, -first / np.where(peak, second, -1.0), 0.0), -limit, limit)
    variance = np.where(peak, -1.0 / (precision * np.where(peak, second, -1.0)), 0.0)
    mean = np.sin(omega[None, :] * (tau[:, None] + t0[:, None])) * np.exp(-0.5 * omega[None, :] ** 2 * variance[:, None])
    return mean, peak


def _free_fit_estimate(signals: SignalSet, sampling_rate: float, law: NoiseLaw, chunk: int = 2048) -> np.ndarray:
    """At every sample the Bayesian least-squares fit of a sine and cosine per frequency to S so far
    (prior: components of the law's gain in any phase), mapped to the unit target through the
    law's gain and phase: no start needed, so no grid. (N, n)."""
    omega = 2.0 * np.pi * np.asarray(signals.frequencies, dtype=float)
    n_freq, n = omega.size, signals.n_samples
    ridge = max(2 * n_freq * n_freq * law.variance / law.gain**2, 1e-9)  # noise variance of S over the prior's
    estimate = np.empty((n_freq, n))
    for part, tau, _, grams, moments in _past_sums(signals.mixture, omega, sampling_rate, ridge * np.eye(2 * n_freq), chunk):
        coef = np.linalg.solve(grams, moments[:, :, None])[:, :, 0]
        radius, angle = np.hypot(coef[:, :n_freq], coef[:, n_freq:]), np.arctan2(coef[:, n_freq:], coef[:, :n_freq])
        estimate[:, part] = (n_freq / law.gain * radius * np.sin(np.outer(tau, omega) + angle - law.phase)).T
    return estimate
