"""Small widget helpers shared by the panels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
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
