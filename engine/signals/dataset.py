"""Data sets: a noisy mixture S of N sines and N clean targets, in N*n rows."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from engine.config.schema import Config, DataConfig, samples_per_block
from engine.storage.files import atomic_write, atomic_write_bytes

CACHE_FORMAT = 2


@dataclass(frozen=True)
class SignalSet:
    """One data set: time axis, the noisy mixture and the clean target of each frequency."""

    frequencies: tuple[float, ...]
    t: np.ndarray  # (n,) seconds, t_k = k / fs
    mixture: np.ndarray  # (n,) S(t_k)
    targets: np.ndarray  # (N, n) sin(2 pi f_i t_k)
    components: np.ndarray  # (N, n) A_i(t_k) sin(2 pi f_i t_k + phi_i(t_k)): the noisy parts of S

    @property
    def n_frequencies(self) -> int:
        return len(self.frequencies)

    @property
    def n_samples(self) -> int:
        return self.t.shape[0]

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The N*n rows: inputs [S, one-hot C] (float32, block i selects frequency i) and targets."""
        n_freq, n = self.n_frequencies, self.n_samples
        inputs = np.zeros((n_freq * n, 1 + n_freq), dtype=np.float32)
        inputs[:, 0] = np.tile(self.mixture, n_freq)
        for i in range(n_freq):
            inputs[i * n : (i + 1) * n, 1 + i] = 1.0
        return inputs, self.targets.reshape(-1).astype(np.float32)


def generate(data: DataConfig, seed: int, start: float | np.ndarray = 0.0) -> SignalSet:
    """Draw a fresh amplitude and phase at every sample for every frequency (never once per signal);
    ``start``: the moment the recording starts (the train, validation and test sets start at t = 0), or one offset
    per sample for a set cut into pieces recorded at different moments."""
    freqs = np.asarray(data.frequencies, dtype=np.float64)
    n = samples_per_block(data.sampling_rate, data.duration)
    t = np.arange(n, dtype=np.float64) / data.sampling_rate
    if np.any(start):
        t = t + start
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(data.amp_min, data.amp_max, size=(n, freqs.size))
    phase = rng.uniform(0.0, data.phase_multiplier * 2.0 * np.pi, size=(n, freqs.size))
    omega_t = 2.0 * np.pi * t[:, None] * freqs[None, :]
    components = np.ascontiguousarray((amplitude * np.sin(omega_t + phase)).T)
    mixture = components.sum(axis=0) / freqs.size
    targets = np.ascontiguousarray(np.sin(omega_t).T)
    return SignalSet(tuple(float(f) for f in freqs), t, mixture, targets, components)


def start_of(data: DataConfig, seed: int) -> float:
    """When the draw of noise seed ``seed`` starts recording: 0, or with start_time random a moment
    drawn from the seed (uniform over the common period), so every draw starts elsewhere."""
    if data.start_time == "zero":
        return 0.0
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x73746172]))  # a stream of its own ("star")
    return float(rng.uniform(0.0, common_period(data.frequencies)))


def common_period(frequencies: list[float], longest: float = 100.0) -> float:
    """The shortest time after which every frequency's sine repeats (1 s for 1, 3, 5 and 7 Hz); for
    frequencies with no common period under ``longest`` seconds, the slowest one's period."""
    periods = [Fraction(1.0 / f).limit_denominator(10_000) for f in frequencies]
    common = periods[0]
    for period in periods[1:]:
        common = Fraction(
            math.lcm(common.numerator * period.denominator, period.numerator * common.denominator), common.denominator * period.denominator
        )
    return float(common) if 0 < float(common) <= longest else 1.0 / min(frequencies)


def shifted_draws(data: DataConfig, count: int) -> list[tuple[int, float]]:
    """``count`` (noise seed, start) pairs derived from test_seed: starts uniform over the common period."""
    taken = {data.train_seed, data.test_seed, data.validation_seed}
    rng = np.random.default_rng(np.random.SeedSequence([data.test_seed, 0x73686966]))  # a stream of its own ("shif")
    period = common_period(data.frequencies)
    draws: list[tuple[int, float]] = []
    while len(draws) < count:
        seed = int(rng.integers(0, 2**32))
        if seed not in taken:
            taken.add(seed)
            draws.append((seed, float(rng.uniform(0.0, period))))
    return draws


def training_draw(data: DataConfig, epoch: int, segments: int = 1) -> SignalSet:
    """The training set of epoch ``epoch`` (from 0) under fresh noise: epoch 0 is the train_seed set;
    with start_time random each draw also starts at its own moment, and each of ``segments``
    pieces (streams mode) at a moment of its own."""
    seed = data.train_seed if epoch == 0 else int(np.random.SeedSequence([data.train_seed, epoch]).generate_state(1)[0])
    if segments <= 1 or data.start_time == "zero":
        return generate(data, seed, start_of(data, seed))
    return generate(data, seed, segment_starts(data, seed, segments))


def draws_anew(config: Config) -> bool:
    """Whether training draws a new noise set every epoch (fresh noise, streams traversal); else it
    trains on the train set itself, the one its train MSE and memorisation check score."""
    return config.training.mode == "streams" and config.training.training_noise == "fresh"


def first_training_set(config: Config) -> SignalSet:
    """The set a run trains on first, starting where ``data.start_time`` says: what a preview shows."""
    d = config.data
    if draws_anew(config):
        return training_draw(d, 0, config.training.segments)
    return generate(d, d.train_seed, start_of(d, d.train_seed))


def segment_starts(data: DataConfig, seed: int, segments: int) -> np.ndarray:
    """Per-sample time offsets that make each of ``segments`` contiguous pieces a recording that
    starts at its own random moment, drawn from the seed (the n % segments tail, which training
    drops, continues the last piece)."""
    n = samples_per_block(data.sampling_rate, data.duration)
    length = n // segments
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7365676D]))  # a stream of its own ("segm")
    starts = rng.uniform(0.0, common_period(data.frequencies), size=segments)
    piece = np.minimum(np.arange(n) // length, segments - 1)
    return starts[piece] - piece * length / data.sampling_rate


def cache_key(data: DataConfig, seed: int, start: float = 0.0) -> str:
    """A digest of every setting the data depends on, so a changed setting never reuses a stale file."""
    spec = {
        "format": CACHE_FORMAT,
        "frequencies": [float(f) for f in data.frequencies],
        "sampling_rate": data.sampling_rate,
        "duration": float(data.duration),
        "seed": seed,
        "phase_multiplier": float(data.phase_multiplier),
        "amp": [float(data.amp_min), float(data.amp_max)],
        **({"start": start} if start else {}),  # sets that start at 0 keep the keys they always had
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def load_or_generate(data: DataConfig, seed: int, data_dir: Path | None = None, start: float = 0.0) -> SignalSet:
    """Generate a set (recording from ``start``), reusing the cached copy in ``data_dir`` when its key matches."""
    if data_dir is None:
        return generate(data, seed, start)
    path = Path(data_dir) / f"signals-{cache_key(data, seed, start)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return SignalSet(tuple(z["frequencies"].tolist()), z["t"], z["mixture"], z["targets"], z["components"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is regenerated below
    signals = generate(data, seed, start)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        frequencies=np.asarray(signals.frequencies),
        t=signals.t,
        mixture=signals.mixture,
        targets=signals.targets,
        components=signals.components,
    )
    with contextlib.suppress(OSError):  # the cache is an optimisation; an unwritable data_dir must not stop a run
        atomic_write_bytes(path, buffer.getvalue())
    return signals


@dataclass(frozen=True)
class Splits:
    """The three sets of an experiment; validation has its own noise seed and never the test's."""

    train: SignalSet
    test: SignalSet
    validation: SignalSet


def load_splits(config: Config, data_dir: Path | None = None) -> Splits:
    d = config.data
    return Splits(
        load_or_generate(d, d.train_seed, data_dir, start_of(d, d.train_seed)),
        load_or_generate(d, d.test_seed, data_dir),  # the test set: always from t = 0
        load_or_generate(d, d.validation_seed, data_dir, start_of(d, d.validation_seed)),  # selection rewards extraction
    )


def is_exported_table(path: Path) -> bool:
    """True when ``path`` holds a table this workbench wrote (so replacing it loses nothing else)."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return False
    return first.startswith("t,S,C1,") and first.endswith(",target")


def export_csv(signals: SignalSet, path: Path) -> None:
    """The course's table: one row per (frequency, sample) with t, S, C1..CN and the target."""
    inputs, outputs = signals.rows()
    t = np.tile(signals.t, signals.n_frequencies)
    table = np.column_stack([t, inputs, outputs])
    header = ",".join(["t", "S", *[f"C{i + 1}" for i in range(signals.n_frequencies)], "target"])
    fmt = ["%.9g", "%.7f", *["%d"] * signals.n_frequencies, "%.7f"]

    def write(handle) -> None:
        np.savetxt(handle, table, delimiter=",", header=header, comments="", fmt=fmt)

    atomic_write(path, write)
