"""The thread chooser: tries each count, keeps the fastest, leaves a count that turned slow, re-times."""

from __future__ import annotations

import copy
import os

import pytest
import torch

from engine.signals.dataset import load_splits
from engine.training.interleaved import InterleavedTrainer
from engine.training.model import FrequencyLSTM
from engine.training.threads import ThreadChooser, thread_candidates
from engine.training.trainer import Session
from tests.conftest import small_config


def run(chooser: ThreadChooser, seconds_of: dict[int, float], epochs: int) -> list[int]:
    used = []
    for _ in range(epochs):
        threads = chooser.next()
        used.append(threads)
        chooser.record(seconds_of[threads])
    return used


def test_candidates_are_all_cores_and_one():
    assert thread_candidates(2) == [2, 1]
    assert thread_candidates(16) == [16, 1]
    assert thread_candidates(1) == [1]


def test_tries_each_then_keeps_the_fastest_and_re_times_the_other():
    chooser = ThreadChooser([2, 1], probe_every=5)
    used = run(chooser, {2: 0.5, 1: 0.8}, 18)[1:]  # the first epoch is warm-up, not timed
    assert used[:2] == [2, 1]
    assert used[2:6] == [2] * 4
    assert used[6] == 1  # five epochs after its last timing the other is timed again, then the fastest is back
    assert used[7:16] == [2] * 9
    assert used[16] == 1  # the probe lost: ten epochs later, not five


def test_a_probe_that_wins_brings_the_short_wait_back():
    chooser = ThreadChooser([2, 1], probe_every=2)
    run(chooser, {2: 0.5, 1: 0.8}, 5)  # warm-up, 2, 1, 2, then the probe of 1 loses: the wait is 4
    assert chooser.probe_every == 4
    used = run(chooser, {2: 0.5, 1: 0.3}, 4)  # the host changed: one thread is now faster
    assert used == [2, 2, 2, 1]  # the probe comes four epochs after the last timing of one thread, and wins
    assert chooser.probe_every == 2
    assert run(chooser, {2: 0.5, 1: 0.3}, 3)[1:] == [1, 1]  # after a look at the old best, the new one stays


def test_a_count_that_turns_slow_is_left_the_next_epoch():
    chooser = ThreadChooser([2, 1], probe_every=50)
    run(chooser, {2: 0.5, 1: 0.8}, 5)
    assert chooser.next() == 2
    chooser.record(2.6)  # another process took a core: two threads now wait on each other
    assert chooser.next() == 1
    chooser.record(0.8)
    assert chooser.next() == 1


def test_interleaved_numbers_agree_across_thread_counts():
    """What makes switching safe: 1 and 2 threads give the same losses and weights to float rounding."""
    x, y = torch.randn(32 * 40 + 7, 5), torch.randn(32 * 40 + 7)
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 64, 2)
    results = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            trainer = InterleavedTrainer(copy.deepcopy(model), 32, 1e-3, 1.0)
            losses = [trainer.train_epoch(x, y, lambda: True) for _ in range(3)]
            results.append((losses, [p.clone() for p in trainer.model.parameters()]))
    finally:
        torch.set_num_threads(before)
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(results[0][1], results[1][1], strict=True))


@pytest.mark.parametrize(("overrides", "adapts"), [((), True), (("training.num_threads=1",), False), (("training.mode=streams",), False)])
def test_a_session_chooses_threads_per_epoch_only_when_asked_to(tmp_path, overrides, adapts):
    config = small_config(tmp_path, "training.num_threads=0", *overrides)
    session = Session(config, load_splits(config), torch.device("cpu"))
    reports = list(session.epochs())
    assert len(reports) == config.training.num_epochs
    if not adapts:
        assert session.threads is None
        return
    candidates = thread_candidates(os.cpu_count() or 1)
    assert session.threads.candidates == candidates
    assert set(session.threads.seconds) == set(candidates)  # every candidate was timed on a real epoch
    assert session.threads.epochs == len(reports) - 1  # the first epoch warms up
    assert torch.get_num_threads() == candidates[0]  # the evaluation after training gets all cores back
