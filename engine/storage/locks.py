"""Advisory file locks, the one home for ``fcntl``: a run folder's "being trained" lock and a sweep's
worker and ask locks. The OS drops a lock when its process dies, so a lock can never be left behind.
Where ``fcntl`` is missing (Windows) every lock is granted and nothing counts as held."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]  # None stands for a platform without locks

HELD = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES}  # flock's answers when another holds the lock


@contextlib.contextmanager
def exclusive(path: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; yields False, holding
    nothing, when ``blocking`` is off and another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except OSError as exc:
                if exc.errno not in HELD:
                    raise
                yield False
                return
        try:
            yield True
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def is_held(path: Path) -> bool:
    """True while another process holds ``path``'s lock; a file system without flock cannot tell: False."""
    if fcntl is None or not path.exists():
        return False
    try:
        with path.open("rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as exc:
        return exc.errno in HELD
    return False
