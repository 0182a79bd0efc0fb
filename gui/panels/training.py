"""Live training: progress, loss and per-frequency curves, and output vs target on the test set.
The worker's signals only store data; a GUI timer redraws at its own pace."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.process.events import RunEvaluated, RunFinished, RunStarted
from engine.storage.files import atomic_write_text
from engine.training.history import EpochReport, History
from gui.plots.figures import GridFigure, LossFigure, PerFrequencyFigure, reference_levels

REDRAW_MS = 100  # one figure per tick, so a tick's repaint is one figure's: each refreshes every 300 ms


class Part(Enum):
    """A figure of the panel, redrawn on its own timer tick."""

    LOSS = "loss"
    PER_FREQUENCY = "per-frequency"
    OUTPUTS = "outputs"


CURVES = (Part.LOSS, Part.PER_FREQUENCY)  # what the curve controls change


class RunState(Enum):
    """What the run shown is doing; the values of the ended states are RunFinished's statuses."""

    IDLE = "no run"
    STARTING = "starting"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"
    EVALUATING = "evaluating"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"


ETA_STATES = (RunState.TRAINING, RunState.PAUSED)  # epochs remain to be trained: an ETA means something
NOTES = {  # what the status line says ahead of the last epoch's numbers
    RunState.PAUSED: "Paused before the next optimizer step: Resume continues the run.",
    RunState.STOPPING: "Stopping at the next optimizer step, then evaluating best.pt…",
    RunState.EVALUATING: "Training done: evaluating best.pt…",
}


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TrainingPanel(QWidget):
    """The run being trained, its whole history included (a resumed run shows its earlier epochs)."""

    exported = Signal(str)  # a sentence saying where the files went

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setFormat("epoch %v / %m")
        self.state_label = QLabel()
        self.state_label.setStyleSheet("font-weight: bold;")
        self.state_label.setMinimumWidth(90)
        self.status = QLabel("No run yet. Edit the experiment, then press Start (Ctrl+R).")
        self.loss = LossFigure()
        self.per_frequency = PerFrequencyFigure()
        self.outputs = GridFigure()
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setToolTip("EMA smoothing of the curves; the raw curve stays faint behind")
        self.log_y = QCheckBox("log y")
        self.log_y.setChecked(True)
        self.x_axis = QComboBox()
        self.x_axis.addItems(["epoch", "wall time"])
        self.readout = QLabel(" ")
        self.readout.setMinimumWidth(260)
        export_curves = QPushButton("Export curves…")
        export_curves.setToolTip("Both charts as CSV (the plotted numbers), PNG (at the config's dpi) or SVG")
        export_curves.clicked.connect(lambda: self.export_curves())

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.log_y)
        controls.addWidget(QLabel("x:"))
        controls.addWidget(self.x_axis)
        controls.addWidget(self.readout, 1)
        controls.addWidget(export_curves)

        curves = QWidget()
        grid = QGridLayout(curves)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss, 0, 0)
        grid.addWidget(self.per_frequency, 0, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(curves)
        splitter.addWidget(self.outputs)
        splitter.setSizes([1, 1])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        progress_line = QHBoxLayout()
        progress_line.addWidget(self.state_label)
        progress_line.addWidget(self.progress, 1)
        layout.addLayout(progress_line)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)

        self.history = History(())
        self.folder: Path | None = None
        self.last_report: EpochReport | None = None  # its numbers stay shown under what the run does next
        self.paused = False
        self._set_state(RunState.IDLE, self.status.text())
        self.dpi = 300
        self.predictions: np.ndarray | None = None
        self.shown_samples: int | None = None  # samples shown in the output grid; None before the first run
        self._pending: list[Part] = []  # parts to redraw, in order
        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        for widget in (self.smoothing, self.x_axis):
            signal = widget.valueChanged if isinstance(widget, QSlider) else widget.currentIndexChanged
            signal.connect(lambda *_: self._mark(*CURVES))
        self.log_y.toggled.connect(self._set_log)
        self.loss.scene().sigMouseMoved.connect(lambda pos: self._hover(self.loss, pos))
        self.per_frequency.scene().sigMouseMoved.connect(lambda pos: self._hover(self.per_frequency, pos))

    def starting(self) -> None:
        """Between Start and the run's first event: say so, and clear the previous run."""
        self.history, self.predictions, self.shown_samples, self.folder, self.last_report = History(()), None, None, None, None
        self.paused = False
        self.progress.setRange(0, 0)  # a busy bar until the run reports its epochs
        self._set_state(RunState.STARTING, "Starting the run: preparing the training process and data…")
        self.loss.show_history(self.history)
        self.per_frequency.show_history(self.history)

    def start(self, event: RunStarted) -> None:
        """The run exists: draw its targets and any epochs it already has (a resumed run)."""
        self.dpi = event.dpi
        self.folder = event.folder
        self.history = event.history
        self.predictions = None
        self.shown_samples = event.t.size
        self.outputs.set_targets(event.t, event.targets, list(event.frequencies))
        for figure in (self.loss, self.per_frequency):
            figure.set_epoch_span(event.num_epochs)
            figure.set_levels(reference_levels(event.reference))
            self._draw_curves(figure)  # makes its curves now, as the run starts, not in a frame while it trains
        self.progress.setRange(0, event.num_epochs)
        done = len(self.history)
        self.progress.setValue(done)
        resumed = f"resumed at epoch {done}; " if done else ""
        started = f"Run {event.folder.name} started on {event.device}: {resumed}training epoch {done + 1}…"
        self._set_state(RunState.PAUSED if self.paused else RunState.TRAINING, started)
        self._mark(Part.OUTPUTS)

    def evaluated(self, event: RunEvaluated) -> None:
        """The run's numbers exist: its end state now, while its graphs are still being written."""
        ended = f"Run {event.status}" + (f": {event.message}" if event.message else "") + "."
        self._set_state(RunState(event.status), ended + (" Writing its graphs…" if event.graphs_follow else ""))

    def finished(self, event: RunFinished) -> None:
        if self.progress.maximum() == 0:  # ended before it started
            self.progress.setRange(0, 1)
        self._set_state(RunState(event.status), f"Run {event.status}" + (f": {event.message}" if event.message else "") + ".")

    def set_paused(self, paused: bool) -> None:
        """Pause or Resume was pressed: a run still training shows it."""
        self.paused = paused
        if self.state in ETA_STATES:
            self._set_state(RunState.PAUSED if paused else RunState.TRAINING)

    def stopping(self) -> None:
        """Stop was pressed: the run ends at its next optimizer step, then evaluates best.pt."""
        self._set_state(RunState.STOPPING)

    def _set_state(self, state: RunState, note: str | None = None) -> None:
        """Name ``state`` beside the progress bar; the status line gets ``note`` (else the state's own)
        and the last epoch's numbers."""
        self.state = state
        self.state_label.setText(state.value.capitalize())
        self.status.setText("   ".join(text for text in (NOTES.get(state, "") if note is None else note, self._epoch_text()) if text))

    def _epoch_text(self) -> str:
        """The last epoch's numbers, its ETA only while epochs remain to be trained."""
        report = self.last_report
        if report is None:
            return ""
        eta = f"   ETA {format_seconds(report.eta_seconds)}" if self.state in ETA_STATES else ""
        return (
            f"epoch {report.epoch}/{report.num_epochs}   train loss {report.train_loss:.5f}   test MSE {report.test_mse:.5f}   "
            f"learning rate {report.learning_rate:.3g}   {report.epoch_seconds:.2f} s/epoch   "
            f"elapsed {format_seconds(report.wall_seconds)}{eta}"
        )

    def _mark(self, *parts: Part) -> None:
        self._pending += [part for part in parts if part not in self._pending]

    def add_epoch(self, report: EpochReport, predictions: np.ndarray | None) -> None:
        """Slot for the worker's per-epoch signal: store, never draw here."""
        self.history = self.history.appended(report)
        if predictions is not None:
            self.predictions = predictions
        self.progress.setMaximum(report.num_epochs)
        self.progress.setValue(report.epoch)
        self.last_report = report
        self._set_state(RunState.EVALUATING if report.epoch >= report.num_epochs else self.state)
        self._mark(*Part)

    def _set_log(self, on: bool) -> None:
        for figure in (self.loss, self.per_frequency):
            figure.plot.setLogMode(y=on)

    def redraw(self, everything: bool = False) -> None:
        """Draw one pending part per timer tick, so no single repaint holds the event loop long;
        ``everything`` draws all that is pending (before an export). A hidden panel draws nothing: its
        parts stay pending until a tick after it is shown, so neither another tab's frames nor the
        frame that shows this tab pay for them."""
        if not everything and not self.isVisible():
            return
        while self._pending and self.shown_samples is not None:
            part = self._pending.pop(0)
            if part is Part.OUTPUTS:
                self._draw_outputs()
            else:
                self._draw_curves(self.loss if part is Part.LOSS else self.per_frequency)
            if not everything:
                return

    def _draw_curves(self, figure: LossFigure | PerFrequencyFigure) -> None:
        wall_time, smoothing = self.x_axis.currentText() == "wall time", self.smoothing.value() / 100
        figure.show_history(self.history, smoothing, wall_time)

    def _draw_outputs(self) -> None:
        self.outputs.set_outputs(None if self.predictions is None else self.predictions[:, : self.shown_samples])

    def _hover(self, figure, pos) -> None:
        """Read out the exact epoch and values nearest the mouse."""
        if not figure.plot.sceneBoundingRect().contains(pos) or not len(self.history):
            return
        x = figure.plot.vb.mapSceneToView(pos).x()
        columns = figure.columns
        names = list(columns)
        xs = columns[names[0]]
        if not xs.size:
            return
        k = int(np.nanargmin(np.abs(xs - x)))
        values = "   ".join(f"{n} {columns[n][k]:.5g}" for n in names[1:])
        self.readout.setText(f"{names[0]} {xs[k]:g}:   {values}")

    def export_curves(self, path: str | None = None) -> list[Path]:
        """Loss chart to ``path``, per-frequency chart beside it (``*_per_frequency``); CSV, PNG or SVG."""
        if not path:
            start = str((self.folder or Path.cwd()) / "curves.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Export curves", start, "CSV (*.csv);;PNG image (*.png);;SVG (*.svg)")
        if not path:
            return []
        self.redraw(everything=True)  # export what has arrived, not what the timer last drew
        first = Path(path)
        second = first.with_name(first.stem + "_per_frequency" + first.suffix)
        for figure, target in ((self.loss, first), (self.per_frequency, second)):
            if first.suffix.lower() == ".csv":
                atomic_write_text(target, figure.csv_text())
            else:
                figure.export(target, self.dpi)
        self.exported.emit(f"curves exported to {first} and {second.name}")
        return [first, second]
