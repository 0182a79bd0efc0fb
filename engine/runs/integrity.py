"""Whether a run folder's files read back whole: each artefact present parses, and its parts agree.
What a crash or a kill at any moment must never break."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.config.schema import load_config
from engine.training.checkpoints import load_checkpoint
from engine.training.history import History


def damaged_files(folder: Path) -> list[str]:
    """Each artefact present must be complete: it parses, and its parts agree."""
    problems = []
    checks: dict[str, Callable[[Path], object]] = {
        "config.yaml": lambda p: load_config(p),
        "history.csv": lambda p: _check_history(History.from_csv(p.read_text())),
        "metrics.json": lambda p: json.loads(p.read_text()),
        "predictions.npz": lambda p: np.load(p, allow_pickle=False)["outputs"],
        "checkpoints/last.pt": load_checkpoint,
        "checkpoints/best.pt": load_checkpoint,
    }
    for name, check in checks.items():
        path = folder / name
        if path.exists():
            try:
                check(path)
            except Exception as exc:  # any failure to read back is damage
                problems.append(f"{name}: {exc.__class__.__name__}: {exc}")
    return problems


def _check_history(history: History) -> None:
    """Rows 1..n, each with its training loss: a history cut mid-write would break either."""
    epochs = history.epoch
    if not np.array_equal(epochs, np.arange(1, len(epochs) + 1)) or np.isnan(history.train_loss).any():
        raise ValueError(f"history rows are not complete consecutive epochs: {epochs}")
