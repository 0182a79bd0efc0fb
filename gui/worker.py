"""The training thread: a QObject that drives the engine's Run generator in a QThread and turns
each yielded epoch into a signal. Stop and pause go through the engine's TrainingControl, which
the loop checks before every optimizer step; no Qt object crosses into the engine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.config import Config
from engine.runs import Run
from engine.trainer import TrainingControl


class TrainingWorker(QObject):
    started = Signal(str, str)  # run folder, device
    epoch_done = Signal(object, object)  # engine.trainer.EpochReport, test predictions (N, n) or None
    finished = Signal(str, str, object)  # status, message, metrics dict (or None)

    def __init__(self, config: Config | None, runs_dir: Path | None, resume: Path | None = None, template: str | None = None):
        super().__init__()
        self.config = config
        self.runs_dir = runs_dir
        self.resume_dir = resume
        self.template = template
        self.control = TrainingControl()
        self.run: Run | None = None

    @Slot()
    def work(self) -> None:
        """Runs in the worker thread; every outcome, errors included, ends in ``finished``."""
        try:
            if self.resume_dir is not None:
                self.run = Run.resume(self.resume_dir)
            else:
                self.run = Run.start(self.config, self.runs_dir, template=self.template)
            self.started.emit(str(self.run.folder), str(self.run.device))
            for report in self.run.epochs(self.control):
                self.epoch_done.emit(report, self.run.session.latest_test_predictions)
            metrics = self.run.finish()
            self.finished.emit(self.run.status, self.run.message, metrics)
        except MemoryError:
            self.finished.emit("failed", "out of memory: try a smaller hidden_size, batch or segments", None)
        except Exception as exc:  # any failure must reach the window as a message, not kill the thread
            self.finished.emit("failed", f"{exc.__class__.__name__}: {exc}", None)


def start_worker(worker: TrainingWorker) -> QThread:
    """Move ``worker`` to a new QThread, start it, and clean both up when it finishes."""
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.work)
    worker.finished.connect(thread.quit)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread
