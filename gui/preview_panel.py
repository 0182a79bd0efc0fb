"""Signal preview: S, its clean components, one noisy component and the FFT of S, following
the data settings as they are edited (debounced by the form)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.config import Config
from engine.data import generate
from gui.figures import SignalFigure


class PreviewPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.figure = SignalFigure()
        self.component = QComboBox()
        self.window = QSpinBox()
        self.window.setRange(10, 10_000_000)
        self.window.setValue(1000)
        self.window.setSuffix(" samples")
        self.window.setToolTip("Time window shown in the two upper plots")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Component:"))
        controls.addWidget(self.component)
        controls.addSpacing(16)
        controls.addWidget(QLabel("Window:"))
        controls.addWidget(self.window)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.figure, 1)
        self.config: Config | None = None
        self.component.currentIndexChanged.connect(self.redraw)
        self.window.valueChanged.connect(self.redraw)

    def set_config(self, config: Config) -> None:
        """Regenerate the training set preview when ``config``'s data settings changed."""
        data_changed = self.config is None or config.data != self.config.data
        self.config = config
        labels = [f"{f:g} Hz" for f in config.data.frequencies]
        if [self.component.itemText(i) for i in range(self.component.count())] != labels:
            self.component.blockSignals(True)
            self.component.clear()
            self.component.addItems(labels)
            self.component.setCurrentIndex(min(config.visualization.comparison_freq_idx, len(labels) - 1))
            self.component.blockSignals(False)
        if data_changed:
            self.signals = generate(config.data, config.data.train_seed)
            self.redraw()

    def redraw(self) -> None:
        if self.config is None:
            return
        s = self.signals
        index = max(self.component.currentIndex(), 0)
        shown = slice(0, min(self.window.value(), s.n_samples))
        self.figure.set_data(s, shown, index)
