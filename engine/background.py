"""A training run in a child process, its events streamed back through a pipe.

A GUI that trains in one of its own threads shares the GIL with the training loop, which takes
and drops it around every tiny torch op: the GUI thread then waits for the GIL at each Qt call
and stalls for 100 ms and more (measured by ``benchmarks/gui_responsiveness.py``). A child
process has its own interpreter, so the front end only waits on a pipe. Stop and pause are
process-shared events that the loop checks before every optimizer step, as in a thread.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.runs import Run
from engine.trainer import TrainingControl

CONTEXT = multiprocessing.get_context("spawn")  # fork would copy a GUI's threads and locks

Event = tuple[Any, ...]  # ("started", folder, device) | ("epoch", report, predictions) | ("finished", status, message, metrics)


def drive(
    config: Config | None,
    runs_dir: Path | None,
    resume: Path | None,
    template: str | None,
    control: TrainingControl,
    emit: Callable[[Event], None],
) -> None:
    """Start (or resume) a run, train it, and report every outcome, errors included, through ``emit``."""
    try:
        run = Run.resume(resume) if resume is not None else Run.start(config, runs_dir, template=template)
        emit(("started", str(run.folder), str(run.device)))
        for report in run.epochs(control):
            emit(("epoch", report, run.session.latest_test_predictions))
        metrics = run.finish()
        emit(("finished", run.status, run.message, metrics))
    except MemoryError:
        emit(("finished", "failed", "out of memory: try a smaller hidden_size, batch or segments", None))
    except Exception as exc:  # any failure must reach the front end as a message
        emit(("finished", "failed", f"{exc.__class__.__name__}: {exc}", None))


def _child(config, runs_dir, resume, template, control: TrainingControl, events: Connection) -> None:
    """The child's entry point: a front end that dies or closes the pipe counts as a stop, so the
    run still ends cleanly, with its last checkpoint and metrics written."""
    parent = multiprocessing.parent_process()

    def stop_when_parent_dies() -> None:
        wait([parent.sentinel])
        control.request_stop()

    def send(event: Event) -> None:
        try:
            events.send(event)
        except OSError:  # a broken pipe: nobody listens any more
            control.request_stop()

    if parent is not None:
        threading.Thread(target=stop_when_parent_dies, daemon=True).start()
    try:
        drive(config, runs_dir, resume, template, control, send)
    finally:
        events.close()


class BackgroundRun:
    """One run in a child process: ``events()`` yields what the run reports, ``control`` steers it."""

    def __init__(self, config: Config | None, runs_dir: Path | None, resume: Path | None = None, template: str | None = None):
        self.arguments = (config, runs_dir, resume, template)
        self.control = TrainingControl(CONTEXT)
        self.process: multiprocessing.process.BaseProcess | None = None

    def events(self) -> Iterator[Event]:
        """Run the child to its end; the last event is always ``("finished", ...)``."""
        receiver, sender = CONTEXT.Pipe(duplex=False)
        process = self.process = CONTEXT.Process(target=_child, args=(*self.arguments, self.control, sender), name="training", daemon=True)
        try:
            process.start()
        except Exception as exc:  # no process could be made: still a message, never a hung front end
            receiver.close()
            yield ("finished", "failed", f"the training process could not start: {exc.__class__.__name__}: {exc}", None)
            return
        finally:
            sender.close()  # only the child writes: its exit then ends our reads
        try:
            while True:
                try:
                    event = receiver.recv()
                except EOFError:
                    process.join()
                    yield ("finished", "failed", f"the training process ended unexpectedly (exit code {process.exitcode})", None)
                    return
                yield event
                if event[0] == "finished":
                    return
        finally:
            self.control.request_stop()  # a no-op after "finished"; ends a child whose reader left early
            receiver.close()
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
