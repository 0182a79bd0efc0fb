"""Nothing lost, nothing crashes: kills, signals, divergence, fuzzed configs, disk faults, long runs."""

from __future__ import annotations

import errno
import json
import os
import pathlib
import random
import signal
import stat
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import main
from engine.config.schema import SECTION_TYPES, Config, ConfigError, config_from_dict, dump_config, load_config, parse_yaml, schema_fields
from engine.runs.integrity import damaged_files
from engine.runs.run import Run, RunError
from engine.storage.files import atomic_write_text, system_folder
from engine.training.checkpoints import load_checkpoint, read_torch_file
from engine.training.history import History
from tests.conftest import ROOT, small_config
from tests.kill_resume import kill_campaign, only_run_folder, start_training, wait_for

# ----- 1. interruption --------------------------------------------------------------------------


def test_sigkill_at_random_moments_loses_nothing_and_resume_ends_identical(tmp_path):
    seed = random.SystemRandom().randrange(2**32)
    survived, tried, details = kill_campaign(tmp_path, kills=3, seed=seed)
    assert tried >= 1, details
    assert survived == tried, (seed, details)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_stop_at_the_next_step_save_and_exit(tmp_path, sig, code):
    process = start_training(tmp_path / "runs", tmp_path / "data")
    folder = only_run_folder(tmp_path / "runs")
    wait_for(lambda: (folder / "history.csv").exists() or process.poll() is not None, what="a first epoch")
    process.send_signal(sig)
    assert process.wait(timeout=60) == code
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "stopped"
    assert load_checkpoint(folder / "checkpoints" / "last.pt").epoch == metrics["epochs_completed"]
    assert damaged_files(folder) == []


# ----- 2. divergence ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["interleaved", "streams"])
def test_a_learning_rate_of_10_stops_as_diverged_keeping_the_last_good_checkpoint(tmp_path, mode):
    run = Run.start(small_config(tmp_path, f"training.mode={mode}", "training.learning_rate=10"))
    reports = list(run.epochs())
    metrics = run.finish()
    assert run.status == "diverged" and metrics.status == "diverged"
    assert f"diverged at epoch {len(reports) + 1}" in metrics.message
    last = load_checkpoint(run.folder / "checkpoints" / "last.pt")
    assert last.epoch == len(reports)
    assert all(torch.isfinite(v).all() for v in last.model.values())


def test_the_cli_reports_divergence_with_exit_1(tmp_path, capsys):
    args = ["train", "--config", str(ROOT / "config.yaml"), "--runs-dir", str(tmp_path / "runs"), "--no-graphs"]
    for setting in ["data.sampling_rate=100", "data.duration=1", f"data.data_dir={tmp_path}", "training.learning_rate=10"]:
        args += ["--set", setting]
    assert main.cli_main(args) == 1
    assert "error: training diverged at epoch 1" in capsys.readouterr().err


# ----- 3. checkpoints (hostile pickles: tests/test_runs.py) --------------------------------------


def test_a_checkpoint_whose_config_does_not_match_its_weights_is_named(tmp_path, capsys):
    run = Run.start(small_config(tmp_path))
    payload = read_torch_file(run.folder / "checkpoints" / "last.pt")
    payload["config"]["model"]["hidden_size"] = 32
    bad = tmp_path / "mismatch.pt"
    torch.save(payload, bad)
    assert main.cli_main(["evaluate", "--checkpoint", str(bad)]) == 2
    assert "do not fit the architecture in its config: the checkpoint has hidden size 16, the config 32" in capsys.readouterr().err


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.update(progress="x"),
        lambda p: p.pop("progress"),
        lambda p: p.update(progress={**p["progress"], "epoch": "one"}),
        lambda p: p.update(optimizer=[1]),
        lambda p: p.update(history=5),
        lambda p: p.update(rng={"torch": "x"}),
    ],
)
def test_a_checkpoint_of_the_right_format_with_a_damaged_body_is_named_by_evaluate_and_resume(tmp_path, capsys, damage):
    run = Run.start(small_config(tmp_path))
    last = run.folder / "checkpoints" / "last.pt"
    payload = read_torch_file(last)
    damage(payload)
    torch.save(payload, last)
    for command in (["evaluate", "--checkpoint", str(last)], ["train", "--resume", str(run.folder), "--no-graphs"]):
        code = main.cli_main(command)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if command[0] == "train" or "progress" in err:  # evaluate reads the weights and the epoch only
            assert code == 2 and str(run.folder) in err


# ----- 4. fuzzed configs -------------------------------------------------------------------------

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
ALL_KEYS = [(section, f.name) for section in SECTION_TYPES for f in schema_fields(section)]
KEY_NAMES = (*SECTION_TYPES, "config")
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(raw) -> Config | None:
    """Accepted, or every message names a key (section.key or the document) and what is allowed."""
    try:
        config = config_from_dict(raw)
    except ConfigError as exc:
        assert exc.messages
        names = [*KEY_NAMES, *(map(str, raw) if isinstance(raw, dict) else [])]
        for message in exc.messages:
            assert any(message.startswith(name) for name in names), message
            assert "allowed" in message, message
        return None
    assert load_config_text(dump_config(config)) == config  # whatever is accepted saves and loads back,
    assert load_config_text(dump_config(config, USERS_FILE)) == config  # through the comment-keeping path too
    return config


USERS_FILE = (ROOT / "config.yaml").read_text()


def load_config_text(text: str) -> Config:
    return config_from_dict(parse_yaml(text))


@FUZZ
@given(document=yaml_values)
def test_random_yaml_documents_are_accepted_or_named(document):
    outcome(document)


@FUZZ
@given(key=st.sampled_from(ALL_KEYS), value=yaml_values)
def test_random_values_at_every_key_are_accepted_or_named(key, value):
    section, name = key
    outcome({section: {name: value}})


@FUZZ
@given(text=st.text(max_size=200) | yaml_values.map(str))
def test_random_files_load_or_give_messages_and_write_nothing(tmp_path, text):
    path = tmp_path / "fuzz" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    try:
        load_config(path)
    except ConfigError as exc:
        assert all("allowed" in m for m in exc.messages), exc.messages
    assert sorted(tmp_path.rglob("*")) == before


def test_folders_that_escape_into_system_folders_are_resolved_and_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    escape = "../" * (len(tmp_path.parts) + 2) + "etc/lstm-runs"
    with pytest.raises(ConfigError) as info:
        config_from_dict({"training": {"runs_dir": escape}, "data": {"data_dir": "/usr/lib/x"}})
    text = str(info.value)
    assert "training.runs_dir" in text and "resolves to /etc/lstm-runs" in text
    assert "data.data_dir" in text and "/usr" in text
    assert system_folder("/usr") is not None and system_folder("/binaries/runs") is None  # a folder, not a name's start
    up = config_from_dict({"training": {"runs_dir": "../elsewhere"}})  # outside the project but a user folder: allowed
    run = Run.start(small_config(tmp_path, f"training.runs_dir={up.training.runs_dir}"))
    assert run.folder.parent == tmp_path.parent / "elsewhere"  # shown resolved, no .. left


def test_export_refuses_to_overwrite_a_file_it_did_not_write(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  sampling_rate: 20\n  duration: 1\n  data_dir: {tmp_path / 'data'}\n")
    precious = tmp_path / "out" / "train.csv"
    precious.parent.mkdir()
    precious.write_text("my thesis numbers\n")
    assert main.cli_main(["export-data", "--config", str(config), "--out", str(precious.parent)]) == 2
    assert "not a table this workbench wrote" in capsys.readouterr().err
    assert precious.read_text() == "my thesis numbers\n"


# ----- 5. disk and permission faults ------------------------------------------------------------


def test_a_read_only_runs_dir_is_refused_before_training(tmp_path, monkeypatch):
    real_mkdir = pathlib.Path.mkdir

    def read_only(self, *args, **kwargs):
        if tmp_path / "runs" in [self, *self.parents]:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    with pytest.raises(RunError, match=r"training\.runs_dir: cannot write .*Read-only file system"):
        Run.start(small_config(tmp_path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_a_runs_dir_without_write_permission_is_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs").chmod(0o555)
    with pytest.raises(RunError, match=r"training\.runs_dir: cannot write"):
        Run.start(small_config(tmp_path))


@pytest.mark.parametrize("failing_write", [3, 5, 8])
def test_a_full_disk_mid_run_stops_with_a_message_and_keeps_complete_files(tmp_path, monkeypatch, failing_write):
    run = Run.start(small_config(tmp_path, "training.num_epochs=10"))
    real_fdopen = os.fdopen
    writes = []

    class FullDisk:
        """A file that accepts half of what is written, then reports the disk full."""

        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def fdopen(fd, *args, **kwargs):
        writes.append(fd)
        handle = real_fdopen(fd, *args, **kwargs)
        return FullDisk(handle) if len(writes) == failing_write else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(RunError, match=r"No space left on device.*previous files are intact"):
        list(run.epochs())
    monkeypatch.undo()
    assert damaged_files(run.folder) == []
    assert not list(run.folder.rglob("*.tmp"))
    resumed = Run.resume(run.folder)
    assert [r.epoch for r in resumed.epochs()][-1] == 10


# ----- 6. long runs ------------------------------------------------------------------------------


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_two_thousand_epochs_keep_memory_flat(tmp_path, capsys):
    config = small_config(
        tmp_path, "data.sampling_rate=20", "data.duration=1", "model.hidden_size=8", "training.num_epochs=2000", "training.num_threads=1"
    )
    run = Run.start(config)
    rss = {}
    for report in run.epochs():
        if report.epoch in (100, 2000):
            rss[report.epoch] = rss_mib()
    with capsys.disabled():
        print(f"\nRSS after epoch 100: {rss[100]:.1f} MiB, after epoch 2000: {rss[2000]:.1f} MiB")
    assert rss[2000] - rss[100] < 16
    assert len(History.read(run.folder / "history.csv")) == 2000


# ----- 7. determinism ----------------------------------------------------------------------------

TIMING_KEYS = {"seconds_per_epoch", "wall_seconds", "time_to_test_mse", "finished_at"}


@pytest.mark.parametrize("mode", ["interleaved", "streams"])
def test_same_config_and_seeds_give_bit_identical_metrics_and_record_the_environment(tmp_path, mode):
    config = small_config(tmp_path, f"training.mode={mode}", "training.input_noise=0.05" if mode == "streams" else "training.num_epochs=3")
    first, second = Run.start(config), Run.start(config)
    results = []
    for run in (first, second):
        losses = [r.train_loss for r in run.epochs()]
        metrics = run.finish()
        results.append((losses, {k: v for k, v in metrics.to_json().items() if k not in TIMING_KEYS}))
    assert results[0] == results[1]
    env = results[0][1]["environment"]
    assert env["torch"] == torch.__version__ and env["python"] == sys.version.split()[0]
    assert env["device"] == "cpu" and env["seeds"] == {"model": 0, "train": 1, "test": 2, "validation": 3}
    assert "numpy" in env


# ----- 7. file modes ---------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_files_get_the_mode_an_ordinary_write_gives(tmp_path, umask):
    previous = os.umask(umask)
    try:
        run = Run.start(small_config(tmp_path, "training.num_epochs=1"))
        list(run.epochs())
        run.finish()
        (tmp_path / "plain").write_text("x")
        expected = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    finally:
        os.umask(previous)
    assert expected == 0o666 & ~umask
    files = [p for p in run.folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.yaml", "metrics.json", "history.csv", "last.pt", "best.pt", "predictions.npz"}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: oct(expected) for p in files}


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_replacing_a_file_keeps_its_own_mode(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
