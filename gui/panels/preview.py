"""Signal preview: S, its clean components, one noisy component and the FFT of S, following
the data settings as they are edited (debounced by the form). The set is generated on a background
task: a long recording never holds up the form, and an edit made meanwhile replaces it. It is drawn
a plot per event-loop turn, so the window answers between them."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.config.schema import Config
from engine.signals.dataset import SignalSet, draws_anew, first_training_set
from gui.plots.figures import SignalFigure
from gui.tasks import Steps, Tasks


def _first_set_key(config: Config) -> tuple:
    """What the first training set depends on: a learning-rate edit must not regenerate it."""
    return config.data, draws_anew(config), config.training.segments


class PreviewPanel(QWidget):
    # the preview shows the set that trains first under the last config given (hidden: holds it, to draw when shown)
    drawn = Signal()

    def __init__(self, tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks or Tasks(self)  # the window's, shared by its panels and ended when it closes
        self.signals: SignalSet | None = None
        self.figure = SignalFigure()
        self.drawing = Steps(self)
        self.drawing.finished.connect(self.drawn)
        self._stale = False  # a set came while hidden: drawn once the panel is shown
        self.component = QComboBox()
        self.window_size = QSpinBox()
        self.window_size.setRange(10, 10_000_000)
        self.window_size.setValue(1000)
        self.window_size.setSuffix(" samples")
        self.window_size.setToolTip("Time window shown in the two upper plots")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Component:"))
        controls.addWidget(self.component)
        controls.addSpacing(16)
        controls.addWidget(QLabel("Window:"))
        controls.addWidget(self.window_size)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.figure, 1)
        self.config: Config | None = None
        self.wanted_window = self.window_size.value()  # the window asked for; shown as far as the data reaches
        self.component.currentIndexChanged.connect(self.redraw)
        self.window_size.valueChanged.connect(self._window_chosen)

    def set_config(self, config: Config) -> None:
        """Regenerate the preview of the set that trains first when ``config``'s data or traversal changed."""
        data_changed = self.config is None or _first_set_key(config) != _first_set_key(self.config)
        self.config = config
        labels = [f"{f:g} Hz" for f in config.data.frequencies]
        if [self.component.itemText(i) for i in range(self.component.count())] != labels:
            self.component.blockSignals(True)
            self.component.clear()
            self.component.addItems(labels)
            self.component.setCurrentIndex(min(config.visualization.comparison_freq_idx, len(labels) - 1))
            self.component.blockSignals(False)
        if data_changed:
            self.drawing.cancel()  # the set being drawn is no longer the one that trains first
            self.tasks.start("preview", lambda state: first_training_set(config), self._show_signals)
        elif not self.tasks.running("preview") and not self.drawing.running():  # the set shown is this config's already
            self.drawn.emit()

    def _show_signals(self, signals: SignalSet) -> None:
        self.signals = signals
        self.window_size.blockSignals(True)  # the data's length bounds the window; the wish stays
        self.window_size.setMaximum(max(self.window_size.minimum(), signals.n_samples))
        self.window_size.setValue(self.wanted_window)
        self.window_size.blockSignals(False)
        self.redraw()

    def _window_chosen(self, samples: int) -> None:
        self.wanted_window = samples
        self.redraw()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale:
            self.redraw()

    def redraw(self) -> None:
        """Draw the set a plot per event-loop turn, or, while hidden, once shown: a hidden figure drawn
        anew is painted whole, every axis ticked again, as its tab is shown (20-30 ms at once)."""
        s, index = self.signals, max(self.component.currentIndex(), 0)
        if s is None or index >= len(s.frequencies):  # the set of the new frequencies is on its way
            return
        self._stale = not self.isVisible()
        if self._stale:
            self.drawing.cancel()
            self.drawn.emit()
            return
        shown = slice(0, self.window_size.value())
        self.drawing.start(self.figure.data_steps(s, shown, index))
