"""A run in a child process (engine.background): same numbers as in-process, stoppable, and a
child that dies is reported instead of hanging the front end. No Qt involved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.kill_resume import wait_for
from engine.background import CONTEXT, BackgroundRun
from engine.runs import Run
from tests.conftest import ROOT, small_config


def test_a_child_process_run_reports_each_epoch_and_matches_an_in_process_run(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=2")
    events = list(BackgroundRun(config, None).events())
    kinds = [event[0] for event in events]
    assert kinds == ["started", "epoch", "epoch", "finished"]
    _, folder, device = events[0]
    assert Path(folder).is_dir() and device == "cpu"
    reports = [event[1] for event in events if event[0] == "epoch"]
    assert [r.epoch for r in reports] == [1, 2]
    predictions = events[2][2]
    assert predictions.shape[0] == 4 and predictions.flags.writeable  # the GUI's own copy
    status, message, metrics = events[-1][1:]
    assert status == "completed" and message == "" and metrics["epochs_completed"] == 2

    local = Run.start(config)
    assert [r.train_loss for r in local.epochs()] == [r.train_loss for r in reports]  # the same engine, bit for bit
    local.finish()


def test_stop_and_pause_reach_the_child_and_the_run_ends_stopped_with_last_pt(tmp_path):
    run = BackgroundRun(small_config(tmp_path, "training.num_epochs=100000"), None)
    epochs_seen = 0
    for event in run.events():
        if event[0] == "epoch":
            epochs_seen += 1
            if epochs_seen == 1:
                run.control.pause()
                assert run.control.paused
                run.control.resume()
            else:
                run.control.request_stop()
        elif event[0] == "started":
            folder = Path(event[1])
    assert event[:2] == ("finished", "stopped")
    assert 2 <= event[3]["epochs_completed"] < 100000
    assert torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["progress"]["epoch"] == event[3]["epochs_completed"]


def test_a_child_that_dies_is_reported_as_a_failed_run(tmp_path):
    run = BackgroundRun(small_config(tmp_path, "training.num_epochs=100000"), None)
    events = run.events()
    assert next(events)[0] == "started"
    run.process.kill()
    last = list(events)[-1]
    assert last[:2] == ("finished", "failed") and "ended unexpectedly" in last[2]
    assert not run.process.is_alive()


def test_a_run_the_engine_cannot_resume_comes_back_as_a_message(tmp_path):
    events = list(BackgroundRun(None, None, resume=tmp_path / "no-such-run").events())
    assert len(events) == 1 and events[0][:2] == ("finished", "failed")
    assert "no-such-run" in events[0][2]


FRONT_END = """
import sys
from pathlib import Path
from engine.background import CONTEXT, BackgroundRun
from tests.conftest import small_config
run = BackgroundRun(small_config(Path(sys.argv[1]), "training.num_epochs=100000"), None)
for event in run.events():
    if event[0] == "started":
        print(event[1], flush=True)
        sys.stdin.read()  # a front end that hangs here until it is killed
"""


def test_a_front_end_killed_mid_run_leaves_a_cleanly_stopped_run(tmp_path):
    front_end = subprocess.Popen(
        [sys.executable, "-c", FRONT_END, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    folder = Path(front_end.stdout.readline().strip())
    wait_for(lambda: (folder / "history.csv").exists(), what="a first epoch")
    front_end.kill()  # SIGKILL: no chance to stop the child
    front_end.wait()
    metrics = folder / "metrics.json"
    wait_for(lambda: metrics.exists(), what="the orphaned child to stop and finish its run")
    assert json.loads(metrics.read_text())["status"] == "stopped"
    assert torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["progress"]["epoch"] >= 1


def test_a_process_that_cannot_start_comes_back_as_a_message(tmp_path, monkeypatch):
    def refuse(self):
        raise OSError("no more processes")

    monkeypatch.setattr(type(CONTEXT.Process()), "start", refuse)
    events = list(BackgroundRun(small_config(tmp_path), None).events())
    assert len(events) == 1 and events[0][:2] == ("finished", "failed")
    assert "could not start: OSError: no more processes" in events[0][2]
