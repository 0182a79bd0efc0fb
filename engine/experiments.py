"""Runs as experiments: a name, the reason for the change and tags kept in each run folder, and the
comparison of several runs (their numbers, and the settings that differ among them).

What the Runs tab shows and what a report writes both come from here, so they always agree."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import NON_CAUSAL, SEED_KEYS, Config, config_changes, configuration_values, flat_values, format_number, is_execution_key
from engine.files import atomic_write_json
from engine.history import History
from engine.status import status_of

NOTES_FILE = "notes.json"
SHORT_NAMES = {
    "model.hidden_size": "hidden",
    "model.num_layers": "layers",
    "training.learning_rate": "lr",
    "training.num_epochs": "epochs",
    "training.batch_size": "batch",
    "training.lr_schedule": "schedule",
    "data.frequencies": "frequencies",
}
Change = tuple[str, Any, Any]  # (key, old value, new value)


@dataclass(frozen=True)
class RunNotes:
    """What a person says about a run: its name, why it was made (the note), tags; and what it changed."""

    name: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()
    started_from: str = ""  # the config file (or preset) the run's settings were edited from
    changes: tuple[Change, ...] = ()  # its settings that differ from that file's
    imported_from: str = ""  # a checkpoint from another program, when the run was imported
    group: str = ""  # shared by the repeats of one experiment trained together (train --repeats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "note": self.note,
            "tags": list(self.tags),
            "started_from": self.started_from,
            "changes": [{"key": k, "old": old, "new": new} for k, old, new in self.changes],
            "imported_from": self.imported_from,
            "group": self.group,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> RunNotes:
        """Tolerant of hand edits: a field of the wrong type is left at its default."""
        if not isinstance(raw, dict):
            return cls()
        text = {k: raw[k] for k in ("name", "note", "started_from", "imported_from", "group") if isinstance(raw.get(k), str)}
        tags = raw.get("tags")
        changes = raw.get("changes")
        return cls(
            **text,
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            changes=tuple((c["key"], c.get("old"), c.get("new")) for c in changes if isinstance(c, dict) and isinstance(c.get("key"), str))
            if isinstance(changes, list)
            else (),
        )

    def edited(self, name: str | None = None, note: str | None = None, tags: Sequence[str] | None = None) -> RunNotes:
        return RunNotes(
            name=self.name if name is None else name.strip(),
            note=self.note if note is None else note,
            tags=self.tags if tags is None else parse_tags(tags),
            started_from=self.started_from,
            changes=self.changes,
            imported_from=self.imported_from,
            group=self.group,
        )


def parse_tags(tags: Sequence[str] | str) -> tuple[str, ...]:
    """Tags from a list or from "a, b c": trimmed, without repeats, in the order given."""
    words = tags.replace(",", " ").split() if isinstance(tags, str) else [t.strip() for t in tags]
    return tuple(dict.fromkeys(w for w in words if w))


def read_notes(folder: Path) -> RunNotes:
    """A run's notes; a run without (or with an unreadable) notes.json has empty ones."""
    try:
        return RunNotes.from_dict(json.loads((Path(folder) / NOTES_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return RunNotes()


def write_notes(folder: Path, notes: RunNotes) -> None:
    atomic_write_json(Path(folder) / NOTES_FILE, notes.to_dict())


def short_key(key: str) -> str:
    return SHORT_NAMES.get(key, key.rsplit(".", 1)[-1].replace("_", " "))


def names_a_run(key: str) -> bool:
    """Whether a setting can tell runs apart in their names: not how or where a run was executed, nor how
    its results are drawn (visualization.*)."""
    return not is_execution_key(key) and not key.startswith("visualization.")


def named_settings(settings: Sequence[tuple[str, Any]]) -> str:
    """Settings as a name shows them: "hidden 256, lr 0.001"."""
    return ", ".join(f"{short_key(key)} {name_number(value)}" for key, value in settings)


def describe_changes(changes: Sequence[Change]) -> str:
    """A default run name from what it changed, execution and views left out: "hidden 256, lr 0.001"."""
    return named_settings([(key, new) for key, _, new in changes if names_a_run(key)])


def name_number(value: Any) -> str:
    """A value as a name shows it: floats to four significant digits (a sampled 0.003538453590906551
    reads 0.003538); the change itself keeps the exact value."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(name_number(v) for v in value) + "]"
    return format_number(float(f"{value:.4g}")) if isinstance(value, float) else format_number(value)


def default_name(changes: Sequence[Change], started_from: str) -> str:
    """The name a run gets when none is given: what it changed from the file it started from, or that file as is."""
    return describe_changes(changes) or (f"{Path(started_from).name} as is" if started_from else "")


def notes_for(config: Config, base: Config | None, started_from: str = "", name: str = "", note: str = "", tags=()) -> RunNotes:
    """A new run's notes: what it changed from ``base`` and, unless given, a name saying so."""
    changes = tuple(config_changes(base, config)) if base is not None else ()
    default = default_name(changes, started_from)
    return RunNotes(name=name.strip() or default, note=note, tags=parse_tags(tags), started_from=started_from, changes=changes)


def has_given_name(notes: RunNotes) -> bool:
    """Whether a run's name was chosen (--name, the Runs tab, a sweep or an import), not made from its changes:
    a made one only says how it differs from the file it started from, which another run may not share."""
    return bool(notes.name) and notes.name != default_name(notes.changes, notes.started_from)


def display_names(records: Sequence[Any]) -> list[str]:
    """Each run's name where ``records`` (engine.runs.RunRecord) are listed together: a chosen name as is;
    otherwise the settings that differ among them ("hidden 128, epochs 10" beside "hidden 64, epochs 100"),
    not how a run was executed, and its seeds only where they are what tells runs apart. Runs no setting
    tells apart keep their own names, with their folders where those coincide."""
    keys = _distinguishing_keys(records)
    names = []
    for r in records:
        made = r.config is not None and keys and not has_given_name(r.notes)
        values = flat_values(r.config) if made else {}
        names.append(named_settings([(key, values[key]) for key in keys]) if made else r.name)
    repeated = {name for name in names if names.count(name) > 1}
    return [
        f"{name} ({r.folder.name})" if name in repeated and not has_given_name(r.notes) else name
        for name, r in zip(names, records, strict=True)
    ]


def _distinguishing_keys(records: Sequence[Any]) -> list[str]:
    """The settings that differ among ``records``' configs and can name a run; a seed only where runs
    that agree on every other such setting differ in it."""
    keys = [key for key in varying_keys([r.config for r in records]) if names_a_run(key)]
    others = [key for key in keys if key not in SEED_KEYS]
    alike: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.config is not None:
            values = flat_values(r.config)
            alike.setdefault(json.dumps([values[key] for key in others], default=str), []).append(values)
    seeds = {key for key in keys if key in SEED_KEYS for group in alike.values() if len({str(v[key]) for v in group}) > 1}
    return [key for key in keys if key not in SEED_KEYS or key in seeds]


# ----- comparison -------------------------------------------------------------------------------
def varying_keys(configs: Sequence[Config | None]) -> list[str]:
    """The settings whose values differ among ``configs`` (runs without a readable config ignored)."""
    values = [flat_values(c) for c in configs if c is not None]
    if len(values) < 2:
        return []
    return [key for key in values[0] if any(v.get(key) != values[0][key] for v in values[1:])]


@dataclass(frozen=True)
class ComparisonColumn:
    """One column of the comparison: its title and, for numbers, how to show them."""

    title: str
    numeric: bool = True
    digits: int = 5  # shown decimals (MSE: 5; below 0.001 three significant digits)
    percent: bool = False  # a fraction shown as a percentage


@dataclass(frozen=True)
class Comparison:
    """Runs side by side: one row per run, numbers as numbers (None where a run has none)."""

    columns: list[ComparisonColumn]
    rows: list[list[Any]] = field(default_factory=list)

    def titles(self) -> list[str]:
        return [c.title for c in self.columns]


def _mse(metrics: dict[str, Any], split: str) -> float | None:
    value = metrics.get(split, {}).get("mse") if isinstance(metrics.get(split), dict) else None
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def per_frequency_mse(metrics: dict[str, Any], split: str = "test") -> dict[float, float]:
    rows = metrics.get(split, {}).get("per_frequency", []) if isinstance(metrics.get(split), dict) else []
    return {float(r["frequency_hz"]): float(r["mse"]) for r in rows if isinstance(r, dict) and "frequency_hz" in r and "mse" in r}


def compare(records: Sequence[Any]) -> Comparison:
    """The comparison table of ``records`` (engine.runs.RunRecord): identity, results, then every
    setting that differs among them."""
    frequencies = sorted({f for r in records for f in per_frequency_mse(r.metrics)})
    keys = varying_keys([r.config for r in records])
    columns = [
        ComparisonColumn("name", numeric=False),
        ComparisonColumn("status", numeric=False),
        ComparisonColumn("test MSE"),
        *[ComparisonColumn(f"test {format_number(f)} Hz") for f in frequencies],
        ComparisonColumn("validation MSE"),
        ComparisonColumn("extraction MSE"),
        ComparisonColumn("gap", digits=2, percent=True),
        ComparisonColumn("best epoch", digits=0),
        ComparisonColumn("seconds", digits=1),
        *[ComparisonColumn(key, numeric=False) for key in keys],
        ComparisonColumn("tags", numeric=False),
        ComparisonColumn("run", numeric=False),
    ]
    rows = []
    for r, name in zip(records, display_names(records), strict=True):
        m, per = r.metrics, per_frequency_mse(r.metrics)
        settings = flat_values(r.config) if r.config is not None else {}
        gap = m.get("generalization_gap")
        rows.append(
            [
                f"{name}, {NON_CAUSAL}" if r.config is not None and not r.config.model.is_causal else name,
                str(status_of(m)),
                _mse(m, "test"),
                *[per.get(f) for f in frequencies],
                m.get("validation_mse"),
                m.get("shifted", {}).get("mse") if isinstance(m.get("shifted"), dict) else None,
                gap if isinstance(gap, (int, float)) else None,
                m.get("best_epoch"),
                m.get("wall_seconds"),
                *[format_number(settings[key]) if key in settings else "?" for key in keys],
                " ".join(r.notes.tags),
                r.folder.name,
            ]
        )
    return Comparison(columns, rows)


def matches(record: Any, text: str = "", status: str = "") -> bool:
    """The Runs tab's filter: ``text`` in the folder, name, note or a tag (``#tag`` for tags only); ``status`` exactly."""
    if status and status_of(record.metrics) != status:
        return False
    text = text.strip().lower()
    if not text:
        return True
    if text.startswith("#"):
        return text[1:] in [t.lower() for t in record.notes.tags]
    haystack = " ".join([record.folder.name, record.notes.name, record.notes.note, *record.notes.tags]).lower()
    return text in haystack


# ----- curves of several runs -------------------------------------------------------------------
BASE_METRICS = ("train loss", "test MSE", "validation MSE")


def metric_names(records: Sequence[Any]) -> list[str]:
    """What the Runs tab can overlay: the overall curves, then test MSE per frequency of the listed runs."""
    frequencies = sorted({f for r in records if r.history is not None for f in r.history.frequencies})
    return [*BASE_METRICS, *[f"test MSE {format_number(f)} Hz" for f in frequencies]]


def metric_values(history: History, metric: str) -> np.ndarray | None:
    """One metric per epoch; None when this history has no such curve (another frequency set)."""
    overall = {"train loss": history.train_loss, "test MSE": history.test_mse, "validation MSE": history.validation_mse}
    if metric in overall:
        return overall[metric]
    for k, f in enumerate(history.frequencies):
        if metric == f"test MSE {format_number(f)} Hz":
            return history.per_frequency(k)
    return None


@dataclass(frozen=True)
class RunSeries:
    """One curve of the overlay: a run, or runs that differ only in their seeds (their mean, with
    the lowest and highest value at each epoch as its band)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    runs: int = 1


def seed_groups(records: Sequence[Any], consecutive: bool = False) -> list[list[Any]]:
    """Records grouped by configuration (every setting but the seeds and how a run was executed,
    engine.config.configuration_values), in first-seen order; with ``consecutive`` only neighbours
    join. A run without a readable config is a group of its own."""
    groups: dict[str, list[Any]] = {}
    previous = None
    for index, r in enumerate(records):
        key = f"#{index}" if r.config is None else json.dumps(configuration_values(r.config), sort_keys=True, default=str)
        start = key != previous
        previous = key
        if consecutive and start:
            key = f"{index}:{key}"  # neighbours of a configuration seen earlier are a group of their own
        elif consecutive:
            key = next(reversed(groups))
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def run_series(
    records: Sequence[Any], metric: str, wall_time: bool = False, merge_seeds: bool = False, numbered: bool = False
) -> list[RunSeries]:
    """The overlay of ``metric`` for ``records``; with ``merge_seeds``, seed groups become mean and band
    over the epochs all their runs reached (x: epoch, or the group's mean wall time); ``numbered``
    names each curve by its place too ("2. hidden 256"), as a report lists its steps."""
    series = []
    groups = seed_groups(records) if merge_seeds else [[r] for r in records]
    for place, (group, name) in enumerate(zip(groups, display_names([group[0] for group in groups]), strict=True), 1):
        group_name = f"{place}. {name}" if numbered else name
        curves = [(r, y) for r in group if r.history is not None and (y := metric_values(r.history, metric)) is not None and len(y)]
        if not curves:
            continue
        if len(curves) == 1:
            r, y = curves[0]
            series.append(RunSeries(group_name, r.history.wall_seconds if wall_time else r.history.epoch, y))
            continue
        n = min(len(y) for _, y in curves)
        stack = np.vstack([y[:n] for _, y in curves])
        x = np.mean([r.history.wall_seconds[:n] for r, _ in curves], axis=0) if wall_time else curves[0][0].history.epoch[:n]
        name = f"{group_name} ({len(curves)} seeds)"
        series.append(RunSeries(name, x, np.nanmean(stack, axis=0), np.nanmin(stack, axis=0), np.nanmax(stack, axis=0), len(curves)))
    return series


def metric_references(records: Sequence[Any], metric: str) -> dict[str, float]:
    """The quality references (zero output, known-model estimator) that go with ``metric``, from the
    first of ``records`` that has them: overall ones, or the frequency's own for a per-frequency metric."""
    for record in records:
        reference = record.metrics.get("reference") if isinstance(record.metrics, dict) else None
        if not isinstance(reference, dict):
            continue
        if not metric.startswith("test MSE ") or metric == "test MSE":
            return {k: reference[k] for k in ("zero_output_mse", "known_model_mse") if isinstance(reference.get(k), (int, float))}
        for row in reference.get("per_frequency", []):
            if metric == f"test MSE {format_number(float(row['frequency_hz']))} Hz":
                return {k: row[k] for k in ("zero_output_mse", "known_model_mse") if isinstance(row.get(k), (int, float))}
    return {}
