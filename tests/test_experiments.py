"""Runs as experiments: names, notes and tags in the run folder; the comparison of several runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import main
from engine.analysis.comparison import compare, matches, run_series
from engine.analysis.report import report_markdown
from engine.config.schema import apply_overrides
from engine.runs.metrics import RunMetrics
from engine.runs.notes import RunNotes, display_names, notes_for, read_notes, varying_keys, write_notes
from engine.runs.run import Run, RunRecord, load_run
from gui.panels.run_details import diff_text
from tests.conftest import ROOT, history_of, scored_metrics, small_config
from tests.test_cli import small_args


def test_a_new_runs_default_name_says_what_it_changed_from_its_config(tmp_path):
    base = small_config(tmp_path)
    config = apply_overrides(base, ["model.hidden_size=256", "training.learning_rate=1e-3"])
    notes = notes_for(config, base, "config.yaml", note="more capacity for 1 Hz", tags=["capacity", "capacity", " lr "])
    assert notes.name == "hidden 256, lr 0.001"
    assert notes.changes == (("model.hidden_size", 16, 256), ("training.learning_rate", base.training.learning_rate, 0.001))
    assert notes.tags == ("capacity", "lr")
    assert notes_for(base, base, "config.yaml").name == "config.yaml as is"
    assert notes_for(config, base, name="  wide  ").name == "wide"


def test_a_sampled_value_is_named_to_four_significant_digits_and_the_change_keeps_it_exactly(tmp_path):
    base = small_config(tmp_path)
    config = apply_overrides(base, ["training.learning_rate=0.003538453590906551", "data.frequencies=[1, 3.14159265, 5, 7]"])
    notes = notes_for(config, base)
    assert notes.name == "frequencies [1, 3.142, 5, 7], lr 0.003538"  # a sweep trial's name, readable
    assert dict((k, new) for k, _, new in notes.changes)["training.learning_rate"] == 0.003538453590906551
    assert notes_for(apply_overrides(base, ["training.learning_rate=1e-5"]), base).name == "lr 1e-5"


def test_notes_are_written_atomically_with_an_ordinary_mode_and_survive_a_resume(tmp_path):
    os.umask(0o022)
    config = small_config(tmp_path, "training.num_epochs=3")
    run = Run.start(config, notes=RunNotes(name="baseline", note="the reference config", tags=("a",)))
    for report in run.epochs():
        if report.epoch == 1:
            break
    assert oct((run.folder / "notes.json").stat().st_mode & 0o777) == "0o644"
    assert not list(run.folder.glob(".*.tmp"))
    resumed = Run.resume(run.folder)
    list(resumed.epochs())
    resumed.finish()
    record = load_run(run.folder)
    assert (record.notes.name, record.notes.note, record.notes.tags) == ("baseline", "the reference config", ("a",))
    assert record.name == "baseline"
    write_notes(run.folder, record.notes.edited(note="edited later", tags="x, y"))
    assert read_notes(run.folder) == RunNotes(name="baseline", note="edited later", tags=("x", "y"))


def test_hostile_or_hand_edited_notes_never_break_a_run_listing(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for text in ["{", "[1, 2]", '{"name": 3, "tags": "a", "changes": [1, {"key": 2}]}', "\udcff"]:
        (folder / "notes.json").write_text(text, errors="surrogateescape")
        assert read_notes(folder) == RunNotes()
    (folder / "notes.json").write_text(json.dumps({"name": "n", "tags": ["ok", 5]}))
    assert read_notes(folder) == RunNotes(name="n", tags=("ok",))


def record(folder: str, config, metrics: RunMetrics, notes: RunNotes | None = None):
    notes = notes or RunNotes()
    return SimpleNamespace(folder=Path(folder), config=config, metrics=metrics, notes=notes, name=notes.name or folder)


def metrics_of(test: float, per: list[float], status: str = "completed") -> RunMetrics:
    return scored_metrics(test, per, status=status, validation_mse=test + 0.001, best_epoch=4)


def test_the_comparison_has_one_column_per_setting_that_differs_among_the_listed_runs(tmp_path):
    base = small_config(tmp_path)
    wide = apply_overrides(base, ["model.hidden_size=64"])
    wide_fast = apply_overrides(wide, ["training.learning_rate=0.01"])
    assert varying_keys([base, wide]) == ["model.hidden_size"]
    assert varying_keys([base, wide, wide_fast, None]) == ["model.hidden_size", "training.learning_rate"]
    assert varying_keys([base, base]) == [] and varying_keys([base]) == []
    records = [
        record("r1", base, metrics_of(0.02, [0.03, 0.01])),
        record("r2", wide_fast, metrics_of(0.01, [0.015, 0.005]), RunNotes(name="wide fast", tags=("capacity",))),
    ]
    table = compare(records)
    titles = table.titles()
    assert titles[:5] == ["name", "status", "test MSE", "test 1 Hz", "test 3 Hz"]
    assert titles[-4:] == ["model.hidden_size", "training.learning_rate", "tags", "run"]
    assert table.rows[1][titles.index("test 3 Hz")] == 0.005
    assert table.rows[1][titles.index("model.hidden_size")] == "64"
    assert table.rows[0][titles.index("training.learning_rate")] == repr(base.training.learning_rate)
    assert table.rows[1][titles.index("validation MSE")] == 0.01 + 0.001
    assert [matches(r, "#capacity") for r in records] == [False, True]
    assert [matches(r, "FAST") for r in records] == [False, True]
    assert [matches(r, "", status="completed") for r in records] == [True, True]
    assert not matches(records[0], "", status="stopped")


def test_train_takes_a_name_note_and_tags_and_note_edits_them_later(tmp_path, capsys):
    args = ["train", "--config", str(ROOT / "config.yaml"), "--runs-dir", str(tmp_path / "runs"), "--no-graphs", *small_args(tmp_path)]
    assert main.cli_main([*args, "--note", "smaller model", "--tag", "quick", "--tag", "cpu"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    notes = read_notes(folder)
    assert notes.note == "smaller model" and notes.tags == ("quick", "cpu") and notes.started_from.endswith("config.yaml")
    assert "hidden 8" in notes.name and "epochs 2" in notes.name  # what --set changed from the file
    assert main.cli_main(["note", str(folder), "--name", "tiny"]) == 0
    assert read_notes(folder).name == "tiny" and read_notes(folder).note == "smaller model"
    assert main.cli_main(["note", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    (folder / "notes.json").unlink()
    (folder / "notes.json").mkdir()  # a file the note cannot replace (as a read-only folder would be)
    assert main.cli_main(["note", str(folder), "--tag", "z"]) == 2
    assert "cannot write" in capsys.readouterr().err and not list(folder.glob("*.tmp"))  # no temporary file left


def named_run(folder: Path, config, notes: RunNotes, curve=(0.5, 0.4)) -> RunRecord:
    return RunRecord(folder, config, RunMetrics(), history_of(list(curve), list(curve)), notes)


def test_runs_from_different_files_are_named_by_the_settings_that_differ_among_them(tmp_path):
    wide_file = small_config(tmp_path, "model.hidden_size=128", "training.num_epochs=100")
    narrow_file = small_config(tmp_path, "model.hidden_size=64", "training.num_epochs=100", "training.num_threads=2")
    shorter = apply_overrides(wide_file, ["training.num_epochs=10"])
    records = [
        named_run(tmp_path / "r1", shorter, notes_for(shorter, wide_file, "hidden128.yaml")),
        named_run(tmp_path / "r2", narrow_file, notes_for(narrow_file, narrow_file, "hidden64.yaml")),
    ]
    assert [r.notes.name for r in records] == ["epochs 10", "hidden64.yaml as is"]  # each said only how it left its own file
    named = ["hidden 128, epochs 10", "hidden 64, epochs 100"]  # threads differ too: how a run was executed, never named
    assert [row[0] for row in compare(records).rows] == named  # the Runs tab's table
    assert [s.name for s in run_series(records, "train loss")] == named  # the overlay's legend
    assert [s.name for s in run_series(records, "train loss", numbered=True)] == ["1. hidden 128, epochs 10", "2. hidden 64, epochs 100"]
    assert diff_text(*records).splitlines()[0] == "hidden 128, epochs 10 → hidden 64, epochs 100"
    report = report_markdown(records, [])
    assert "### 1. hidden 128, epochs 10 (`r1`)" in report and "### 2. hidden 64, epochs 100 (`r2`)" in report
    assert "| setting | 1. hidden 128, epochs 10" in report and "| 2. hidden 64, epochs 100" in report  # the parameter evolution


def test_a_chosen_name_stays_and_seeds_name_runs_only_where_they_are_what_differs(tmp_path):
    base = small_config(tmp_path)
    reseeded = apply_overrides(base, ["model.seed=5"])
    wide = apply_overrides(base, ["model.hidden_size=64"])
    first, second = (named_run(tmp_path / f, c, notes_for(c, base, "c.yaml")) for f, c in (("a", base), ("b", reseeded)))
    chosen = named_run(tmp_path / "c", wide, notes_for(wide, base, "c.yaml", name="wide"), curve=(0.3, 0.2))
    assert display_names([first, second, chosen]) == ["hidden 16, seed 0", "hidden 16, seed 5", "wide"]
    assert display_names([second, chosen]) == ["hidden 16", "wide"]  # the seed differs too, but the hidden size tells them apart
    assert [s.name for s in run_series([first, second, chosen], "train loss", merge_seeds=True)] == ["hidden 16 (2 seeds)", "wide"]
    again = named_run(tmp_path / "d", base, notes_for(base, base, "c.yaml"))
    assert display_names([first, again]) == ["c.yaml as is (a)", "c.yaml as is (d)"]  # nothing tells them apart but their folders
    assert display_names([first]) == ["c.yaml as is"]


def test_the_runs_tabs_groups_are_named_by_the_settings_that_differ_among_them(tmp_path):
    from engine.analysis.effects import group_runs

    wide_file = small_config(tmp_path, "model.hidden_size=128")
    narrow_file = small_config(tmp_path, "model.hidden_size=64")
    shorter = apply_overrides(wide_file, ["training.num_epochs=10"])
    reseeded = apply_overrides(shorter, ["model.seed=3"])
    records = [
        named_run(tmp_path / "r1", shorter, notes_for(shorter, wide_file, "hidden128.yaml")),
        named_run(tmp_path / "r2", reseeded, notes_for(reseeded, wide_file, "hidden128.yaml")),  # a repeat: the same group
        named_run(tmp_path / "r3", narrow_file, notes_for(narrow_file, narrow_file, "hidden64.yaml")),
    ]
    assert [g.name for g in group_runs(records)] == ["hidden 128, epochs 10", "hidden 64, epochs 3"]
