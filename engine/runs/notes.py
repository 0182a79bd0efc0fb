"""A run's notes (notes.json: its name, the reason for the change, tags, what it started from) and
the names runs get when listed together, from the settings that differ among them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.schema import SEED_KEYS, Config, config_changes, flat_values, format_number, is_execution_key
from engine.storage.files import atomic_write_json

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
    """Each run's name where ``records`` (engine.runs.run.RunRecord) are listed together: a chosen name as is;
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


def varying_keys(configs: Sequence[Config | None]) -> list[str]:
    """The settings whose values differ among ``configs`` (runs without a readable config ignored)."""
    values = [flat_values(c) for c in configs if c is not None]
    if len(values) < 2:
        return []
    return [key for key in values[0] if any(v.get(key) != values[0][key] for v in values[1:])]
