"""Application start-up: where the app's files live, QApplication with name and icon, the window.

Run from a clone, resources are the repo's resources/ and the config and runs sit beside
the repo. Installed (wheel or bundle), resources are package data and the config, data and runs live in
the per-user data folder (platformdirs), so nothing depends on the working directory.
"""

from __future__ import annotations

import gc
import importlib.resources
import os
import shutil
import sys
from pathlib import Path

import platformdirs
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

SOURCE_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "lstm-workbench"


def running_from_clone() -> bool:
    return not getattr(sys, "frozen", False) and (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "resources").is_dir()


def resources_dir() -> Path:
    """Icons and presets (presets/seed.yaml is the default config): the repo's, or the package data."""
    if running_from_clone():
        return SOURCE_ROOT / "resources"
    return Path(str(importlib.resources.files("gui") / "resources"))


def home_dir() -> Path:
    """Where config.yaml, the data cache and runs/ live."""
    if running_from_clone():
        return SOURCE_ROOT
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


RESOURCES = resources_dir()


def user_guide() -> Path | None:
    """The local user guide: docs/user-guide.md where it exists, else the README; None in an install without either."""
    for path in (SOURCE_ROOT / "docs" / "user-guide.md", SOURCE_ROOT / "README.md"):
        if path.is_file():
            return path
    return None


def prepare_home() -> Path:
    """Make the home folder, give it the default config on first start, and work from it."""
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.yaml"
    if not config.exists():
        shutil.copyfile(RESOURCES / "presets" / "seed.yaml", config)
    os.chdir(home)  # relative data_dir and runs_dir in configs land in the home folder
    return config


def app_icon() -> QIcon:
    icon = QIcon()
    for path in sorted((RESOURCES / "icons").glob(f"{APP_NAME}-*.png")):
        icon.addFile(str(path))
    return icon


def create_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    assert isinstance(app, QApplication)  # the window's application, made here or by a test harness before
    app.setApplicationName("LSTM Workbench")
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(APP_NAME)  # lets Wayland match the window to its .desktop icon
    app.setWindowIcon(app_icon())
    return app


def run_app(argv: list[str]) -> int:
    from gui.panels import system_check

    if not system_check.check_qt_system_libraries(argv):  # a clear apt/dnf hint, not Qt's abort on missing xcb libraries
        return 1
    from gui.main_window import MainWindow

    app = create_app(argv)
    opened = [Path(a).resolve() for a in argv if not a.startswith("-")]  # the launcher's %f, before the chdir
    window = MainWindow(RESOURCES / "presets", default_config=prepare_home())
    if opened:
        window.open_config(opened[0])
    window.show()
    freeze_startup_heap()
    return app.exec()


def freeze_startup_heap() -> None:
    """Keep the garbage collector from walking the heap built so far (torch, Qt, pyqtgraph: about a
    million objects that live as long as the app): a full collection of it held the interpreter 70-90 ms,
    freezing the window even while the collection ran on a background task's thread."""
    gc.freeze()
