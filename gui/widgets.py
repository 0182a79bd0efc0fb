"""Small widget helpers shared by the panels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QHBoxLayout, QPushButton, QTabWidget, QWidget


def push_button(text: str, slot: Callable[[], object]) -> QPushButton:
    """A push button calling its slot with no arguments."""
    button = QPushButton(text)
    button.clicked.connect(lambda _=False: slot())
    return button


def button_row(buttons: list[tuple[str, Callable[[], object]] | QPushButton]) -> QHBoxLayout:
    """A left-aligned row of push buttons: those given, and one made for each (text, slot)."""
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button if isinstance(button, QPushButton) else push_button(*button))
    row.addStretch(1)
    return row


class WheelGuard(QObject):
    """Installed on the application: a wheel turned over a spin box or drop-down not yet
    clicked into scrolls the page under it instead of changing the value, so scrolling a form never
    edits it (one notch over a frequency box once set 1 Hz to 1e-9 Hz)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(watched, (QAbstractSpinBox, QComboBox)):
            return False
        if event.type() == QEvent.Type.Polish and watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            # Qt gives a wheel-focus widget the focus before any filter sees the wheel: click or Tab only
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()  # unaccepted, Qt hands the wheel on to the parents: the scroll area
            return True
        return False


class PageTabs(QTabWidget):
    """Tabs whose page is painted once when shown. Qt posts every newly shown widget a deferred
    update; left in the queue, those arrive after the page's first paint and paint it all again.
    Delivered as the page is shown, they join that one paint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentChanged.connect(lambda _index: QCoreApplication.sendPostedEvents(None, QEvent.Type.UpdateLater))


class AfterPaint(QObject):
    """Calls ``action`` once ``widget`` has next been painted (at the latest ``at_most_ms`` after being
    armed, should it not be painted): a read started in a thread of the window's process beside a tab's
    first paint competes with that paint for the interpreter and made it three times as long."""

    def __init__(self, widget: QWidget, action: Callable[[], object], at_most_ms: int = 250):
        super().__init__(widget)
        self.widget, self.action = widget, action
        self.armed = False
        self._latest = QTimer(self, singleShot=True, interval=at_most_ms)
        self._latest.timeout.connect(self._fire)

    def arm(self) -> None:
        if not self.armed:
            self.armed = True
            self.widget.installEventFilter(self)
            self._latest.start()

    def disarm(self) -> None:
        """The action is not wanted any more (it was done another way)."""
        if self.armed:
            self.armed = False
            self._latest.stop()
            self.widget.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint and self.armed:
            QTimer.singleShot(0, self._fire)  # once this paint is done
        return False

    def _fire(self) -> None:
        if self.armed:
            self.disarm()
            self.action()
