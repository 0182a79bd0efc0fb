"""Background tasks for the window: slow work (reading runs, a study, a checkpoint; writing a report;
generating a preview) runs on a thread pool, and its result, error and progress come back by Qt
signals on the window's thread, so the window never waits on it.

A task is a plain callable given a ``TaskState`` (never a Qt object): it reports progress with
``state.set_progress`` and checks ``state.is_cancelled()``; a generator task yields its progress
instead (a fraction, a text, or both) and returns its result. Tasks have a kind: starting one
cancels the running one of the same kind, whose result is then never delivered. ``Tasks.shutdown``
cancels every task and waits for them, so no thread outlives the window. Work that holds the
interpreter for long (drawing figures to export them) goes to a child process from its task, with
``engine.process.child_call.call_in_child(..., cancelled=state.is_cancelled)``.

Work that must stay on the window's thread (making and filling figures) is a generator run by ``Steps``,
one step per event-loop turn: the window paints and answers between steps."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

PROGRESS_EVERY_S = 0.05  # progress reaches the window at most this often (a last step always does)


class CancelledError(Exception):
    """Raised inside a generator task whose next step is no longer wanted."""


class _Relay(QObject):
    """Lives on the window's thread: a signal emitted by a pool thread is queued to its slots there."""

    progress = Signal(object, object, str)  # TaskState, fraction or None, text
    ended = Signal(object, object, object)  # TaskState, result, error or None


class TaskState:
    """What a running task sees: a place to report progress and a flag saying it is no longer wanted."""

    def __init__(self, kind: str, relay: _Relay):
        self.kind = kind
        self._relay = relay
        self._cancelled = threading.Event()
        self._last_progress = 0.0

    def set_progress(self, fraction: float | None, text: str = "") -> None:
        """Report how far the task is (``fraction`` from 0 to 1, None where unknown) and what it is doing."""
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_S and (fraction is None or fraction < 1):
            return
        self._last_progress = now
        self._emit(self._relay.progress, self, fraction, text)

    def is_cancelled(self) -> bool:
        """True once a newer task of the same kind started or the window closed: the task should return."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    def _emit(self, signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window was deleted while this task ran: nobody to tell
            self.cancel()


Work = Callable[[TaskState], Any]


def _run(work: Work, state: TaskState) -> Any:
    """The task's result: a plain callable's return value, or a generator's, its yields reported as progress."""
    result = work(state)
    if not isinstance(result, Generator):
        return result
    while True:
        try:
            step = next(result)
        except StopIteration as stop:
            return stop.value
        if state.is_cancelled():
            result.close()
            raise CancelledError(state.kind)
        fraction, text = step if isinstance(step, tuple) else (step, "") if not isinstance(step, str) else (None, step)
        state.set_progress(fraction, text)


@dataclass
class _Started:
    state: TaskState
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None] | None


class Tasks(QObject):
    """The window's background tasks, one running per kind, all cancelled and waited for by ``shutdown``."""

    progress = Signal(str, object, str)  # kind, fraction (None: unknown), text; only the current task's
    ended = Signal(str)  # kind: its task ended (delivered, failed or cancelled)

    def __init__(self, parent: QObject | None = None, threads: int = 4):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)  # a read of runs never queues behind an import
        self._relay = _Relay(self)
        self._relay.progress.connect(self._progress)
        self._relay.ended.connect(self._ended)
        self._current: dict[str, _Started] = {}
        self.closed = False

    def start(self, kind: str, work: Work, done: Callable[[Any], None], failed: Callable[[BaseException], None] | None = None) -> TaskState:
        """Run ``work(state)`` on the pool; ``done(result)`` or ``failed(error)`` are called on the window's
        thread, unless a newer task of ``kind`` was started or the tasks were shut down meanwhile."""
        state = TaskState(kind, self._relay)
        if self.closed:
            state.cancel()
            return state
        self.cancel(kind)
        self._current[kind] = _Started(state, done, failed)
        self.pool.start(lambda: self._work(work, state))
        return state

    def _work(self, work: Work, state: TaskState) -> None:
        """On a pool thread: run the task and send what came of it to the window's thread."""
        result: Any = None
        error: BaseException | None = None
        try:
            result = _run(work, state)
        except CancelledError:
            state.cancel()
        except Exception as exc:  # any failure reaches the window as the task's error
            error = exc
        state._emit(self._relay.ended, state, result, error)

    def running(self, kind: str | None = None) -> bool:
        """Whether a task (of ``kind``) whose outcome is still wanted is under way."""
        return bool(self._current) if kind is None else kind in self._current

    def cancel(self, kind: str) -> None:
        """The running task of ``kind`` is told to stop; its result is never delivered."""
        started = self._current.pop(kind, None)
        if started is not None:
            started.state.cancel()
            self.ended.emit(kind)

    def shutdown(self) -> None:
        """Cancel every task and wait until each has returned: nothing runs on after the window."""
        self.closed = True
        for kind in list(self._current):  # the tasks not current were cancelled when they stopped being so
            self.cancel(kind)
        self.pool.waitForDone()

    def _delivered(self, state: TaskState) -> _Started | None:
        """The task's callbacks, where its outcome is still wanted."""
        started = self._current.get(state.kind)
        return started if started is not None and started.state is state and not state.is_cancelled() else None

    @Slot(object, object, str)
    def _progress(self, state: TaskState, fraction: float | None, text: str) -> None:
        if self._delivered(state) is not None:
            self.progress.emit(state.kind, fraction, text)

    @Slot(object, object, object)
    def _ended(self, state: TaskState, result: Any, error: BaseException | None) -> None:
        started = self._delivered(state)
        if started is None:
            return
        del self._current[state.kind]
        self.ended.emit(state.kind)
        if error is None:
            started.done(result)
        elif started.failed is not None:
            started.failed(error)
        else:
            sys.excepthook(type(error), error, error.__traceback__)


class Steps(QObject):
    """Runs a generator on the window's thread, one ``next`` per event-loop turn, so no step holds the
    window longer than itself; starting another drops the one under way, which never finishes."""

    finished = Signal()  # the steps ran to their end

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._steps: Iterator[object] | None = None
        self._next = QTimer(self, singleShot=True, interval=0)
        self._next.timeout.connect(self._step)

    def start(self, steps: Iterator[object]) -> None:
        """Run ``steps`` from the next turn on, in place of any under way."""
        self._steps = steps
        self._next.start()

    def running(self) -> bool:
        return self._steps is not None

    def cancel(self) -> None:
        self._steps = None
        self._next.stop()

    def _step(self) -> None:
        if self._steps is None:
            return
        try:
            next(self._steps)
        except StopIteration:
            self._steps = None
            self.finished.emit()
            return
        except BaseException:
            self._steps = None  # a failed step ends its steps; the error goes on to the excepthook
            raise
        self._next.start()
