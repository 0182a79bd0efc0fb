"""Atomic file writes: a reader (or a crash) sees the old complete file or the new one, never half."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

POSIX_SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/System")
WINDOWS_SYSTEM_FOLDERS = tuple(os.environ.get(name, "") for name in ("SystemRoot", "ProgramFiles", "ProgramFiles(x86)"))
SYSTEM_FOLDERS = tuple(Path(p) for p in (*POSIX_SYSTEM_FOLDERS, *WINDOWS_SYSTEM_FOLDERS) if p)


def system_folder(path: str | Path) -> tuple[Path, Path] | None:
    """(where ``path`` resolves to after .., links and ~, the OS folder holding it), or None."""
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # unresolvable names fail later, at the write, with a message
        return None
    for folder in SYSTEM_FOLDERS:
        if resolved == folder or folder in resolved.parents:
            return resolved, folder
    return None


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through ``write`` into a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
