"""The training thread's life cycle: started, relayed, joined and freed, many times over."""

from __future__ import annotations

from engine.process.events import RunFinished
from engine.training.trainer import TrainingControl
from gui.worker import TrainingWorker, join_worker, start_worker


class FinishedRun:
    """A BackgroundRun's interface without a process: only its last event."""

    def __init__(self) -> None:
        self.control = TrainingControl()

    def events(self):
        yield RunFinished("completed", "", None)


def test_a_worker_thread_started_and_freed_many_times_never_crashes(qtbot):
    """CI once died with SIGSEGV here: deleteLater on Python-owned objects freed them twice."""
    relayed = []
    for cycle in range(1, 101):
        worker = TrainingWorker(FinishedRun())
        worker.finished.connect(relayed.append)
        thread = start_worker(worker)
        qtbot.waitUntil(lambda: len(relayed) == cycle and thread.isFinished(), timeout=10_000)  # noqa: B023 - this cycle's
        join_worker(thread)
        assert not thread.isRunning()
        # the next cycle's assignments free this cycle's thread and worker, in the GUI thread
    assert [event.status for event in relayed] == ["completed"] * 100
