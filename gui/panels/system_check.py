"""Before the window opens on Linux: are the system libraries Qt's X11 (xcb) platform plugin needs there?

The PySide6 wheel ships Qt itself but not the X11/OpenGL/font libraries of the desktop. A bare
Debian/Ubuntu desktop lacks a few of them (libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...),
and Qt then aborts with "Could not load the Qt platform plugin "xcb"", naming none of them. This
module finds the missing ones and prints the apt and dnf command that installs them.

It imports no Qt: it runs before the QApplication is made (and before the plugin is loaded).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    apt: str  # Debian/Ubuntu package
    dnf: str  # Fedora package


# The NEEDED entries (readelf -d) of PySide6 6.11's plugins/platforms/libqxcb.so and of what it pulls
# in (lib/libQt6XcbQpa.so.6, libQt6Gui.so.6, libQt6Core.so.6, libQt6DBus.so.6), less the libraries
# the wheel ships (libQt6*, libicu*), the C/C++ runtime (libc, libm, libstdc++, libgcc_s, ld-linux)
# and libz/libzstd, which dpkg and rpm themselves need, so they cannot be missing.
# apt names: from `dpkg -S` on Debian 12 (apt-cache show/dpkg-deb -c for libxcb-icccm4 and
# libxcb-keysyms1, which that machine lacked); Ubuntu 24.04 / Debian 13 rename libglib2.0-0 to
# libglib2.0-0t64, which Provides the old name, so apt-get selects it.
# dnf names: from Fedora's packaging (xcb-util-* split, libxcb holding every core extension,
# libglvnd-* holding libGL/libEGL); NOT checked on a Fedora machine.
# The optional libxcb-glx.so.0 (the GLX integration plugin; Qt warns and goes on without it) is not listed.
QT_XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx"),
    SystemLibrary("libEGL.so.1", "libegl1", "libglvnd-egl"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    SystemLibrary("libfreetype.so.6", "libfreetype6", "freetype"),
    SystemLibrary("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libgthread-2.0.so.0", "libglib2.0-0", "glib2"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)


def qt_platform(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """The platform plugin Qt tries first, chosen as QGuiApplication does (Qt 6): `-platform NAME` in
    argv, else QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb. Options (`xcb:opt`) and
    fall-backs (`wayland;xcb`) are cut off."""
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "")  # empty counts as unset, as in Qt
    for flag, value in itertools.pairwise(argv):
        if flag in ("-platform", "--platform"):
            requested = value  # the last one wins, as in Qt
    if not requested:
        wayland_session = "WAYLAND_DISPLAY" in env or env.get("XDG_SESSION_TYPE") == "wayland"
        requested = "wayland" if wayland_session else "xcb"
    return requested.split(";")[0].split(":")[0].strip()


def missing_qt_libraries(
    load: Callable[[str], object] = ctypes.CDLL,
    *,
    argv: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> list[SystemLibrary]:
    """The libraries of QT_XCB_LIBRARIES that `load` (the dynamic linker's search, as Qt's dlopen of
    the plugin) cannot open; [] off Linux or when Qt will not start with xcb (offscreen, wayland...).
    A library whose own dependency is missing is reported too (its install is then a no-op)."""
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or qt_platform(argv, environ) != "xcb":
        return []
    missing = []
    for library in QT_XCB_LIBRARIES:
        try:
            load(library.soname)
        except OSError:
            missing.append(library)
    return missing


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def install_hint(missing: Sequence[SystemLibrary]) -> str:
    """Why the window cannot open, and the apt and dnf command lines that fix it."""
    sonames = ", ".join(library.soname for library in missing)
    return (
        f"LSTM Workbench cannot open its window: Qt's X11 (xcb) platform plugin needs system libraries "
        f"that are not installed ({sonames}). Install them, then start again:\n"
        f"  Debian/Ubuntu:  sudo apt-get install -y {' '.join(_unique(library.apt for library in missing))}\n"
        f"  Fedora:         sudo dnf install -y {' '.join(_unique(library.dnf for library in missing))}\n"
    )


def check_qt_system_libraries(argv: Sequence[str] = (), load: Callable[[str], object] = ctypes.CDLL) -> bool:
    """True when the window can start; else print the install hint to stderr and return False."""
    missing = missing_qt_libraries(load, argv=argv)
    if missing:
        print(install_hint(missing), end="", file=sys.stderr)
    return not missing
