"""Plain PyTorch checkpoints (a training script's torch.save dict) brought in as ordinary run folders.

Their format: a ``torch.save`` dict with ``model_state_dict`` (``lstm.*`` per layer, ``fc.weight``,
``fc.bias``), ``epoch``, ``loss``, ``optimizer_state_dict`` and ``history`` (``train_loss`` and
``epoch_times`` lists, ``best_loss``, ``best_epoch``). It is read with ``weights_only=True``, so a
file can never run code. Their epochs count from 0 (their record names the last of 100 epochs
"epoch 99"); a run folder's count from 1."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.config.schema import Config
from engine.runs.metrics import RunMetrics
from engine.runs.notes import RunNotes
from engine.runs.run import Run
from engine.training.checkpoints import CheckpointError, architecture_mismatch, read_torch_file
from engine.training.history import History
from engine.training.model import FrequencyLSTM

HEAD = {"fc.weight": "head.weight", "fc.bias": "head.bias"}


def _refuse(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"import: {path}: {why}")


def weights_of(payload: Any, path: Path) -> dict[str, torch.Tensor]:
    """Their model_state_dict under this workbench's parameter names."""
    state = payload.get("model_state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _refuse(
            path, "not a checkpoint of the expected format; allowed: a torch.save dict whose model_state_dict maps names to tensors"
        )
    unknown = sorted(k for k in state if not (str(k).startswith("lstm.") or k in HEAD))
    if unknown:
        raise _refuse(path, f"model_state_dict holds {', '.join(map(str, unknown[:4]))}; allowed: lstm.* and fc.weight, fc.bias")
    checked: dict[str, torch.Tensor] = state  # tensors under lstm.* and the head's names, as checked above
    return {HEAD.get(k, k): v for k, v in checked.items()}


def fitted_model(weights: dict[str, torch.Tensor], config: Config, path: Path) -> FrequencyLSTM:
    """A model of the config's architecture holding ``weights``; a mismatch says what differs and the config keys that fit."""
    model = FrequencyLSTM.for_run(config)
    if mismatch := architecture_mismatch(weights, config.model):
        said, fits = mismatch
        raise _refuse(path, f"its weights do not fit the config: {said}; allowed: a config with {fits}")
    expected = model.state_dict()
    m = config.model
    shape = f"model.input_size {m.input_size}, model.hidden_size {m.hidden_size}, model.num_layers {m.num_layers}"
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        names = ", ".join([*(f"missing {k}" for k in missing[:3]), *(f"unexpected {k}" for k in extra[:3])])
        raise _refuse(path, f"its layers do not fit the config ({shape}): {names}")
    for key, tensor in expected.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            found, needed = tuple(weights[key].shape), tuple(tensor.shape)
            raise _refuse(path, f"its weights do not fit the config ({shape}): {key} is {found}, the config needs {needed}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in weights.items()})
    return model


def _numbers(values: Any) -> list[float]:
    """The numbers of a list in their file; anything else there (a number, text) counts as no list."""
    return [float(v) for v in values if isinstance(v, (int, float))] if isinstance(values, (list, tuple)) else []


def history_of(payload: dict[str, Any], frequencies: list[float]) -> tuple[History, int]:
    """Their training-loss history (test and validation MSE unknown: NaN) and best epoch, counted from 1."""
    saved = payload.get("history")
    raw = saved if isinstance(saved, dict) else {}
    losses, times = _numbers(raw.get("train_loss")), _numbers(raw.get("epoch_times"))
    n = len(losses)
    seconds = np.array((times + [math.nan] * n)[:n], dtype=float)
    nan = np.full(n, math.nan)
    history = History(
        tuple(frequencies),
        epoch=np.arange(1, n + 1),
        train_loss=np.array(losses, dtype=float),
        test_mse=nan,
        validation_mse=nan,
        learning_rate=nan,
        epoch_seconds=seconds,
        wall_seconds=np.cumsum(np.nan_to_num(seconds)),
        test_mse_per_frequency=np.full((n, len(frequencies)), math.nan),
    )
    best = raw.get("best_epoch")
    best_epoch = int(best) + 1 if isinstance(best, int) and 0 <= best < max(n, 1) else n
    return history, best_epoch


def import_checkpoint(
    path: Path, config: Config, runs_dir: Path | None = None, template: str | None = None, note: str = ""
) -> tuple[Run, RunMetrics]:
    """An ordinary run folder for their checkpoint: its weights evaluated by the workbench's own
    protocol on ``config``'s data, its history kept, marked as imported. Nothing is written unless
    the file is read and fits the config. Returns the run and its metrics."""
    path = Path(path)
    payload = read_torch_file(path)
    model = fitted_model(weights_of(payload, path), config, path)
    history, best_epoch = history_of(payload, config.data.frequencies)
    notes = RunNotes(name=f"imported {path.name}", note=note, tags=("imported",), imported_from=str(path.resolve()))
    run = Run.adopt(config, model.state_dict(), history, best_epoch, notes, runs_dir, template)
    return run, run.finish()
