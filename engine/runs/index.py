"""The runs folder's index of run configs, so a list of hundreds of runs opens in a fraction of a second.

Reading a run folder is cheap except its config.yaml: a YAML parse costs milliseconds, seconds over
hundreds of runs. The index keeps each config's validated values in one JSON file beside the runs,
and an entry is used only while the file's inode, size and modification time are those it was read
at: a config written since (every write replaces the file) is read again, so nothing shown is stale.
A damaged or foreign index is ignored and rebuilt; one that cannot be written only costs speed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.config.schema import Config, ConfigError, config_from_dict, load_config
from engine.storage.files import atomic_write_json

INDEX_FILE = ".index.json"
INDEX_VERSION = 1


def _signature(path: Path) -> list[int] | None:
    """What changes whenever the file is replaced or rewritten: inode, size, modification time (ns)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


class ConfigIndex:
    """The validated configs of a runs folder's runs, keyed by run folder name, kept beside them."""

    def __init__(self, runs_dir: Path):
        self.path = Path(runs_dir) / INDEX_FILE
        self.entries = self._read()
        self.changed = False

    def _read(self) -> dict[str, Any]:
        try:
            index = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        ok = isinstance(index, dict) and index.get("version") == INDEX_VERSION and isinstance(index.get("configs"), dict)
        return index["configs"] if ok else {}

    def config(self, folder: Path) -> Config | None:
        """The run's config (None when it has none that validates), from the index while its file is unchanged."""
        path = Path(folder) / "config.yaml"
        signature = _signature(path)
        entry = self.entries.get(Path(folder).name)
        if isinstance(entry, dict) and signature is not None and entry.get("signature") == signature:
            try:
                return None if entry.get("config") is None else config_from_dict(entry["config"])
            except (ConfigError, TypeError, AttributeError):
                pass  # an entry of the wrong shape: read the file instead
        try:
            config: Config | None = load_config(path)
        except ConfigError:
            config = None
        self.entries[Path(folder).name] = {"signature": signature, "config": None if config is None else _plain(config.to_dict())}
        self.changed = True
        return config

    def save(self, keep: Callable[[str], bool] | None = None) -> None:
        """Write the index if it changed, without entries for folders ``keep`` rejects (runs deleted since)."""
        if keep is not None:
            gone = [name for name in self.entries if not keep(name)]
            for name in gone:
                del self.entries[name]
            self.changed |= bool(gone)
        if not self.changed:
            return
        try:
            atomic_write_json(self.path, {"version": INDEX_VERSION, "configs": self.entries})
        except OSError:
            return  # a read-only runs folder: the next listing reads the files again
        self.changed = False


def _plain(value: Any) -> Any:
    """JSON's types for a config's values (paths become text, as config.yaml holds them)."""
    return json.loads(json.dumps(value, default=str))
