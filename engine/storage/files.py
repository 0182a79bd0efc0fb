"""Atomic file writes: a reader (or a crash) sees the old complete file or the new one, never half."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

POSIX_SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/System")
WINDOWS_SYSTEM_FOLDERS = tuple(os.environ.get(name, "") for name in ("SystemRoot", "ProgramFiles", "ProgramFiles(x86)"))
SYSTEM_FOLDERS = tuple(Path(p) for p in (*POSIX_SYSTEM_FOLDERS, *WINDOWS_SYSTEM_FOLDERS) if p)
_SYSTEM_PREFIXES = tuple((folder, os.path.normcase(folder).rstrip("\\/")) for folder in SYSTEM_FOLDERS)


def system_folder(path: str | Path) -> tuple[Path, Path] | None:
    """(where ``path`` resolves to after .., links and ~, the OS folder holding it), or None."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # unresolvable names fail later, at the write, with a message
        return None
    text = os.path.normcase(resolved)
    for folder, prefix in _SYSTEM_PREFIXES:  # the folder itself or inside it, compared as text: listing
        if text == prefix or text.startswith(prefix + os.sep):  # hundreds of runs checks each one's folders
            return resolved, folder
    return None


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file beside ``path`` with the mode an ordinary write gives: an existing file's own
    mode, else 0666 less the umask (``mkstemp`` would make it 0600 whatever the umask)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = None
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        if mode is not None and hasattr(os, "fchmod"):
            with contextlib.suppress(OSError):  # best effort: some file systems keep their own modes
                os.fchmod(fd, mode)
        return fd, tmp


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through ``write`` into a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
