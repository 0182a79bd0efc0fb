"""Small widget helpers shared by the panels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QPushButton


def button_row(buttons: list[tuple[str, Callable[[], object]]]) -> QHBoxLayout:
    """A left-aligned row of push buttons, each calling its slot with no arguments."""
    row = QHBoxLayout()
    for text, slot in buttons:
        button = QPushButton(text)
        button.clicked.connect(lambda _=False, slot=slot: slot())
        row.addWidget(button)
    row.addStretch(1)
    return row
