"""The runs folder's config index: a listing reads each config.yaml once, and never shows a stale one."""

from __future__ import annotations

import json
import os

import pytest

from engine.config.schema import dump_config
from engine.runs import index as index_module
from engine.runs.index import INDEX_FILE
from engine.runs.run import Run, load_run, load_runs
from engine.storage.files import atomic_write_text
from tests.conftest import small_config


@pytest.fixture
def runs_dir(tmp_path):
    for hidden in (8, 12):
        Run.start(small_config(tmp_path, f"model.hidden_size={hidden}", f"training.runs_dir={tmp_path / 'runs'}"))
    return tmp_path / "runs"


def no_yaml(monkeypatch):
    def refuse(path):
        raise AssertionError(f"{path} parsed although its index entry is current")

    monkeypatch.setattr(index_module, "load_config", refuse)


def test_a_second_listing_takes_the_configs_from_the_index(runs_dir, monkeypatch):
    first = load_runs(runs_dir)
    assert (runs_dir / INDEX_FILE).exists()
    no_yaml(monkeypatch)
    again = load_runs(runs_dir)
    assert [r.config for r in again] == [r.config for r in first] == [load_run(r.folder).config for r in first]
    assert sorted(r.config.model.hidden_size for r in again) == [8, 12]


def test_a_config_written_since_is_read_again(runs_dir):
    records = load_runs(runs_dir)
    changed = records[0]
    atomic_write_text(changed.folder / "config.yaml", dump_config(small_config(runs_dir, "model.hidden_size=20")))
    again = {r.folder: r for r in load_runs(runs_dir)}
    assert again[changed.folder].config.model.hidden_size == 20


def test_a_config_rewritten_in_place_with_the_same_size_is_read_again(runs_dir):
    """An editor that writes into the file keeps its inode and size; the modification time still tells."""
    folder = load_runs(runs_dir)[0].folder
    path = folder / "config.yaml"
    text = path.read_text()
    hidden = load_run(folder).config.model.hidden_size
    other = 9 if hidden != 9 else 7  # one digit for one digit: the same size
    path.write_text(text.replace(f"hidden_size: {hidden}", f"hidden_size: {other}"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
    assert {r.folder: r for r in load_runs(runs_dir)}[folder].config.model.hidden_size == other


FOREIGN_INDEXES = ["{not json", json.dumps({"version": 99, "configs": {}}), json.dumps({"version": 1, "configs": {"x": 5}})]


@pytest.mark.parametrize("index_text", FOREIGN_INDEXES)
def test_a_damaged_or_foreign_index_is_ignored_and_rewritten(runs_dir, index_text):
    load_runs(runs_dir)
    (runs_dir / INDEX_FILE).write_text(index_text)
    assert sorted(r.config.model.hidden_size for r in load_runs(runs_dir)) == [8, 12]
    assert json.loads((runs_dir / INDEX_FILE).read_text())["version"] == 1


def test_a_poisoned_entry_is_read_from_the_file_instead(runs_dir):
    records = load_runs(runs_dir)
    index = json.loads((runs_dir / INDEX_FILE).read_text())
    for entry in index["configs"].values():
        entry["config"] = {"model": "not a section"}
    (runs_dir / INDEX_FILE).write_text(json.dumps(index))
    assert [r.config for r in load_runs(runs_dir)] == [r.config for r in records]


def test_a_deleted_run_leaves_the_index_and_an_invalid_config_stays_none(runs_dir):
    first, second = load_runs(runs_dir)
    (second.folder / "checkpoints" / "last.pt").unlink()
    (second.folder / "checkpoints").rmdir()
    (first.folder / "config.yaml").write_text("model:\n  hidden_size: -3\n")
    records = load_runs(runs_dir)
    assert [r.folder for r in records] == [first.folder] and records[0].config is None
    assert set(json.loads((runs_dir / INDEX_FILE).read_text())["configs"]) == {first.folder.name}
    assert load_runs(runs_dir)[0].config is None


def test_progress_counts_each_run_and_can_stop_the_listing(runs_dir):
    seen = []
    records = load_runs(runs_dir, progress=lambda done, total: seen.append((done, total)) or False)
    assert seen == [(1, 2)] and len(records) == 1
