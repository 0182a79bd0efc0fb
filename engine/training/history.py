"""A run's history, column-wise: one array per metric, one row per epoch, one CSV form.

The session appends to it, the run writes it, and every front end, comparison and report reads it:
a single shape for every curve of every run, resumed runs included."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.config.schema import format_number


@dataclass(frozen=True)
class EpochReport:
    """What one epoch produced (a history's row, plus the run's progress); plain numbers, safe to hand to another thread."""

    epoch: int
    num_epochs: int
    train_loss: float
    test_mse: float
    test_mse_per_frequency: tuple[float, ...]
    validation_mse: float | None
    learning_rate: float
    epoch_seconds: float
    wall_seconds: float
    eta_seconds: float
    is_best: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EpochReport:
        """An epoch as the row-wise histories of older checkpoints stored it."""
        return cls(**{f.name: row[f.name] for f in fields(cls)})


SCALARS = ("epoch", "train_loss", "test_mse", "validation_mse", "learning_rate", "epoch_seconds", "wall_seconds")
PER_FREQUENCY_PREFIX, PER_FREQUENCY_SUFFIX = "test_mse_", "hz"


def _cell(value: float) -> str:
    """A number in its shortest exact form; NaN (nothing measured) as an empty cell."""
    return "" if math.isnan(value) else repr(float(value))


def _column(values: Any = ()) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


_NO_EPOCHS = np.zeros((0, 0))  # a per-frequency table left out: no epochs, as wide as the frequencies (see __post_init__)


@dataclass(frozen=True)
class History:
    """Epochs × metrics as arrays (validation MSE NaN where none was measured); immutable, so it can
    be handed to another thread or process as it is."""

    frequencies: tuple[float, ...]
    epoch: np.ndarray = field(default_factory=_column)
    train_loss: np.ndarray = field(default_factory=_column)
    test_mse: np.ndarray = field(default_factory=_column)
    validation_mse: np.ndarray = field(default_factory=_column)
    learning_rate: np.ndarray = field(default_factory=_column)
    epoch_seconds: np.ndarray = field(default_factory=_column)
    wall_seconds: np.ndarray = field(default_factory=_column)
    test_mse_per_frequency: np.ndarray = field(default_factory=lambda: _NO_EPOCHS)  # (epochs, frequencies)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequencies", tuple(float(f) for f in self.frequencies))
        for name in SCALARS:
            object.__setattr__(self, name, _column(getattr(self, name)))
        per = self.test_mse_per_frequency
        per = np.zeros((0, len(self.frequencies))) if per is _NO_EPOCHS else np.asarray(per, dtype=float).reshape(-1, len(self.frequencies))
        object.__setattr__(self, "test_mse_per_frequency", per)
        lengths = {getattr(self, name).size for name in SCALARS} | {per.shape[0]}
        if len(lengths) != 1:
            raise ValueError(f"history columns differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return int(self.epoch.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self.frequencies == other.frequencies and all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name), equal_nan=True) for f in fields(self) if f.name != "frequencies"
        )

    __hash__ = None  # type: ignore[assignment]  # arrays: compared by value, not hashable

    # ----- building -----------------------------------------------------------------------------
    def appended(self, report: EpochReport) -> History:
        """This history with one more epoch (a new object: earlier holders keep what they saw)."""
        row = {name: getattr(report, name) for name in SCALARS}
        row["validation_mse"] = math.nan if report.validation_mse is None else report.validation_mse
        columns: dict[str, Any] = {name: np.append(getattr(self, name), row[name]) for name in SCALARS}
        per = np.vstack([self.test_mse_per_frequency, np.asarray(report.test_mse_per_frequency, dtype=float)[None, :]])
        return replace(self, **columns, test_mse_per_frequency=per)

    @classmethod
    def of(cls, reports: list[EpochReport], frequencies: tuple[float, ...] | list[float]) -> History:
        history = cls(tuple(frequencies))
        for report in reports:
            history = history.appended(report)
        return history

    # ----- reading ------------------------------------------------------------------------------
    def per_frequency(self, index: int) -> np.ndarray:
        return self.test_mse_per_frequency[:, index]

    def best_index(self) -> int | None:
        """The row of the epoch best.pt holds: the first lowest validation MSE, else training loss."""
        if not len(self):
            return None
        score = self.validation_mse if np.isfinite(self.validation_mse).any() else self.train_loss
        return int(np.nanargmin(np.where(np.isfinite(score), score, np.inf)))

    def latest_test_mse(self) -> tuple[int, float] | None:
        """(epoch, test MSE) of the latest scored epoch (None before any): what a progress line shows between scorings."""
        scored = np.flatnonzero(np.isfinite(self.test_mse))
        return (int(self.epoch[scored[-1]]), float(self.test_mse[scored[-1]])) if scored.size else None

    def time_to(self, level: float) -> float | None:
        """Wall seconds until the test MSE first reached ``level`` (None if it never did)."""
        reached = np.flatnonzero(self.test_mse <= level)
        return float(self.wall_seconds[reached[0]]) if reached.size else None

    # ----- one CSV form -------------------------------------------------------------------------
    def csv_columns(self) -> list[str]:
        per = [f"{PER_FREQUENCY_PREFIX}{format_number(f)}{PER_FREQUENCY_SUFFIX}" for f in self.frequencies]
        return ["epoch", "train_loss", "test_mse", *per, "validation_mse", "learning_rate", "epoch_seconds", "wall_seconds"]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.csv_columns())
        for k in range(len(self)):
            cells = [self.train_loss[k], self.test_mse[k], *self.test_mse_per_frequency[k]]
            cells += [self.validation_mse[k], self.learning_rate[k], self.epoch_seconds[k], self.wall_seconds[k]]
            writer.writerow([int(self.epoch[k]), *(_cell(value) for value in cells)])
        return out.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> History:
        """The CSV form read back; the frequencies come from the per-frequency column names."""
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return cls(())
        header, body = rows[0], [row for row in rows[1:] if row]
        per_names = [n for n in header if n.startswith(PER_FREQUENCY_PREFIX) and n.endswith(PER_FREQUENCY_SUFFIX)]
        frequencies = tuple(float(n[len(PER_FREQUENCY_PREFIX) : -len(PER_FREQUENCY_SUFFIX)]) for n in per_names)

        def column(name: str) -> np.ndarray:
            if name not in header:
                return np.full(len(body), np.nan)
            k = header.index(name)
            return np.array([float(r[k]) if k < len(r) and r[k] != "" else np.nan for r in body], dtype=float)

        per = np.column_stack([column(n) for n in per_names]) if per_names else np.zeros((len(body), 0))
        return cls(frequencies, **{name: column(name) for name in SCALARS}, test_mse_per_frequency=per)

    @classmethod
    def read(cls, path: Path) -> History | None:
        """``history.csv`` of a run folder; None if it is missing or damaged."""
        try:
            return cls.from_csv(Path(path).read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return None

    # ----- inside a checkpoint (plain lists: torch.load(weights_only=True) reads them) ------------
    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {name: getattr(self, name).tolist() for name in SCALARS}
        payload["frequencies"] = list(self.frequencies)
        payload["test_mse_per_frequency"] = self.test_mse_per_frequency.tolist()
        return payload

    @classmethod
    def from_payload(cls, payload: Any, frequencies: list[float]) -> History:
        """A checkpoint's history; checkpoints written before History held a list of epoch dicts."""
        if isinstance(payload, list):  # migration: the older row-wise form
            return cls.of([EpochReport.from_row(row) for row in payload], frequencies)
        columns = {name: payload[name] for name in SCALARS}
        return cls(tuple(payload["frequencies"]), **columns, test_mse_per_frequency=payload["test_mse_per_frequency"])
