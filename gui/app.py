"""Application start-up: QApplication with name, icon and desktop file name, then the window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def app_icon() -> QIcon:
    icon = QIcon()
    for path in sorted((RESOURCES / "icons").glob("lstm-workbench-*.png")):
        icon.addFile(str(path))
    return icon


def create_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("LSTM Workbench")
    app.setOrganizationName("lstm-workbench")
    app.setDesktopFileName("lstm-workbench")  # lets Wayland match the window to its .desktop icon
    app.setWindowIcon(app_icon())
    return app


def run_app(argv: list[str]) -> int:
    from gui.main_window import MainWindow

    app = create_app(argv)
    window = MainWindow(RESOURCES / "presets", default_config=Path("config.yaml"))
    window.show()
    return app.exec()
