"""Where a run's numbers came from: the workbench's version and git commit (when run from a checkout),
the versions of the libraries that compute them, and the machine. Gathered once per process."""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

SOURCE = Path(__file__).resolve().parents[2]  # the checkout (or installed tree) the engine runs from
LIBRARIES = {"torch": "torch", "numpy": "numpy", "scipy": "scipy", "optuna": "optuna", "PySide6": "PySide6-Essentials"}


def _git(*args: str) -> str | None:
    """A git command's output in the workbench's own folder; None without git or outside a checkout."""
    try:
        done = subprocess.run(["git", "-C", str(SOURCE), *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def source_revision() -> dict[str, Any]:
    """{"commit": ..., "dirty": bool} of the checkout the engine runs from; {} when git or a checkout is absent."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != SOURCE:
        return {}  # an installed copy inside some other repository is not that repository's code
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    if not commit or status is None:
        return {}
    return {"commit": commit, "dirty": bool(status)}


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that compute or show the results; one not installed is left out
    (PySide6 is looked up by its distribution, so the engine never imports Qt)."""
    found = {}
    for name, distribution in LIBRARIES.items():
        try:
            found[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


@functools.cache
def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what the platform says; "" when unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("model name", "Hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def gpu_model() -> str | None:
    """The CUDA device's name, when there is one."""
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "platform": platform.platform(), **({"gpu": gpu} if (gpu := gpu_model()) else {})}
