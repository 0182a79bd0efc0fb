"""How many CPU threads the next epoch gets, chosen from the epochs' own timings.

Measured on a 2-core host (docs/results.md, "Speed of an epoch"): the interleaved step's small matmuls gain a
little from a second thread on a quiet machine, but when another process takes a core, two
threads wait on each other and an epoch runs up to 5x slower, while one thread slows by a few
percent. The chooser tries each candidate once (after a first epoch of warm-up, whose time is not
comparable), then runs the fastest; a candidate's last time is
what it is judged on, so a slowdown shows at once and the other is taken next epoch. The other
is timed again ``probe_every`` epochs after its last timing, so a stale number never decides for
long; each probe that loses doubles that wait (up to ``max_probe_every``), so a lasting busy
spell costs few slow epochs, and a probe that wins resets it.
"""

from __future__ import annotations

from collections.abc import Sequence


def thread_candidates(cores: int) -> list[int]:
    """All cores, and one thread: the two modes measured to win on a quiet and on a busy host."""
    return sorted({max(1, cores), 1}, reverse=True)


class ThreadChooser:
    """Picks the thread count of each epoch; record every epoch's training seconds."""

    def __init__(self, candidates: Sequence[int], probe_every: int = 10, max_probe_every: int = 160):
        if not candidates:
            raise ValueError("a thread chooser needs at least one candidate")
        self.candidates = list(candidates)
        self.base_probe_every = self.probe_every = probe_every
        self.max_probe_every = max_probe_every
        self.probing = False
        self.warming_up = True
        self.seconds: dict[int, float] = {}
        self.measured_at: dict[int, int] = {}
        self.epochs = 0
        self.current = self.candidates[0]

    def next(self) -> int:
        """The thread count for the coming epoch."""
        untried = [c for c in self.candidates if c not in self.seconds]
        if untried:
            self.current = untried[0]
        else:
            best = min(self.candidates, key=lambda c: self.seconds[c])
            stale = min(self.candidates, key=lambda c: self.measured_at[c])
            self.probing = stale != best and self.epochs - self.measured_at[stale] >= self.probe_every
            self.current = stale if self.probing else best
        return self.current

    def record(self, seconds: float) -> None:
        """The last epoch, run with ``self.current`` threads, took ``seconds`` of training."""
        if self.warming_up:  # the first epoch also pays one-time costs: its time would mislead
            self.warming_up = False
            return
        self.seconds[self.current] = seconds
        self.measured_at[self.current] = self.epochs
        self.epochs += 1
        if self.probing:
            lost = min(self.seconds.values()) < seconds
            self.probe_every = min(2 * self.probe_every, self.max_probe_every) if lost else self.base_probe_every
            self.probing = False
