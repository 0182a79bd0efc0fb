"""Shared fixtures. Qt runs offscreen in tests; small experiments keep the suite fast."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from engine.config.schema import Config, apply_overrides
from engine.runs.metrics import RunMetrics
from engine.training.history import History

ROOT = Path(__file__).resolve().parent.parent


def small_config(tmp_path: Path, *overrides: str) -> Config:
    """Four frequencies at 100 Hz for 2 s (800 rows), a small LSTM: seconds, not minutes."""
    base = [
        "data.sampling_rate=100",
        "data.duration=2.0",
        f"data.data_dir={tmp_path / 'data'}",
        "model.hidden_size=16",
        "training.num_epochs=3",
        "training.batch_size=16",
        "training.learning_rate=0.003",
        "training.tbptt_steps=20",
        "training.segments=2",
        "training.device=cpu",
        f"training.runs_dir={tmp_path / 'runs'}",
        "visualization.time_window=100",
        "visualization.dpi=50",
    ]
    return apply_overrides(Config(), base + list(overrides))


@pytest.fixture
def small(tmp_path: Path) -> Config:
    return small_config(tmp_path)


def history_of(train, test, validation=None, wall=None, frequencies=(1.0,)) -> History:
    """A History from a few columns: epochs 1..n, per-frequency test MSE equal to the overall one."""
    train, test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    n = train.size
    return History(
        tuple(frequencies),
        epoch=np.arange(1, n + 1),
        train_loss=train,
        test_mse=test,
        validation_mse=np.full(n, np.nan) if validation is None else validation,
        learning_rate=np.full(n, 1e-3),
        epoch_seconds=np.full(n, 0.1),
        wall_seconds=np.arange(1, n + 1) * 0.1 if wall is None else wall,
        test_mse_per_frequency=np.repeat(test[:, None], len(frequencies), axis=1),
    )


def scored_metrics(test: float = 0.1, per=None, frequencies=(1.0, 3.0), **keys) -> RunMetrics:
    """A run's metrics with results (train equal to test, no gap), nothing trained; ``keys`` add or
    replace metrics.json keys."""
    per = [test] * len(frequencies) if per is None else per
    scores = {"mse": test, "per_frequency": [{"frequency_hz": f, "mse": m} for f, m in zip(frequencies, per, strict=True)]}
    gaps = [{"frequency_hz": f, "gap": 0.0} for f in frequencies]
    data = {"status": "completed", "train": scores, "test": scores, "generalization_gap": 0.0, "generalization_pass": True}
    return RunMetrics.from_json({**data, "generalization_gap_per_frequency": gaps, **keys})
