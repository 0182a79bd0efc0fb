"""The training thread: a QObject in a QThread that relays a BackgroundRun's events as signals.

The training itself runs in a child process (engine.process.training_process), so this thread only waits on
a pipe and the GUI never competes with the training loop for the GIL. Stop and pause go through
the run's TrainingControl; no Qt object crosses into the engine."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.process.events import EpochDone, RunEvaluated, RunFinished, RunStarted
from engine.process.training_process import BackgroundRun


class TrainingWorker(QObject):
    """Relays one BackgroundRun's events, in a thread of their own, as Qt signals."""

    started = Signal(object)  # engine.process.events.RunStarted
    epoch_done = Signal(object)  # engine.process.events.EpochDone
    evaluated = Signal(object)  # engine.process.events.RunEvaluated
    finished = Signal(object)  # engine.process.events.RunFinished

    def __init__(self, run: BackgroundRun):
        super().__init__()
        self.run = run
        self.control = run.control
        self._signals = {RunStarted: self.started, EpochDone: self.epoch_done, RunEvaluated: self.evaluated, RunFinished: self.finished}

    @Slot()
    def work(self) -> None:
        """Runs in the worker thread until the run's last event, ``RunFinished``, has been relayed."""
        for event in self.run.events():
            self._signals[type(event)].emit(event)


def start_worker(worker: TrainingWorker) -> QThread:
    """Move ``worker`` to a new QThread and start it; the thread quits after the run's last event.

    Both objects stay owned by Python: the caller joins the thread (``join_worker``) and then drops
    its references. A ``deleteLater`` on either would let Qt free the C++ object while the Python
    wrapper still owns it, and dropping the wrapper afterwards frees it twice (a segfault)."""
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.work)
    worker.finished.connect(thread.quit)
    thread.start()
    return thread


def join_worker(thread: QThread) -> None:
    """Wait until ``thread`` has really ended (``finished`` is emitted just before), so it and its worker can be freed."""
    thread.quit()
    thread.wait()
