"""Checkpoints: written atomically, read with ``weights_only=True`` so a file can never run code."""

from __future__ import annotations

import io
import pickle
import re
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from engine.config.schema import Config, ConfigError, ModelConfig, config_from_dict, is_number
from engine.storage.files import atomic_write_bytes
from engine.training.model import GATES, FrequencyLSTM

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that is refused, damaged, or does not fit its own config."""


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` atomically: a kill mid-write leaves the previous file whole."""
    buffer = io.BytesIO()
    torch.save(checkpoint.to_payload(), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_torch_file(path: str | Path) -> Any:
    """A torch.save file's tensors and plain data; anything else is refused, never unpickled."""
    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's remarks on a foreign file (its pickle protocol) are not what the message is about
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


@dataclass(frozen=True)
class Progress:
    """Where a training stood when its checkpoint was written."""

    epoch: int
    elapsed: float
    best_value: float
    best_epoch: int
    plateau: dict[str, Any] | None = None  # the plateau schedule's state, when it has one


@dataclass(frozen=True)
class Checkpoint:
    """A workbench checkpoint (file format FORMAT), the one type every reader and writer uses: the weights
    and the config they were trained with, and the training state a resume continues from (absent
    where a checkpoint carries weights only)."""

    model: dict[str, torch.Tensor]
    config: dict[str, Any]
    mode: str = ""
    optimizer: dict[str, Any] | None = None
    progress: Progress | None = None
    history: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        """Plain data and tensors, as torch.save writes them (a part that is absent is left out)."""
        payload: dict[str, Any] = {"format": FORMAT, "model": self.model, "config": self.config, "mode": self.mode}
        state = {"optimizer": self.optimizer, "progress": None if self.progress is None else asdict(self.progress)}
        state |= {"history": self.history, "rng": self.rng}
        return payload | {key: value for key, value in state.items() if value is not None}

    @classmethod
    def from_payload(cls, payload: Any, path: str | Path = "checkpoint") -> Checkpoint:
        """The checkpoint in a file's payload, or a CheckpointError naming what is not as the workbench writes it."""
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload or "config" not in payload:
            raise CheckpointError(f"{path}: not a workbench checkpoint (format {FORMAT} with model and config expected)")
        if problem := _body_problem(payload):
            raise CheckpointError(f"{path}: a damaged workbench checkpoint: {problem} is not as the workbench writes it")
        progress = payload.get("progress")
        return cls(
            model=payload["model"],
            config=payload["config"],
            mode=str(payload.get("mode", "")),
            optimizer=payload.get("optimizer"),
            progress=None if progress is None else Progress(**{k: progress[k] for k in (*PROGRESS_KEYS, "plateau") if k in progress}),
            history=payload.get("history"),
            rng=payload.get("rng"),
        )

    @property
    def epoch(self) -> int:
        """The epochs its weights trained (0 where it does not say)."""
        return 0 if self.progress is None else int(self.progress.epoch)

    def restore_problem(self) -> str | None:
        """Why this checkpoint cannot continue a training (it lacks part of the training state), or None."""
        missing = [key for key in TRAINING_STATE if getattr(self, key) is None]
        return f"it has no {', '.join(missing)} to continue from" if missing else None

    def run_config(self, path: str | Path = "checkpoint") -> Config:
        """The config it was trained with, validated (a CheckpointError naming the checkpoint otherwise)."""
        try:
            return config_from_dict(self.config)
        except ConfigError as exc:
            raise CheckpointError(f"{path}: its config does not validate: " + "; ".join(exc.messages)) from None


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A workbench checkpoint, read safely (``read_torch_file``) and checked for its format and shape."""
    return Checkpoint.from_payload(read_torch_file(path), path)


def _body_problem(payload: dict[str, Any]) -> str | None:
    """The first part of a checkpoint of the right format that is of the wrong shape, or None."""
    for key in ("model", "config", *TRAINING_STATE):
        if key in payload and not isinstance(payload[key], dict):
            return key
    progress = payload.get("progress", {})
    if not all(is_number(progress.get(k, 0)) for k in PROGRESS_KEYS) or (progress and not set(PROGRESS_KEYS) <= set(progress)):
        return "progress"
    return None


ARCHITECTURE = ("cell", "input_size", "hidden_size", "num_layers")


def architecture_of(state: dict[str, Any]) -> dict[str, Any] | None:
    """The cell, input size, hidden size and layers the weights were made with (None when they do not say):
    layer 0's input weights are (gates x hidden, input), under the cell's own name; one set per layer."""
    for cell, gates in GATES.items():
        first = state.get(f"{cell}.weight_ih_l0")
        if isinstance(first, torch.Tensor) and first.dim() == 2 and first.shape[0] % gates == 0:
            layers = next(k for k in range(len(state) + 1) if f"{cell}.weight_ih_l{k}" not in state)
            return {"cell": cell, "input_size": int(first.shape[1]), "hidden_size": int(first.shape[0]) // gates, "num_layers": layers}
    return None


def _count(value: int, noun: str, plural: str = "") -> str:
    return f"{value} {noun if value == 1 else plural or noun + 's'}"


def _spoken(key: str, value: Any, labelled: bool) -> str:
    """One architecture setting in words; unlabelled where the checkpoint's side already named it."""
    if key == "cell":
        return f"cell {value}" if labelled else str(value)
    if key == "input_size":
        return f"{'input size ' if labelled else ''}{value} ({_count(value - 1, 'frequency', 'frequencies')})"
    if key == "hidden_size":
        return f"hidden size {value}" if labelled else str(value)
    return _count(value, "layer") if labelled else str(value)


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def architecture_mismatch(state: dict[str, Any], model: ModelConfig) -> tuple[str, str] | None:
    """How the architecture of ``state``'s weights differs from ``model``'s, in words ("the checkpoint has
    hidden size 128, the config 64"), and the settings that would fit it; None when they agree or cannot tell."""
    theirs = architecture_of(state)
    if theirs is None:
        return None
    differ = [key for key in ARCHITECTURE if theirs[key] != getattr(model, key)]
    if not differ:
        return None
    said = f"the checkpoint has {_listed([_spoken(k, theirs[k], True) for k in differ])}, "
    said += f"the config {_listed([_spoken(k, getattr(model, k), False) for k in differ])}"
    fits = [
        f"data.frequencies of {theirs[k] - 1} values (model.input_size {theirs[k]})" if k == "input_size" else f"model.{k} {theirs[k]}"
        for k in differ
    ]
    return said, ", ".join(fits)


def model_from_checkpoint(checkpoint: Checkpoint, path: str | Path = "checkpoint") -> tuple[Config, FrequencyLSTM]:
    """The checkpoint's config and a model with its weights; a mismatch is a CheckpointError."""
    config = checkpoint.run_config(path)
    model = FrequencyLSTM.for_run(config)
    try:
        model.load_state_dict(checkpoint.model)
    except (RuntimeError, TypeError, KeyError) as exc:
        mismatch = architecture_mismatch(checkpoint.model, config.model)
        reason = mismatch[0] if mismatch else str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{path}: its weights do not fit the architecture in its config: {reason}") from None
    return config, model
