"""The window's background tasks: results on the window's thread, progress, cancellation, and nothing left running."""

from __future__ import annotations

import multiprocessing
import threading
import time
from itertools import pairwise

import pytest
from PySide6.QtCore import QThread

from engine.process.child_call import call_in_child
from gui.tasks import Tasks, TaskState


@pytest.fixture
def tasks(qtbot):
    made = Tasks()
    yield made
    made.shutdown()


def test_a_result_is_made_off_the_windows_thread_and_delivered_on_it(qtbot, tasks):
    made_on, delivered = [], []
    tasks.start(
        "read", lambda state: made_on.append(threading.current_thread()) or 42, lambda r: delivered.append((r, QThread.currentThread()))
    )
    qtbot.waitUntil(lambda: bool(delivered))
    assert made_on[0] is not threading.main_thread()
    assert delivered == [(42, tasks.thread())] and not tasks.running()


def test_a_generators_yields_are_its_progress_and_its_return_its_result(qtbot, tasks):
    release = threading.Event()
    said, delivered = [], []
    tasks.progress.connect(lambda kind, fraction, text: said.append((kind, fraction, text)))

    def work(state: TaskState):
        yield 0.5, "half way"
        release.wait(10)
        yield 1.0, "done 2/2"
        return "result"

    tasks.start("count", work, delivered.append)
    qtbot.waitUntil(lambda: ("count", 0.5, "half way") in said)
    assert not delivered  # still working: the window goes on meanwhile
    release.set()
    qtbot.waitUntil(lambda: delivered == ["result"])
    assert said[-1] == ("count", 1.0, "done 2/2")


def test_a_newer_task_of_the_same_kind_cancels_the_older_whose_result_is_never_applied(qtbot, tasks):
    release, delivered, saw_cancel = threading.Event(), [], []

    def old(state: TaskState) -> str:
        release.wait(10)
        saw_cancel.append(state.is_cancelled())
        return "old"

    first = tasks.start("preview", old, delivered.append)
    tasks.start("preview", lambda state: "new", delivered.append)
    assert first.is_cancelled()
    qtbot.waitUntil(lambda: delivered == ["new"])
    release.set()
    qtbot.waitUntil(lambda: tasks.pool.activeThreadCount() == 0)
    assert delivered == ["new"] and saw_cancel == [True]


def test_an_error_reaches_the_window_as_the_tasks_failure(qtbot, tasks):
    failures = []
    tasks.start("broken", lambda state: 1 / 0, lambda r: pytest.fail("no result"), failures.append)
    qtbot.waitUntil(lambda: bool(failures))
    assert isinstance(failures[0], ZeroDivisionError)


def test_shutdown_cancels_every_task_and_waits_until_none_runs(qtbot):
    from PySide6.QtCore import QCoreApplication

    tasks = Tasks()
    started, asked, returned, delivered = threading.Event(), threading.Event(), [], []

    def long(state: TaskState) -> str:
        started.set()
        while not state.is_cancelled():
            state.set_progress(None, "working")
            threading.Event().wait(0.01)
        returned.append(True)
        return "late"

    def waiting_on_a_child(state: TaskState) -> None:
        asked.set()
        call_in_child(time.sleep, 600, cancelled=state.is_cancelled)

    tasks.start("long", long, delivered.append)
    tasks.start("export", waiting_on_a_child, delivered.append)
    assert started.wait(10) and asked.wait(10)
    tasks.shutdown()  # the export's child process is ended rather than waited for
    assert returned == [True] and not tasks.running() and tasks.pool.activeThreadCount() == 0
    assert not multiprocessing.active_children()
    QCoreApplication.processEvents()  # what the tasks queued before they ended is handled, and dropped
    assert delivered == []
    assert tasks.start("late", long, delivered.append).is_cancelled() and not tasks.running()  # refused once shut down


def test_steps_run_one_per_event_loop_turn_and_a_new_start_drops_the_old(qtbot):
    from PySide6.QtCore import QCoreApplication, QTimer

    from gui.tasks import Steps

    steps, done, turns = Steps(), [], []
    steps.finished.connect(lambda: done.append(list(turns)))
    ticker = QTimer(interval=0)  # another turn's work, between the steps
    ticker.timeout.connect(lambda: turns.append("turn"))

    def counting(name: str, count: int):
        for k in range(count):
            turns.append(f"{name}{k}")
            yield

    steps.start(counting("old", 5))
    QCoreApplication.processEvents()  # one step, then the old steps are replaced before they end
    steps.start(counting("new", 3))
    ticker.start()
    qtbot.waitUntil(lambda: bool(done))
    ticker.stop()
    ran = [t for t in done[0] if t != "turn"]
    assert ran == ["old0", "new0", "new1", "new2"] and done == [done[0]] and not steps.running()
    between = done[0][done[0].index("new0") :]
    assert not any("turn" not in (a, b) for a, b in pairwise(between)), between  # other work between any two steps


def test_a_failing_step_ends_its_steps(qtbot):
    from gui.tasks import Steps

    steps = Steps()

    def failing():
        yield
        raise ValueError("bad data")

    with qtbot.captureExceptions() as caught:
        steps.start(failing())
        qtbot.waitUntil(lambda: bool(caught))
    errors = [str(e[1]) for e in caught]
    assert errors == ["bad data"] and not steps.running()
