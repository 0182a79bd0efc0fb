"""Checkpoints: written atomically, read with ``weights_only=True`` so a file can never run code."""

from __future__ import annotations

import io
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from engine.config import Config, ConfigError, config_from_dict, is_number
from engine.files import atomic_write_bytes
from engine.model import FrequencyLSTM

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that is refused, damaged, or does not fit its own config."""


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_torch_file(path: str | Path) -> Any:
    """A torch.save file's tensors and plain data; anything else is refused, never unpickled."""
    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's remarks on a foreign file (its pickle protocol) are not the user's message
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except pickle.UnpicklingError as exc:
        text = " ".join(str(exc).split())
        blocked = re.search(r"unsupported GLOBAL (\S+)|Unsupported global: (\S+)", text)
        if blocked is None:
            raise CheckpointError(f"{path}: not a readable checkpoint (damaged, truncated or not a torch file)") from None
        raise CheckpointError(
            f"{path}: refused: the file asks to load {blocked.group(1) or blocked.group(2)}, which is not tensors or plain "
            "data and could run code; it was not loaded"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, IndexError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint (damaged or truncated: {exc.__class__.__name__})") from None
    return payload


PROGRESS_KEYS = ("epoch", "elapsed", "best_value", "best_epoch")
TRAINING_STATE = ("optimizer", "progress", "history", "rng")  # what a resume restores beside the weights


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A workbench checkpoint, read safely (``read_torch_file``) and checked for its format and shape."""
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload or "config" not in payload:
        raise CheckpointError(f"{path}: not a workbench checkpoint (format {FORMAT} with model and config expected)")
    if problem := _body_problem(payload):
        raise CheckpointError(f"{path}: a damaged workbench checkpoint: {problem} is not as the workbench writes it")
    return payload


def _body_problem(payload: dict[str, Any]) -> str | None:
    """The first part of a checkpoint of the right format that is of the wrong shape, or None."""
    for key in ("model", "config", *TRAINING_STATE):
        if key in payload and not isinstance(payload[key], dict):
            return key
    progress = payload.get("progress", {})
    return None if all(is_number(progress.get(k, 0)) for k in PROGRESS_KEYS) else "progress"


def restore_problem(payload: dict[str, Any]) -> str | None:
    """Why a checkpoint cannot continue a training (it lacks part of the training state), or None."""
    missing = [key for key in TRAINING_STATE if key not in payload]
    return f"it has no {', '.join(missing)} to continue from" if missing else None


def config_of(payload: dict[str, Any], path: str | Path = "checkpoint") -> Config:
    try:
        return config_from_dict(payload["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its config does not validate: " + "; ".join(exc.messages)) from None


def model_from_checkpoint(payload: dict[str, Any], path: str | Path = "checkpoint") -> tuple[Config, FrequencyLSTM]:
    """The checkpoint's config and a model with its weights; a mismatch is a CheckpointError."""
    config = config_of(payload, path)
    model = FrequencyLSTM.from_config(config.model)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, TypeError, KeyError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{path}: its weights do not fit the architecture in its config ({reason})") from None
    return config, model
