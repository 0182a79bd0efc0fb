"""The start-up check for the system libraries of Qt's xcb plugin: detection, the hint, run_app's early exit."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gui.panels import system_check
from gui.panels.system_check import QT_XCB_LIBRARIES, SystemLibrary, check_qt_system_libraries, install_hint, missing_qt_libraries

ROOT = Path(__file__).resolve().parent.parent
X11 = {"DISPLAY": ":0"}  # an X11 session: Qt starts with xcb


def loader_without(*absent: str):
    """A CDLL stand-in that fails, as the dynamic linker does, for the given sonames; records every call."""
    calls: list[str] = []

    def load(soname: str) -> object:
        calls.append(soname)
        if soname in absent:
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")
        return object()

    load.calls = calls
    return load


def test_a_missing_library_gives_the_apt_and_dnf_lines_with_its_packages():
    load = loader_without("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    missing = missing_qt_libraries(load, environ=X11, platform="linux")
    assert [library.soname for library in missing] == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing[1] == SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm")
    lines = install_hint(missing).splitlines()
    assert "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in lines[1]
    assert lines[1].endswith("libxcb-keysyms1")
    assert lines[2].endswith("sudo dnf install -y xcb-util-cursor xcb-util-wm xcb-util-keysyms")
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in lines[0]


def test_every_library_is_tried_and_a_package_is_named_once():
    load = loader_without("libxcb-randr.so.0", "libxcb-shm.so.0", "libglib-2.0.so.0", "libgthread-2.0.so.0")
    missing = missing_qt_libraries(load, environ=X11, platform="linux")
    assert load.calls == [library.soname for library in QT_XCB_LIBRARIES]
    hint = install_hint(missing)
    assert "sudo apt-get install -y libxcb-randr0 libxcb-shm0 libglib2.0-0\n" in hint
    assert "sudo dnf install -y libxcb glib2\n" in hint


def test_nothing_missing_gives_an_empty_list_and_true(capsys):
    assert missing_qt_libraries(loader_without(), environ=X11, platform="linux") == []
    assert check_qt_system_libraries(load=loader_without()) is True
    assert capsys.readouterr().err == ""


def test_check_prints_the_hint_to_stderr_and_returns_false(monkeypatch, capsys):
    monkeypatch.setattr(system_check.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert check_qt_system_libraries(load=loader_without("libxcb-keysyms.so.1")) is False
    assert "sudo apt-get install -y libxcb-keysyms1\n" in capsys.readouterr().err


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_off_linux_nothing_is_checked(platform):
    load = loader_without("libxcb-cursor.so.0")
    assert missing_qt_libraries(load, environ=X11, platform=platform) == []
    assert load.calls == []


@pytest.mark.parametrize(
    ("environ", "argv", "expected"),
    [
        ({"QT_QPA_PLATFORM": "offscreen"}, [], "offscreen"),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, [], "wayland"),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, [], "xcb"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, [], "wayland"),
        ({"QT_QPA_PLATFORM": ""}, [], "xcb"),  # empty is unset, as in Qt
        ({"DISPLAY": ":0"}, [], "xcb"),
        ({}, [], "xcb"),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, [], "wayland"),  # Qt 6 prefers wayland in a Wayland session
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, [], "wayland"),
        ({"QT_QPA_PLATFORM": "xcb"}, ["config.yaml", "-platform", "offscreen"], "offscreen"),
        ({"QT_QPA_PLATFORM": "offscreen"}, ["--platform", "xcb"], "xcb"),
    ],
)
def test_the_platform_is_chosen_as_qt_chooses_it(environ, argv, expected):
    assert system_check.qt_platform(argv, environ) == expected
    load = loader_without("libxcb-cursor.so.0")
    missing = missing_qt_libraries(load, argv=argv, environ=environ, platform="linux")
    assert [library.soname for library in missing] == (["libxcb-cursor.so.0"] if expected == "xcb" else [])


def test_offscreen_checks_nothing(monkeypatch):
    monkeypatch.setattr(system_check.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    load = loader_without("libxcb-cursor.so.0")
    assert missing_qt_libraries(load) == []
    assert check_qt_system_libraries(load=load) is True
    assert load.calls == []


def test_importing_the_check_does_not_import_qt():
    code = "import sys, gui.panels.system_check; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


RUN_APP = textwrap.dedent(
    """
    import sys
    from gui import app
    from gui.panels import system_check
    from PySide6.QtWidgets import QApplication

    system_check.check_qt_system_libraries = lambda *args, **kwargs: {ok}
    real_create_app = app.create_app

    def create_app(argv):  # had the check let it through: note the app and stop before the event loop
        real_create_app(argv)
        print("created", QApplication.instance() is not None)
        sys.exit(7)

    app.create_app = create_app
    print("rc", app.run_app([]), QApplication.instance())
    """
)


@pytest.mark.parametrize(("ok", "expected"), [(False, "rc 1 None"), (True, "created True")])
def test_run_app_stops_before_the_qapplication_when_libraries_are_missing(tmp_path, ok, expected):
    # A fresh interpreter: pytest-qt may already hold a QApplication in this one.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", RUN_APP.format(ok=ok)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines()[-1:] == [expected], out.stderr
    assert out.returncode == (0 if not ok else 7)


def elf_needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian ELF file (what `readelf -d` lists)."""
    data = path.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", path
    shoff, shentsize, shnum = struct.unpack_from("<Q", data, 0x28)[0], *struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    dynamic = next(s for s in sections if s[1] == 6)  # SHT_DYNAMIC; sh_link is its string table
    strtab_offset = sections[dynamic[6]][4]
    needed = []
    for offset in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            end = data.index(b"\0", strtab_offset + value)
            needed.append(data[strtab_offset + value : end].decode())
    return needed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux only")
def test_the_list_matches_what_the_installed_xcb_plugin_needs():
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    shipped = {p.name for p in (qt / "lib").iterdir()}
    runtime = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
    runtime |= {"libz.so.1", "libzstd.so.1"}  # dpkg and rpm need them: never missing
    files = [qt / "plugins" / "platforms" / "libqxcb.so"] + [qt / "lib" / f"libQt6{m}.so.6" for m in ("XcbQpa", "Gui", "Core", "DBus")]
    needed = {soname for f in files for soname in elf_needed(f)} - shipped - runtime
    assert needed == {library.soname for library in QT_XCB_LIBRARIES}
