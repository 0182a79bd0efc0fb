"""Shared fixtures. Qt runs offscreen in tests; small experiments keep the suite fast."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from engine.config import Config, apply_overrides

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
