"""A call in a child process: its result or its error comes back, a crash or a cancel never hangs the caller."""

from __future__ import annotations

import multiprocessing
import operator
import os
import time

import pytest

from engine.process.child_call import ChildCallCancelledError, ChildCallError, call_in_child


def test_the_result_of_the_call_comes_back_from_another_process():
    assert call_in_child(operator.add, [1, 2], [3]) == [1, 2, 3]
    assert call_in_child(os.getpid) != os.getpid()


def test_an_error_in_the_child_is_raised_in_the_caller_with_its_message():
    with pytest.raises(ValueError, match="invalid literal"):
        call_in_child(int, "not a number")


def test_a_child_that_dies_without_a_result_ends_the_wait_with_its_exit_code():
    with pytest.raises(ChildCallError, match="code 3"):
        call_in_child(os._exit, 3)


def test_a_cancelled_call_ends_its_child_and_says_so():
    asked = []

    def cancelled() -> bool:
        asked.append(True)
        return len(asked) > 2

    with pytest.raises(ChildCallCancelledError):
        call_in_child(time.sleep, 600, cancelled=cancelled)
    assert len(asked) == 3 and not multiprocessing.active_children()
