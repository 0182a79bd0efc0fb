"""A training run in a child process, its events streamed back through a pipe.

A GUI that trains in one of its own threads shares the GIL with the training loop, which takes
and drops it around every tiny torch op: the GUI thread then waits for the GIL at each Qt call
and stalls for 100 ms and more (measured by ``benchmarks/gui_responsiveness.py``). A child
process has its own interpreter, so the front end only waits on a pipe. Stop and pause are
process-shared events that the loop checks before every optimizer step, as in a thread.

A ``TrainingProcess`` can be started before it is needed: it imports torch and the engine, then
waits for its one job, so pressing Start does not pay those seconds.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait

import torch

from engine.process.events import EpochDone, RunEvaluated, RunEvent, RunFinished, RunJob, RunStarted
from engine.runs.run import Run, active
from engine.runs.status import RunStatus
from engine.training.trainer import TrainingControl

CONTEXT = multiprocessing.get_context("spawn")  # fork would copy a GUI's threads and locks


def started_event(run: Run) -> RunStarted:
    """What a front end draws before the first new epoch, from the run's own test set."""
    test = run.splits.test
    window = min(run.config.visualization.time_window, test.n_samples)
    return RunStarted(
        folder=run.folder,
        device=str(run.device),
        num_epochs=run.config.training.num_epochs,
        frequencies=test.frequencies,
        t=test.t[:window].copy(),
        targets=test.targets[:, :window].copy(),
        history=run.session.history,
        dpi=run.config.visualization.dpi,
        reference=run.reference,
    )


def drive(job: RunJob, control: TrainingControl, emit: Callable[[RunEvent], None]) -> None:
    """Start (or resume) a run, train it, report its numbers, then write its graphs, and report every
    outcome, errors included, through ``emit``: the numbers never wait for the graphs."""
    export_graphs = job.export_graphs
    try:
        if job.resume is not None:
            run = Run.resume(job.resume)
        elif job.config is not None:
            run = Run.start(job.config, job.runs_dir, template=job.template, notes=job.notes)
        else:
            raise ValueError("a job names a config to start or a run folder to resume")
        started = started_event(run)
        emit(started)
        window = started.t.size
        for report in run.epochs(control):
            predictions = run.session.latest_test_predictions
            emit(EpochDone(report, None if predictions is None else predictions[:, :window].copy()))
        metrics = run.finish()
        graphs = export_graphs is not None and run.status != RunStatus.DIVERGED
        emit(RunEvaluated(run.status, run.message, metrics, graphs))
        message = run.message
        if graphs and export_graphs is not None:
            try:
                with active(run.folder):  # still this run's: not to be deleted while its PNGs are written
                    export_graphs(run.folder, run.config)
            except Exception as exc:  # the run is complete without its PNGs; say so, keep the run
                message = (message + "; " if message else "") + f"graphs could not be written: {exc.__class__.__name__}: {exc}"
        emit(RunFinished(run.status, message, metrics))
    except MemoryError:
        emit(RunFinished(RunStatus.FAILED, "out of memory: try a smaller hidden_size, batch or segments", None))
    except Exception as exc:  # any failure must reach the front end as a message
        emit(RunFinished(RunStatus.FAILED, f"{exc.__class__.__name__}: {exc}", None))


def _warm_up() -> None:
    """Pay now what a run's start would: the first optimizer imports torch's compiler stack (2 s here)."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _child(control: TrainingControl, ready, jobs: Connection, events: Connection) -> None:
    """The child's entry point: wait for one job and run it. A front end that dies or closes the
    pipe counts as a stop, so the run still ends cleanly, with its last checkpoint and metrics."""
    _warm_up()
    ready.set()  # the engine is imported and warm: a job starts at once
    parent = multiprocessing.parent_process()

    def stop_when_parent_dies(parent: multiprocessing.process.BaseProcess) -> None:
        wait([parent.sentinel])
        control.request_stop()

    def send(event: RunEvent) -> None:
        try:
            events.send(event)
        except OSError:  # a broken pipe: nobody listens any more
            control.request_stop()

    if parent is not None:
        threading.Thread(target=stop_when_parent_dies, args=(parent,), daemon=True).start()
    try:
        job = jobs.recv()
    except EOFError:  # a spare that was never used
        return
    finally:
        jobs.close()
    try:
        drive(job, control, send)
    finally:
        events.close()


class TrainingProcess:
    """A child process that imports the engine, then runs one job sent to it; start it early."""

    def __init__(self) -> None:
        self.control = TrainingControl(CONTEXT)
        self.ready = CONTEXT.Event()
        self.process: multiprocessing.process.BaseProcess | None = None
        self._jobs: Connection | None = None
        self.events: Connection | None = None

    @property
    def started(self) -> bool:
        return self.process is not None

    def start(self) -> None:
        """Spawn the child (raises if no process can be made)."""
        job_reader, self._jobs = CONTEXT.Pipe(duplex=False)
        self.events, event_writer = CONTEXT.Pipe(duplex=False)
        process = CONTEXT.Process(target=_child, args=(self.control, self.ready, job_reader, event_writer), name="training", daemon=True)
        try:
            process.start()
        except BaseException:
            for end in (self._jobs, self.events):
                end.close()
            raise
        finally:
            job_reader.close()  # only the child reads jobs and writes events
            event_writer.close()
        self.process = process

    def submit(self, job: RunJob) -> None:
        assert self._jobs is not None, "start() first"
        self._jobs.send(job)
        self._jobs.close()

    def close(self, timeout: float = 30.0) -> None:
        """End the child: an unused one exits at once; a running one was asked to stop."""
        if self.process is None:
            return
        if self.process.is_alive():  # a dead one must not leave the stop set on a control its successor shares
            self.control.request_stop()
        assert self._jobs is not None and self.events is not None  # start() made both pipes with the process
        for end in (self._jobs, self.events):
            end.close()
        self.process.join(timeout=timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class BackgroundRun:
    """One run in a child process: ``events()`` yields what the run reports, ``control`` steers it."""

    def __init__(self, job: RunJob, worker: TrainingProcess | None = None):
        self.job = job
        self.worker = worker or TrainingProcess()
        self.control = self.worker.control

    @property
    def process(self) -> multiprocessing.process.BaseProcess | None:
        return self.worker.process

    def events(self) -> Iterator[RunEvent]:
        """Run the job to its end; the last event is always a ``RunFinished``."""
        worker = self.worker
        try:
            if worker.process is not None and not worker.process.is_alive():  # a spare that died while waiting: use a new one
                worker.close()
                worker = self.worker = TrainingProcess()
                worker.control = self.control
            if not worker.started:
                worker.start()
            worker.submit(self.job)
        except Exception as exc:  # no process could be made: still a message, never a hung front end
            worker.close()
            yield RunFinished(RunStatus.FAILED, f"the training process could not start: {exc.__class__.__name__}: {exc}", None)
            return
        try:
            process, pipe = worker.process, worker.events
            assert process is not None and pipe is not None  # started above
            while True:
                try:
                    event = pipe.recv()
                except EOFError:
                    process.join()
                    ended = f"the training process ended unexpectedly (exit code {process.exitcode})"
                    yield RunFinished(RunStatus.FAILED, ended, None)
                    return
                yield event
                if isinstance(event, RunFinished):
                    return
        finally:
            worker.close()  # a no-op wait after RunFinished; ends a child whose reader left early
