"""Evaluation per spec section 3: frozen weights, the mode's own traversal, MSE and the gap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.data import SignalSet
from engine.model import FrequencyLSTM


@torch.no_grad()
def predict(model: FrequencyLSTM, signals: SignalSet, mode: str, batch_size: int) -> np.ndarray:
    """Model output for every row, shape (N, n), traversing the set the way ``mode`` trains."""
    was_training = model.training
    model.eval()
    device = model.head.weight.device
    inputs, _ = signals.rows()
    x = torch.from_numpy(inputs).to(device)
    n_freq, n = signals.n_frequencies, signals.n_samples
    if mode == "streams":
        sequences = x.view(n_freq, n, -1)
        out, _ = model(sequences, model.zero_state(n_freq))
        result = out
    else:
        result = _predict_interleaved(model, x, batch_size)
    model.train(was_training)
    return result.reshape(n_freq, n).cpu().numpy().astype(np.float64)


def _predict_interleaved(model: FrequencyLSTM, x: torch.Tensor, batch: int) -> torch.Tensor:
    """Batch position j sees rows j, j+B, j+2B...: that is B sequences, run as one LSTM call each."""
    rows = x.shape[0]
    full = rows // batch
    parts = []
    if full:
        sequences = x[: full * batch].view(full, batch, -1).transpose(0, 1)
        out, _ = model(sequences, model.zero_state(batch))
        parts.append(out.transpose(0, 1).reshape(-1))
    if rows > full * batch:  # a last batch of another size starts from zeros
        tail = x[full * batch :].unsqueeze(1)
        out, _ = model(tail, model.zero_state(tail.shape[0]))
        parts.append(out.reshape(-1))
    return torch.cat(parts)


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


def evaluate(model: FrequencyLSTM, train: SignalSet, test: SignalSet, mode: str, batch_size: int, threshold: float) -> Evaluation:
    """Both sets through the mode's traversal with frozen weights."""
    train_pred = predict(model, train, mode, batch_size)
    test_pred = predict(model, test, mode, batch_size)
    return Evaluation(
        train.frequencies,
        SetMetrics.of(train_pred, train.targets),
        SetMetrics.of(test_pred, test.targets),
        threshold,
        test_pred,
        train_pred,
    )
