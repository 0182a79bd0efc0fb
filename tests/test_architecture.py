"""The import contract (as napari keeps one): engine/ is usable without Qt, gui/ holds no training."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "gui")


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_engine_source_never_imports_qt_or_gui():
    offenders = {p.name: imported_modules(p) & set(QT_MODULES) for p in (ROOT / "engine").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_whole_engine_loads_no_qt_module():
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'): importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_gui_holds_no_training_math():
    forbidden = {"torch"}
    offenders = {p.name: imported_modules(p) & forbidden for p in (ROOT / "gui").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_command_line_is_a_front_end_beside_the_gui_not_inside_the_engine():
    engine_modules = {p.stem for p in (ROOT / "engine").glob("*.py")}
    assert "cli" not in engine_modules
    offenders = {p.name: imported_modules(p) & {"cli"} for p in (ROOT / "engine").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
    qt = {p.name: imported_modules(p) & set(QT_MODULES) for p in (ROOT / "cli").rglob("*.py")}
    assert {k: v for k, v in qt.items() if v} == {}, "cli takes its Qt graph exporter from the caller"
