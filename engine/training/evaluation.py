"""Evaluation, the same protocol for every run: frozen weights, the mode's own traversal, MSE and the gap."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config.schema import DataConfig, samples_per_block
from engine.signals.dataset import SignalSet, generate, shifted_draws, start_of
from engine.signals.known_model import known_model_mse
from engine.training.model import FrequencyLSTM

MEMORISED_Z = -2.0
PASS_BYTES = 64 * 2**20  # input rows of the sets run side by side in one pass; more sets take more passes
WINDOW_VALUES = 2**22  # LSTM outputs held at once (16 MB): the steps run in windows of this size, state carried


def predict(model: FrequencyLSTM, signals: SignalSet, mode: str, batch_size: int) -> np.ndarray:
    """Model output for every row, shape (N, n), traversing the set the way ``mode`` trains."""
    return predict_sets(model, [signals], mode, batch_size)[0]


def sets_per_pass(n_frequencies: int, n_samples: int) -> int:
    """How many sets of this shape one pass of ``predict_sets`` runs side by side (at least one)."""
    return max(1, PASS_BYTES // (n_frequencies * n_samples * (1 + n_frequencies) * 4))


@torch.no_grad()
def predict_sets(model: FrequencyLSTM, sets: list[SignalSet], mode: str, batch_size: int) -> list[np.ndarray]:
    """``predict`` for several sets of one shape at once: their sequences are independent, so they
    run side by side as more rows of one LSTM call, whose step is one larger matrix product that
    more cores share; memory stays bounded by PASS_BYTES per pass and WINDOW_VALUES per call."""
    was_training = model.training
    model.eval()
    per_pass = sets_per_pass(sets[0].n_frequencies, sets[0].n_samples)
    outputs = [out for k in range(0, len(sets), per_pass) for out in _predict_pass(model, sets[k : k + per_pass], mode, batch_size)]
    model.train(was_training)
    return outputs


def _predict_pass(model: FrequencyLSTM, sets: list[SignalSet], mode: str, batch_size: int) -> list[np.ndarray]:
    device = model.head.weight.device
    n_freq, n = sets[0].n_frequencies, sets[0].n_samples
    x = torch.stack([torch.from_numpy(s.rows()[0]) for s in sets]).to(device)  # (sets, N*n, I)
    if mode == "streams":
        result = _run(model, x.view(len(sets) * n_freq, n, -1)).reshape(len(sets), n_freq, n)
    else:
        result = _predict_interleaved(model, x, batch_size).reshape(len(sets), n_freq, n)
    return list(result.cpu().numpy().astype(np.float64))


def _run(model: FrequencyLSTM, sequences: torch.Tensor) -> torch.Tensor:
    """The model over (batch, steps, I) from zero state, (batch, steps) out: one call's numbers, in
    windows of steps with the state carried, so the cell's (batch, steps, hidden) never exists whole.
    A bidirectional model reads the windows it was trained on (its lookahead), each both ways."""
    batch, steps = sequences.shape[:2]
    window = (model.lookahead or steps) if model.rnn.bidirectional else max(1, WINDOW_VALUES // (batch * model.step_values))
    state = model.zero_state(batch)
    parts = []
    for start in range(0, steps, window):
        out, state = model(sequences[:, start : start + window], state)
        state = model.carried(state)
        parts.append(out)
    return torch.cat(parts, dim=1)


def _predict_interleaved(model: FrequencyLSTM, x: torch.Tensor, batch: int) -> torch.Tensor:
    """Batch position j sees rows j, j+B, j+2B...: B sequences per set, all run as one LSTM call."""
    sets, rows = x.shape[0], x.shape[1]
    full = rows // batch
    parts = []
    if full:
        sequences = x[:, : full * batch].reshape(sets, full, batch, -1).transpose(1, 2).reshape(sets * batch, full, -1)
        parts.append(_run(model, sequences).reshape(sets, batch, full).transpose(1, 2).reshape(sets, -1))
    if rows > full * batch:  # a last batch of another size starts from zeros
        tail = x[:, full * batch :].reshape(-1, 1, x.shape[2])
        parts.append(_run(model, tail).reshape(sets, -1))
    return torch.cat(parts, dim=1)


def predicted_draws(
    model: FrequencyLSTM, data: DataConfig, draws: list[tuple[int, float]], mode: str, batch_size: int
) -> Iterator[tuple[SignalSet, np.ndarray]]:
    """Each (noise seed, start) draw with the model's outputs on it: as many draws per LSTM pass as
    fit PASS_BYTES, each pass's draws made just before it, so memory stays that of one pass."""
    per_pass = sets_per_pass(len(data.frequencies), samples_per_block(data.sampling_rate, data.duration))
    for k in range(0, len(draws), per_pass):
        sets = [generate(data, seed, start) for seed, start in draws[k : k + per_pass]]
        yield from zip(sets, predict_sets(model, sets, mode, batch_size), strict=True)


@dataclass(frozen=True)
class SetMetrics:
    mse: float
    per_frequency: tuple[float, ...]

    @classmethod
    def of(cls, predictions: np.ndarray, targets: np.ndarray) -> SetMetrics:
        squared = (predictions - targets) ** 2
        return cls(float(squared.mean()), tuple(float(v) for v in squared.mean(axis=1)))

    def to_dict(self, frequencies: tuple[float, ...]) -> dict:
        return {
            "mse": self.mse,
            "per_frequency": [{"frequency_hz": f, "mse": m} for f, m in zip(frequencies, self.per_frequency, strict=True)],
        }


def relative_gap(train: float, test: float) -> float:
    """|test - train| / train; infinite when train is zero and test is not."""
    if train == 0:
        return 0.0 if test == 0 else float("inf")
    return abs(test - train) / train


@dataclass(frozen=True)
class Evaluation:
    """Train and test metrics, the generalization gap overall and per frequency, and pass/fail."""

    frequencies: tuple[float, ...]
    train: SetMetrics
    test: SetMetrics
    threshold: float
    test_predictions: np.ndarray
    train_predictions: np.ndarray

    @property
    def gap(self) -> float:
        return relative_gap(self.train.mse, self.test.mse)

    @property
    def gap_per_frequency(self) -> tuple[float, ...]:
        return tuple(relative_gap(a, b) for a, b in zip(self.train.per_frequency, self.test.per_frequency, strict=True))

    @property
    def passed(self) -> bool:
        return self.gap < self.threshold and all(g < self.threshold for g in self.gap_per_frequency)

    def to_dict(self) -> dict:
        return {
            "train": self.train.to_dict(self.frequencies),
            "test": self.test.to_dict(self.frequencies),
            "generalization_gap": self.gap,
            "generalization_gap_per_frequency": [
                {"frequency_hz": f, "gap": g} for f, g in zip(self.frequencies, self.gap_per_frequency, strict=True)
            ],
            "generalization_threshold": self.threshold,
            "generalization_pass": self.passed,
        }


def evaluate(
    model: FrequencyLSTM,
    train: SignalSet,
    test: SignalSet,
    mode: str,
    batch_size: int,
    threshold: float,
    test_predictions: np.ndarray | None = None,
) -> Evaluation:
    """Both sets through the mode's traversal with frozen weights; ``test_predictions``: these
    weights' outputs on ``test``, already computed when their epoch was scored."""
    if test_predictions is None:
        train_pred, test_pred = predict_sets(model, [train, test], mode, batch_size)
    else:
        (train_pred,), test_pred = predict_sets(model, [train], mode, batch_size), test_predictions
    return Evaluation(
        train.frequencies,
        SetMetrics.of(train_pred, train.targets),
        SetMetrics.of(test_pred, test.targets),
        threshold,
        test_pred,
        train_pred,
    )


def quality_references(signals: SignalSet, data: DataConfig, cache_dir: Path | None = None) -> dict:
    """The two levels every MSE is shown against: a model that outputs zeros (the mean target power,
    0.5 for unit sines: trivial) and the known-model estimator (near the limit for a model that
    extracts the sines from S; one that replays the t=0 curve can go below it). ``cache_dir``: where
    the estimator's score is kept for the next run on the same data."""
    zero = (signals.targets**2).mean(axis=1)
    known = known_model_mse(signals, data, cache_dir)
    rows = zip(signals.frequencies, zero, known, strict=True)
    return {
        "zero_output_mse": float(zero.mean()),
        "known_model_mse": float(known.mean()),
        "per_frequency": [{"frequency_hz": f, "zero_output_mse": float(z), "known_model_mse": float(k)} for f, z, k in rows],
    }


def unseen_seeds(data: DataConfig, count: int) -> list[int]:
    """``count`` noise seeds derived from test_seed, never the train, validation or test seed."""
    taken = {data.train_seed, data.test_seed, data.validation_seed}
    seeds: list[int] = []
    sequence = np.random.SeedSequence([data.test_seed, 0x6E6F7365])  # a stream of its own ("nose")
    while len(seeds) < count:
        for seed in sequence.generate_state(count, dtype=np.uint32).tolist():
            if seed not in taken and len(seeds) < count:
                taken.add(seed)
                seeds.append(int(seed))
        sequence = sequence.spawn(1)[0]
    return seeds


@dataclass(frozen=True)
class Memorisation:
    """The train MSE against the spread of MSEs on unseen draws: z < -2 means a draw learned by heart."""

    frequencies: tuple[float, ...]
    train: tuple[float, ...]
    unseen: np.ndarray  # (draws, N) MSE per unseen draw and frequency

    @property
    def z(self) -> tuple[float, ...]:
        mean, std = self._spread()
        return tuple(float((t - m) / s) if s > 0 else 0.0 for t, m, s in zip(self.train, mean, std, strict=True))

    @property
    def memorised(self) -> bool:
        return any(z < MEMORISED_Z for z in self.z)

    def _spread(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sample standard deviation of the unseen draws' MSE, per frequency."""
        return self.unseen.mean(axis=0), self.unseen.std(axis=0, ddof=1)

    def to_dict(self) -> dict:
        (mean, std), z = self._spread(), self.z
        rows = zip(self.frequencies, self.train, mean, std, z, strict=True)
        return {
            "draws": int(self.unseen.shape[0]),
            "memorised": any(score < MEMORISED_Z for score in z),
            "per_frequency": [
                {"frequency_hz": f, "train_mse": t, "unseen_mean": float(m), "unseen_std": float(s), "z": z, "memorised": z < MEMORISED_Z}
                for f, t, m, s, z in rows
            ],
        }


@dataclass(frozen=True)
class Extraction:
    """The weights scored on test draws that start at random moments: what they extract, not replay."""

    frequencies: tuple[float, ...]
    starts: tuple[float, ...]
    mse: np.ndarray  # (draws, N)
    known: np.ndarray  # (draws, N) the known-model estimator on the same draws

    def to_dict(self) -> dict:
        per, known = self.mse.mean(axis=0), self.known.mean(axis=0)
        return {
            "draws": len(self.starts),
            "starts": list(self.starts),
            "mse": float(per.mean()),
            "mse_per_draw": [float(row.mean()) for row in self.mse],
            "known_model_mse": float(known.mean()),
            "known_model_mse_per_draw": [float(row.mean()) for row in self.known],
            "per_frequency": [
                {"frequency_hz": f, "mse": float(m), "known_model_mse": float(k)}
                for f, m, k in zip(self.frequencies, per, known, strict=True)
            ],
        }


def extraction(
    model: FrequencyLSTM, data: DataConfig, count: int, mode: str, batch_size: int, cache_dir: Path | None = None
) -> Extraction | None:
    """Score the frozen weights (and the known-model estimator, kept in ``cache_dir`` for the next
    run on the same data) on ``count`` shifted-start test draws."""
    if count <= 0:
        return None
    draws = shifted_draws(data, count)
    rows, known = [], []
    for signals, outputs in predicted_draws(model, data, draws, mode, batch_size):
        rows.append(SetMetrics.of(outputs, signals.targets).per_frequency)
        known.append(known_model_mse(signals, data, cache_dir))
    starts = tuple(start for _, start in draws)
    return Extraction(tuple(float(f) for f in data.frequencies), starts, np.array(rows), np.array(known))


def memorisation(model: FrequencyLSTM, data: DataConfig, train: SetMetrics, count: int, mode: str, batch_size: int) -> Memorisation:
    """Score the frozen weights on ``count`` unseen draws that start as the train set does (at t = 0,
    or with start_time random each at its own moment), so the train draw is compared like for like."""
    draws = [(seed, start_of(data, seed)) for seed in unseen_seeds(data, count)]
    rows = [
        SetMetrics.of(outputs, signals.targets).per_frequency for signals, outputs in predicted_draws(model, data, draws, mode, batch_size)
    ]
    return Memorisation(tuple(float(f) for f in data.frequencies), train.per_frequency, np.array(rows))
