"""One function call in a fresh child process, waited for without blocking anything but the caller.

Drawing and exporting a figure holds the interpreter for up to a second; in the window's process
that freezes the window, even from a thread. A spawned child has its own interpreter: the caller,
a background task, only waits on a pipe and on the child's exit, so a child that crashes ends the
wait with an error instead of a hang, and a cancelled call ends the child.
"""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from engine.process.training_process import CONTEXT

T = TypeVar("T")
POLL_S = 0.05  # how often a waiting call checks whether it is still wanted


class ChildCallError(RuntimeError):
    """The child process ended without a result (killed, or crashed before it could say why)."""


class ChildCallCancelledError(Exception):
    """The call was no longer wanted; its child process was ended."""


def _serve(result: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except Exception as exc:  # handed to the caller, which raises it there
        outcome = (False, exc)
    try:
        result.send(outcome)
    except Exception as exc:  # an unpicklable result or error: its text still reaches the caller
        result.send((False, ChildCallError(f"{type(exc).__name__}: {exc}")))
    result.close()


def call_in_child(fn: Callable[..., T], *args: Any, cancelled: Callable[[], bool] = lambda: False) -> T:
    """``fn(*args)`` run in a spawned child process (``fn`` and ``args`` picklable); its result, or its
    error raised here. ``cancelled`` is asked every few hundredths of a second: True ends the child and
    raises ChildCallCancelledError."""
    receive, send = CONTEXT.Pipe(duplex=False)
    child = CONTEXT.Process(target=_serve, args=(send, fn, args), daemon=True, name=f"call {getattr(fn, '__name__', fn)}")
    answered = False
    try:
        child.start()
        send.close()  # the child's copy is the only one left: its exit ends a wait on the pipe
        while not wait([receive, child.sentinel], POLL_S):
            if cancelled():
                raise ChildCallCancelledError(getattr(fn, "__name__", str(fn)))
        try:
            ok, value = receive.recv()
            answered = True
        except EOFError:
            child.join()
            raise ChildCallError(f"the child process exited with code {child.exitcode} before it had a result") from None
    finally:
        _end(child, patience_s=5.0 if answered else 0.0)
        receive.close()
        send.close()
    if not ok:
        raise value
    return value


def _end(child: Any, patience_s: float) -> None:
    """The child gone: given ``patience_s`` to exit by itself (it has answered), else ended now."""
    if child.pid is None:  # it never started
        return
    child.join(patience_s)
    if child.is_alive():
        child.terminate()
        child.join()
