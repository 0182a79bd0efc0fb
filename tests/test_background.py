"""A run in a child process (engine.process.training_process): same numbers as in-process, stoppable, and a
child that dies is reported instead of hanging the front end. No Qt involved."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from engine.process.events import EpochDone, RunEvaluated, RunFinished, RunJob, RunStarted
from engine.process.training_process import CONTEXT, BackgroundRun, TrainingProcess, drive
from engine.runs.run import Run
from engine.training.trainer import TrainingControl
from gui.plots.run_graphs import export_graphs
from tests.conftest import ROOT, small_config
from tests.kill_resume import wait_for


def test_a_child_process_run_reports_each_epoch_and_matches_an_in_process_run(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=2")
    events = list(BackgroundRun(RunJob(config)).events())
    assert [type(event) for event in events] == [RunStarted, EpochDone, EpochDone, RunEvaluated, RunFinished]
    assert events[3].metrics == events[4].metrics and not events[3].graphs_follow
    started = events[0]
    assert started.folder.is_dir() and started.device == "cpu" and len(started.history) == 0
    assert started.targets.shape == (4, 100) and started.t.shape == (100,)  # the config's time window, drawn before epoch 1
    reports = [event.report for event in events[1:3]]
    assert [r.epoch for r in reports] == [1, 2]
    predictions = events[2].predictions
    assert predictions.shape == (4, 100) and predictions.flags.writeable  # the GUI's own copy
    finished = events[-1]
    assert (finished.status, finished.message, finished.metrics.epochs_completed) == ("completed", "", 2)
    assert not list((started.folder / "graphs").glob("*.png"))  # no exporter given: no graphs

    local = Run.start(config)
    assert [r.train_loss for r in local.epochs()] == [r.train_loss for r in reports]  # the same engine, bit for bit
    local.finish()


def test_a_process_started_in_advance_runs_the_job_and_writes_the_graphs(tmp_path):
    spare = TrainingProcess()
    spare.start()
    job = RunJob(small_config(tmp_path, "training.num_epochs=1"), export_graphs=export_graphs)
    events = list(BackgroundRun(job, worker=spare).events())
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    graphs = sorted(p.name for p in (events[0].folder / "graphs").glob("*.png"))
    assert "loss_curve.png" in graphs and "graph2_all_frequencies.png" in graphs
    assert not spare.process.is_alive()


def test_the_numbers_are_reported_before_the_graphs_are_written(tmp_path):
    events: list = []
    seen_by_exporter: list = []

    def exporter(folder: Path, config) -> list[Path]:
        seen_by_exporter.append([type(event) for event in events])
        assert json.loads((folder / "metrics.json").read_text())["status"] == "completed"  # what the front end reads
        return export_graphs(folder, config)

    drive(RunJob(small_config(tmp_path, "training.num_epochs=1"), export_graphs=exporter), TrainingControl(), events.append)
    assert seen_by_exporter == [[RunStarted, EpochDone, RunEvaluated]]
    evaluated, finished = events[-2:]
    assert evaluated.graphs_follow and evaluated.metrics == finished.metrics and finished.status == "completed"


def test_an_unused_spare_process_ends_when_closed():
    spare = TrainingProcess()
    spare.start()
    spare.close(timeout=60)
    assert spare.process.exitcode == 0


def test_pause_parks_the_loop_with_no_epoch_or_checkpoint_advancing_until_resumed(tmp_path):
    run = BackgroundRun(RunJob(small_config(tmp_path, "training.num_epochs=100000")))
    events = run.events()
    folder = next(events).folder
    reports = [next(events).report]
    run.control.pause()
    assert run.control.parked.wait(timeout=60), "the training loop never waited in the pause"
    while run.worker.events.poll():  # epochs that ended before the loop reached the pause
        reports.append(next(events).report)
    parked_at = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["progress"]["epoch"]
    assert parked_at == reports[-1].epoch  # parked: nothing sent, nothing saved past the last report
    assert run.control.parked.is_set() and not run.worker.events.poll()
    run.control.resume()
    assert next(events).report.epoch == parked_at + 1
    run.control.request_stop()
    assert list(events)[-1].status == "stopped"


def test_paused_time_is_not_training_time(tmp_path):
    run = BackgroundRun(RunJob(small_config(tmp_path, "training.num_epochs=100000")))
    events = run.events()
    next(events)
    reports = [next(events).report]
    run.control.pause()
    assert run.control.parked.wait(timeout=60)
    pause_s = 3.0  # far longer than an epoch of this small set
    time.sleep(pause_s)  # the pause being measured, not a wait for something to happen
    run.control.resume()
    while len(reports) < 4:
        reports.append(next(events).report)
    run.control.request_stop()
    finished = list(events)[-1]
    steps = [b.wall_seconds - a.wall_seconds for a, b in itertools.pairwise(reports)]
    assert max(steps) < pause_s, steps  # counted, the pause alone would make one step longer than this
    assert max(r.epoch_seconds for r in reports) < pause_s
    assert reports[-1].wall_seconds < sum(r.epoch_seconds for r in reports) + pause_s  # the ETA's and budget's clock
    assert finished.metrics.wall_seconds == reports[-1].wall_seconds


def test_a_child_that_dies_is_reported_as_a_failed_run(tmp_path):
    run = BackgroundRun(RunJob(small_config(tmp_path, "training.num_epochs=100000")))
    events = run.events()
    assert isinstance(next(events), RunStarted)
    run.process.kill()
    last = list(events)[-1]
    assert last.status == "failed" and "ended unexpectedly" in last.message
    assert not run.process.is_alive()


def test_a_run_the_engine_cannot_resume_comes_back_as_a_message(tmp_path):
    events = list(BackgroundRun(RunJob(resume=tmp_path / "no-such-run")).events())
    assert len(events) == 1 and events[0].status == "failed"
    assert "no-such-run" in events[0].message


FRONT_END = """
import sys
from pathlib import Path
from engine.process.training_process import CONTEXT, BackgroundRun
from engine.process.events import RunJob
from tests.conftest import small_config
run = BackgroundRun(RunJob(small_config(Path(sys.argv[1]), "training.num_epochs=100000")))
for event in run.events():
    if hasattr(event, "folder"):
        print(event.folder, flush=True)
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
    events = list(BackgroundRun(RunJob(small_config(tmp_path))).events())
    assert len(events) == 1 and events[0].status == "failed"
    assert "could not start: OSError: no more processes" in events[0].message


def test_a_spare_that_died_while_waiting_is_replaced(tmp_path):
    spare = TrainingProcess()
    spare.start()
    spare.process.kill()
    spare.process.join()
    run = BackgroundRun(RunJob(small_config(tmp_path, "training.num_epochs=1")), worker=spare)
    events = list(run.events())
    assert events[-1].status == "completed" and run.worker is not spare
    assert not run.worker.process.is_alive()
