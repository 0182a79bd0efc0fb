"""A run's metrics.json as one typed, versioned record, ``RunMetrics``: read, checked and brought up to
the current schema here alone, so every reader uses its fields instead of guarding a dict.

The file's keys stay those the engine has always written; ``schema`` says which version wrote it (a
file without it is version 1). A file this version cannot read becomes a damaged record that says why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.config.schema import is_number
from engine.runs.status import RunStatus
from engine.training.evaluation import MEMORISED_Z
from engine.training.trainer import EndReason

SCHEMA = 2  # the version this engine writes

T = TypeVar("T")
Json = dict[str, Any]


class MetricsError(ValueError):
    """What in a metrics.json is not of the shape the engine writes, naming its key."""


class _ShapeError(Exception):
    """A value not of its expected shape; the caller names the key."""


def _number(value: Any) -> float:
    if not is_number(value):
        raise _ShapeError
    return value


def _optional_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _integer(value: Any) -> int:
    whole = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if not whole:
        raise _ShapeError
    return int(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _ShapeError
    return value


def _optional(kind: type[T], value: Any) -> T | None:
    if value is not None and not isinstance(value, kind):
        raise _ShapeError
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _ShapeError
    return value


def _object(value: Any) -> Json:
    if not isinstance(value, dict):
        raise _ShapeError
    return value


def _rows(value: Any, row: Callable[[Json], T]) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise _ShapeError
    return tuple(row(_object(item)) for item in value)


def _numbers(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise _ShapeError
    return tuple(_number(v) for v in value)


def _listed(values: tuple[float, ...] | None) -> list[float] | None:
    return None if values is None else list(values)


def _omitting_none(**values: Any) -> Json:
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class FrequencyMse:
    frequency_hz: float
    mse: float

    @classmethod
    def from_json(cls, data: Json) -> FrequencyMse:
        return cls(_number(data.get("frequency_hz")), _number(data.get("mse")))

    def to_json(self) -> Json:
        return {"frequency_hz": self.frequency_hz, "mse": self.mse}


@dataclass(frozen=True)
class SetScores:
    """One set's MSE, overall and per frequency."""

    mse: float
    per_frequency: tuple[FrequencyMse, ...]

    @classmethod
    def from_json(cls, data: Any) -> SetScores:
        data = _object(data)
        return cls(_number(data.get("mse")), _rows(data.get("per_frequency"), FrequencyMse.from_json))

    def to_json(self) -> Json:
        return {"mse": self.mse, "per_frequency": [row.to_json() for row in self.per_frequency]}

    def by_frequency(self) -> dict[float, float]:
        """Frequency (Hz) → MSE."""
        return {float(row.frequency_hz): row.mse for row in self.per_frequency}


@dataclass(frozen=True)
class FrequencyGap:
    frequency_hz: float
    gap: float

    @classmethod
    def from_json(cls, data: Json) -> FrequencyGap:
        return cls(_number(data.get("frequency_hz")), _number(data.get("gap")))

    def to_json(self) -> Json:
        return {"frequency_hz": self.frequency_hz, "gap": self.gap}


@dataclass(frozen=True)
class Results:
    """The evaluation of the scored checkpoint: train and test scores and the generalization rule
    (|test − train| / train below the threshold, overall and at every frequency)."""

    train: SetScores
    test: SetScores
    gap: float
    gap_per_frequency: tuple[FrequencyGap, ...]
    passed: bool
    threshold: float | None = None

    KEYS = ("train", "test", "generalization_gap", "generalization_pass", "generalization_gap_per_frequency")

    @classmethod
    def from_json(cls, data: Json) -> Results:
        """From the top level of a metrics.json; every key of KEYS must be there."""
        parsers: dict[str, Callable[[Any], Any]] = {
            "train": SetScores.from_json,
            "test": SetScores.from_json,
            "generalization_gap": _number,
            "generalization_pass": _flag,
            "generalization_gap_per_frequency": lambda v: _rows(v, FrequencyGap.from_json),
        }
        values = {}
        for key, parse in parsers.items():
            try:
                values[key] = parse(data[key])
            except (KeyError, _ShapeError):
                raise MetricsError(f"{key} missing or not as the engine writes it") from None
        threshold = _field(data, "generalization_threshold", _optional_number)
        gaps = values["generalization_gap_per_frequency"]
        return cls(values["train"], values["test"], values["generalization_gap"], gaps, values["generalization_pass"], threshold)

    def to_json(self) -> Json:
        return {
            "train": self.train.to_json(),
            "test": self.test.to_json(),
            "generalization_gap": self.gap,
            "generalization_gap_per_frequency": [row.to_json() for row in self.gap_per_frequency],
            **_omitting_none(generalization_threshold=self.threshold),
            "generalization_pass": self.passed,
        }


@dataclass(frozen=True)
class ReferenceLevel:
    """The references at one frequency."""

    frequency_hz: float
    zero_output_mse: float | None = None
    known_model_mse: float | None = None

    @classmethod
    def from_json(cls, data: Json) -> ReferenceLevel:
        return cls(
            _number(data.get("frequency_hz")),
            _optional_number(data.get("zero_output_mse")),
            _optional_number(data.get("known_model_mse")),
        )

    def to_json(self) -> Json:
        return {
            "frequency_hz": self.frequency_hz,
            **_omitting_none(zero_output_mse=self.zero_output_mse, known_model_mse=self.known_model_mse),
        }


@dataclass(frozen=True)
class Reference:
    """The test set's quality references: what a model that outputs zeros scores, and the known-model estimator."""

    zero_output_mse: float
    known_model_mse: float | None = None
    per_frequency: tuple[ReferenceLevel, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Reference:
        data = _object(data)
        rows = _rows(data.get("per_frequency", []), ReferenceLevel.from_json)
        return cls(_number(data.get("zero_output_mse")), _optional_number(data.get("known_model_mse")), rows)

    def to_json(self) -> Json:
        return {
            "zero_output_mse": self.zero_output_mse,
            **_omitting_none(known_model_mse=self.known_model_mse),
            "per_frequency": [row.to_json() for row in self.per_frequency],
        }

    def at(self, frequency_hz: float) -> ReferenceLevel | None:
        return next((row for row in self.per_frequency if row.frequency_hz == frequency_hz), None)


@dataclass(frozen=True)
class MemorisationLevel:
    """One frequency of the memorisation check: the train MSE's z among the unseen draws' MSEs."""

    frequency_hz: float
    z: float
    memorised: bool
    train_mse: float | None = None
    unseen_mean: float | None = None
    unseen_std: float | None = None

    @classmethod
    def from_json(cls, data: Json) -> MemorisationLevel:
        z = _number(data.get("z"))
        memorised = _optional(bool, data.get("memorised"))
        return cls(
            _number(data.get("frequency_hz")),
            z,
            z < MEMORISED_Z if memorised is None else memorised,
            _optional_number(data.get("train_mse")),
            _optional_number(data.get("unseen_mean")),
            _optional_number(data.get("unseen_std")),
        )

    def to_json(self) -> Json:
        spread = _omitting_none(train_mse=self.train_mse, unseen_mean=self.unseen_mean, unseen_std=self.unseen_std)
        return {"frequency_hz": self.frequency_hz, **spread, "z": self.z, "memorised": self.memorised}


@dataclass(frozen=True)
class MemorisationCheck:
    """The train MSE against unseen noise draws: memorised when a frequency's z is below −2."""

    memorised: bool
    per_frequency: tuple[MemorisationLevel, ...]
    draws: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> MemorisationCheck:
        data = _object(data)
        rows = _rows(data.get("per_frequency"), MemorisationLevel.from_json)
        memorised = _optional(bool, data.get("memorised"))
        draws = None if data.get("draws") is None else _integer(data["draws"])
        return cls(any(row.memorised for row in rows) if memorised is None else memorised, rows, draws)

    def to_json(self) -> Json:
        return {**_omitting_none(draws=self.draws), "memorised": self.memorised, "per_frequency": [r.to_json() for r in self.per_frequency]}

    def lowest(self) -> MemorisationLevel | None:
        """The frequency nearest to memorised (lowest z)."""
        return min(self.per_frequency, key=lambda row: row.z, default=None)


@dataclass(frozen=True)
class ExtractionLevel:
    frequency_hz: float
    mse: float
    known_model_mse: float | None = None

    @classmethod
    def from_json(cls, data: Json) -> ExtractionLevel:
        return cls(_number(data.get("frequency_hz")), _number(data.get("mse")), _optional_number(data.get("known_model_mse")))

    def to_json(self) -> Json:
        return {"frequency_hz": self.frequency_hz, "mse": self.mse, **_omitting_none(known_model_mse=self.known_model_mse)}


@dataclass(frozen=True)
class Extraction:
    """The scored weights on test draws that start at random moments (metrics.json's ``shifted``)."""

    draws: int
    mse: float
    known_model_mse: float
    per_frequency: tuple[ExtractionLevel, ...]
    starts: tuple[float, ...] | None = None  # None: not in the file
    mse_per_draw: tuple[float, ...] | None = None
    known_model_mse_per_draw: tuple[float, ...] | None = None

    @classmethod
    def from_json(cls, data: Any) -> Extraction:
        data = _object(data)
        return cls(
            _integer(data.get("draws")),
            _number(data.get("mse")),
            _number(data.get("known_model_mse")),
            _rows(data.get("per_frequency"), ExtractionLevel.from_json),
            _present(_numbers)(data.get("starts")),
            _present(_numbers)(data.get("mse_per_draw")),
            _present(_numbers)(data.get("known_model_mse_per_draw")),
        )

    def to_json(self) -> Json:
        return {
            "draws": self.draws,
            **_omitting_none(starts=_listed(self.starts)),
            "mse": self.mse,
            **_omitting_none(mse_per_draw=_listed(self.mse_per_draw)),
            "known_model_mse": self.known_model_mse,
            **_omitting_none(known_model_mse_per_draw=_listed(self.known_model_mse_per_draw)),
            "per_frequency": [row.to_json() for row in self.per_frequency],
        }

    def by_frequency(self) -> dict[float, float]:
        return {float(row.frequency_hz): row.mse for row in self.per_frequency}


def _field(data: Json, key: str, parse: Callable[[Any], T]) -> T:
    """``data[key]`` (None when absent) through ``parse``; a value of the wrong shape names its key."""
    try:
        return parse(data.get(key))
    except _ShapeError:
        raise MetricsError(f"{key} not as the engine writes it") from None


def _present(parse: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``parse`` for a key that may be absent (None)."""
    return lambda value: None if value is None else parse(value)


def _status(value: Any) -> RunStatus:
    if value is None:
        return RunStatus.UNFINISHED
    try:
        return RunStatus(_text(value))
    except ValueError:
        raise _ShapeError from None


def _ended_by(value: Any) -> EndReason | None:
    try:
        return None if value is None else EndReason(_text(value))
    except ValueError:
        raise _ShapeError from None


# what RunMetrics reads by name (the rest of a file is kept as it is, in ``extra``)
SCALARS: dict[str, Callable[[Any], Any]] = {
    "message": lambda v: _optional(str, v) or "",
    "ended_by": _ended_by,
    "mode": lambda v: _optional(str, v),
    "device": lambda v: _optional(str, v),
    "epochs_completed": _present(_integer),
    "best_epoch": _present(_integer),
    "validation_mse": _optional_number,
    "selected_by": lambda v: _optional(str, v),
    "evaluated_checkpoint": lambda v: _optional(str, v),
    "seconds_per_epoch": _optional_number,
    "wall_seconds": _optional_number,
    "time_to_test_mse": lambda v: {str(k): _optional_number(t) for k, t in _object(v or {}).items()},
}
PARTS: dict[str, Callable[[Any], Any]] = {
    "reference": _present(Reference.from_json),
    "memorisation": _present(MemorisationCheck.from_json),
    "shifted": _present(Extraction.from_json),
    "environment": lambda v: _object(v or {}),
    "finished_at": lambda v: _optional(str, v),
}
PLAIN = (  # written as they are
    *("mode", "device", "epochs_completed", "best_epoch", "validation_mse"),
    *("selected_by", "evaluated_checkpoint", "seconds_per_epoch", "wall_seconds"),
)
READ = {"schema", "status", "damaged", *SCALARS, *PARTS, *Results.KEYS, "generalization_threshold"}


@dataclass(frozen=True)
class RunMetrics:
    """What a run's metrics.json says: its status and, once evaluated, its results, references and checks."""

    status: RunStatus = RunStatus.UNFINISHED
    message: str = ""
    ended_by: EndReason | None = None
    mode: str | None = None
    device: str | None = None
    epochs_completed: int | None = None
    best_epoch: int | None = None
    validation_mse: float | None = None
    selected_by: str | None = None
    evaluated_checkpoint: str | None = None
    seconds_per_epoch: float | None = None
    wall_seconds: float | None = None
    time_to_test_mse: Mapping[str, float | None] = field(default_factory=dict)
    results: Results | None = None  # None: not evaluated (unfinished, or a damaged file)
    reference: Reference | None = None
    memorisation: MemorisationCheck | None = None
    shifted: Extraction | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    finished_at: str | None = None
    damaged: str | None = None  # what was wrong with the file, for a damaged record
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not read, kept so a copy loses nothing
    schema: int = SCHEMA

    @classmethod
    def damaged_file(cls, problem: str) -> RunMetrics:
        """The record of a metrics.json that cannot be read, saying why."""
        return cls(RunStatus.DAMAGED, damaged=f"metrics.json: {problem}")

    @classmethod
    def from_json(cls, data: Any) -> RunMetrics:
        """Read a metrics.json's content, migrated to the current schema; raise MetricsError naming what is wrong."""
        data = migrate(data)
        results = Results.from_json(data) if "test" in data or "train" in data else None
        scalars = {key: _field(data, key, parse) for key, parse in SCALARS.items()}
        parts = {key: _field(data, key, parse) for key, parse in PARTS.items()}
        extra = {key: value for key, value in data.items() if key not in READ}
        status = _field(data, "status", _status)
        return cls(status, **scalars, results=results, **parts, extra=extra)

    def to_json(self) -> Json:
        """The record as metrics.json holds it (keys in the engine's order)."""
        if self.damaged is not None:
            return {"status": self.status.value, "damaged": self.damaged}
        return {
            "schema": self.schema,
            "status": self.status.value,
            "message": self.message,
            "ended_by": None if self.ended_by is None else self.ended_by.value,
            **{key: getattr(self, key) for key in PLAIN},
            "time_to_test_mse": dict(self.time_to_test_mse),
            **(self.results.to_json() if self.results is not None else {}),
            **({"reference": self.reference.to_json()} if self.reference is not None else {}),
            **({"memorisation": self.memorisation.to_json()} if self.memorisation is not None else {}),
            **({"shifted": self.shifted.to_json()} if self.shifted is not None else {}),
            "environment": dict(self.environment),
            "finished_at": self.finished_at,
            **self.extra,
        }

    @property
    def test_mse(self) -> float | None:
        """The test MSE, once evaluated."""
        return None if self.results is None else self.results.test.mse

    def test_by_frequency(self) -> dict[float, float]:
        """Frequency (Hz) → test MSE; empty before evaluation."""
        return {} if self.results is None else self.results.test.by_frequency()

    def why_no_results(self) -> str:
        """What a run without results is: "unfinished", "stopped", or "damaged (metrics.json: ...)"."""
        return f"{self.status} ({self.damaged})" if self.damaged else str(self.status)


# ----- older files -----------------------------------------------------------------------------
def _from_version_1(data: Json) -> Json:
    """Version 1 (no ``schema``): its zero-output reference per frequency was under ``mse`` (before the
    known-model estimator joined it), and files from before ``ended_by`` say why training ended only
    through a status that names the reason."""
    data = dict(data)
    reference = data.get("reference")
    if isinstance(reference, dict) and isinstance(reference.get("per_frequency"), list):
        rows = [
            {"frequency_hz": row.get("frequency_hz"), "zero_output_mse": row["mse"]} if isinstance(row, dict) and "mse" in row else row
            for row in reference["per_frequency"]
        ]
        data["reference"] = {**reference, "per_frequency": rows}
    if "ended_by" not in data and data.get("status") in (RunStatus.STOPPED, RunStatus.DIVERGED, RunStatus.PRUNED):
        data["ended_by"] = str(data["status"])
    return {**data, "schema": 2}


MIGRATIONS: dict[int, Callable[[Json], Json]] = {1: _from_version_1}  # version → that file brought to the next version


def migrate(data: Any) -> Json:
    """A metrics.json's content brought up to SCHEMA, one version at a time; raise MetricsError for a
    file that is no object or whose schema this version cannot read."""
    if not isinstance(data, dict):
        raise MetricsError("not a JSON object")
    try:
        version = _integer(data.get("schema", 1))
    except _ShapeError:
        raise MetricsError("schema not as the engine writes it") from None
    if version < 1:
        raise MetricsError("schema not as the engine writes it")
    if version > SCHEMA:
        raise MetricsError(f"schema {version} is newer than this version reads (up to {SCHEMA}); open it with a newer workbench")
    while version < SCHEMA:
        data = MIGRATIONS[version](data)
        version = data["schema"]
    return data


def read_metrics(path: Path) -> RunMetrics:
    """A run's metrics.json; none yet reads as unfinished, one that cannot be read as damaged, saying why."""
    try:
        return RunMetrics.from_json(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        return RunMetrics()  # not written yet: unfinished
    except MetricsError as exc:
        return RunMetrics.damaged_file(str(exc))
    except (OSError, ValueError) as exc:
        return RunMetrics.damaged_file(f"not readable JSON ({exc.__class__.__name__})")
