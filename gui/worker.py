"""The training thread: a QObject in a QThread that relays a BackgroundRun's events as signals.

The training itself runs in a child process (engine.background), so this thread only waits on
a pipe and the GUI never competes with the training loop for the GIL. Stop and pause go through
the run's TrainingControl; no Qt object crosses into the engine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.background import BackgroundRun
from engine.config import Config


class TrainingWorker(QObject):
    started = Signal(str, str)  # run folder, device
    epoch_done = Signal(object, object)  # engine.trainer.EpochReport, test predictions (N, n) or None
    finished = Signal(str, str, object)  # status, message, metrics dict (or None)

    def __init__(self, config: Config | None, runs_dir: Path | None, resume: Path | None = None, template: str | None = None):
        super().__init__()
        self.run = BackgroundRun(config, runs_dir, resume, template)
        self.control = self.run.control
        self._signals = {"started": self.started, "epoch": self.epoch_done, "finished": self.finished}

    @Slot()
    def work(self) -> None:
        """Runs in the worker thread until the run's last event, ``finished``, has been relayed."""
        for kind, *arguments in self.run.events():
            self._signals[kind].emit(*arguments)


def start_worker(worker: TrainingWorker) -> QThread:
    """Move ``worker`` to a new QThread, start it, and clean both up when it finishes."""
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.work)
    worker.finished.connect(thread.quit)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread
