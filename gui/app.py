"""Application start-up: QApplication, icon, desktop file name, main window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    label = QLabel("LSTM Frequency Extraction Workbench")
    label.show()
    return app.exec()
