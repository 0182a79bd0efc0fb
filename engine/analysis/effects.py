"""Effects between configurations measured over repeats: groups of runs that differ only in their
seeds, each metric's n, mean and standard deviation per group, and the change from one group to the
next with Welch's 95 % interval, its verdict and the seeds a side that would resolve it.

The seed alone moves test MSE by about 40 % on this problem, so one run against one run never
states an effect: the verdict says "cannot tell" until both sides have at least two repeats."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.analysis.comparison import seed_groups
from engine.config.schema import config_changes, format_number, is_execution_key
from engine.runs.notes import display_names

Z_POWER = 1.96 + 0.84  # two-sided 5 % test at 80 % power
TEST_MSE = "test MSE"


class Verdict(StrEnum):
    """What an effect's 95 % interval says about a lower-is-better metric."""

    BETTER = "better"  # the interval lies below 0
    WORSE = "worse"  # the interval lies above 0
    WITHIN_NOISE = "within noise"  # the interval spans 0
    CANNOT_TELL = "cannot tell"  # one side has a single run: its spread is unknown


@dataclass(frozen=True)
class Summary:
    """One metric over a group's runs: n, mean and sample standard deviation (None for n < 2)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if self.n >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "std": self.std}


def summarize(values: Sequence[float]) -> Summary:
    """The summary of the finite values among ``values``."""
    return Summary(tuple(float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)))


def welch_interval(before: Summary, after: Summary, level: float = 0.95) -> tuple[float, float, float] | None:
    """(delta, low, high): after's mean minus before's, +- t(level, nu) * its standard error, nu by
    Welch-Satterthwaite; None unless both sides have two or more values."""
    mean_before, std_before, mean_after, std_after = before.mean, before.std, after.mean, after.std
    if mean_before is None or std_before is None or mean_after is None or std_after is None:  # a side with fewer than two values
        return None
    delta = mean_after - mean_before
    a, b = std_before**2 / before.n, std_after**2 / after.n
    se2 = a + b
    if se2 == 0:  # no spread on either side: the difference is exact
        return delta, delta, delta
    nu = se2**2 / (a**2 / (before.n - 1) + b**2 / (after.n - 1))
    from scipy import stats  # half a second to import: paid by the reports that need it, not by every command

    half = float(stats.t.ppf(0.5 + level / 2, nu)) * math.sqrt(se2)
    return delta, delta - half, delta + half


def pooled_variance(before: Summary, after: Summary) -> float | None:
    """The pooled sample variance of both sides; None when neither has two values."""
    dof = before.n + after.n - 2
    if before.n < 1 or after.n < 1 or dof < 1:
        return None
    squares = sum((s.n - 1) * std**2 for s in (before, after) if (std := s.std) is not None)  # std: two values or more
    return squares / dof


def seeds_to_resolve(before: Summary, after: Summary) -> int | None:
    """Repeats a side that would resolve an effect of the observed size at 80 % power, two-sided 5 %:
    n = 2 (1.96 + 0.84)^2 s^2 / delta^2 rounded up, s^2 the pooled variance (at least 2, the fewest
    with a spread); None when it cannot be estimated (no spread known, or no difference at all)."""
    variance = pooled_variance(before, after)
    if variance is None or before.mean is None or after.mean is None:
        return None
    delta = after.mean - before.mean
    if delta == 0:
        return None
    return max(2, math.ceil(2 * Z_POWER**2 * variance / delta**2))


@dataclass(frozen=True)
class Effect:
    """The change of one metric from group ``before`` to group ``after``."""

    before: Summary
    after: Summary

    @property
    def delta(self) -> float | None:
        return None if self.before.mean is None or self.after.mean is None else self.after.mean - self.before.mean

    @property
    def delta_pct(self) -> float | None:
        """The change as a percentage of before's mean."""
        return None if self.delta is None or not self.before.mean else 100.0 * self.delta / self.before.mean

    @property
    def ci95(self) -> tuple[float, float] | None:
        interval = welch_interval(self.before, self.after)
        return None if interval is None else (interval[1], interval[2])

    @property
    def verdict(self) -> Verdict:
        interval = self.ci95
        if interval is None:
            return Verdict.CANNOT_TELL
        low, high = interval
        if high < 0:
            return Verdict.BETTER
        if low > 0:
            return Verdict.WORSE
        return Verdict.WITHIN_NOISE

    @property
    def seeds_needed(self) -> int | None:
        """Repeats a side that would resolve this effect, where the verdict is not yet better or worse."""
        if self.verdict in (Verdict.BETTER, Verdict.WORSE):
            return None
        return seeds_to_resolve(self.before, self.after)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "delta_pct": self.delta_pct,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "verdict": self.verdict.value,
            "seeds_to_resolve": self.seeds_needed,
        }


def effect(before: Sequence[float], after: Sequence[float]) -> Effect:
    """The effect on a metric whose values over the repeats are ``before`` and then ``after``."""
    return Effect(summarize(before), summarize(after))


# ----- groups of runs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunGroup:
    """Runs of one configuration (they differ only in seeds): the repeats of one experiment.
    ``runs`` are engine.runs.run.RunRecord."""

    runs: tuple[Any, ...]
    label: str = field(default="", compare=False)  # its name among the groups listed with it (display_names)

    @property
    def config(self) -> Any:
        """The first run's config (None when it cannot be read): the group's settings but its seeds."""
        return self.runs[0].config

    @property
    def name(self) -> str:
        return self.label or self.runs[0].name

    @property
    def note(self) -> str:
        """The reason for the experiment: the first non-empty note among its runs."""
        return next((r.notes.note.strip() for r in self.runs if r.notes.note.strip()), "")

    def test_mse(self) -> Summary:
        """Test MSE over the runs that have results."""
        return summarize([mse for r in self.runs if (mse := r.metrics.test_mse) is not None])

    def frequencies(self) -> list[float]:
        return sorted({f for r in self.runs for f in r.metrics.test_by_frequency()})

    def test_mse_at(self, frequency: float) -> Summary:
        """Test MSE at one frequency over the runs that have it."""
        return summarize([per[frequency] for r in self.runs if frequency in (per := r.metrics.test_by_frequency())])

    def metric(self, name: str) -> Summary:
        """A metric by the name the Runs tab gives it: "test MSE" or "test MSE 3 Hz"."""
        if name == TEST_MSE:
            return self.test_mse()
        for f in self.frequencies():
            if name == f"{TEST_MSE} {format_number(f)} Hz":
                return self.test_mse_at(f)
        return Summary(())


def group_runs(records: Sequence[Any], consecutive: bool = False) -> list[RunGroup]:
    """Records grouped by configuration (every setting but the seeds and how a run was executed), in
    first-seen order; with ``consecutive``, only neighbours join (A, A, B, A: three groups)."""
    groups = seed_groups(records, consecutive=consecutive)
    return [RunGroup(tuple(group), name) for group, name in zip(groups, display_names([g[0] for g in groups]), strict=True)]


def setting_changes(before: RunGroup, after: RunGroup) -> list[tuple[str, Any, Any]]:
    """(key, before, after) of the settings that differ between two groups, seeds and how the runs were executed left out."""
    if before.config is None or after.config is None:
        return []
    return [(k, old, new) for k, old, new in config_changes(before.config, after.config) if not is_execution_key(k)]


@dataclass(frozen=True)
class Step:
    """One step of an experiment record: the group, and its effects against the group before it (none for the first)."""

    group: RunGroup
    previous: RunGroup | None = None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)

    def test_mse(self) -> Effect | None:
        return None if self.previous is None else Effect(self.previous.test_mse(), self.group.test_mse())

    def per_frequency(self) -> dict[float, Effect]:
        """The effect at each frequency both groups were scored on."""
        if self.previous is None:
            return {}
        shared = sorted(set(self.previous.frequencies()) & set(self.group.frequencies()))
        return {f: Effect(self.previous.test_mse_at(f), self.group.test_mse_at(f)) for f in shared}


def steps_of(records: Sequence[Any]) -> list[Step]:
    """The record's steps: neighbouring runs of one configuration form a step, each compared with the step before."""
    groups = group_runs(records, consecutive=True)
    return [Step(g, groups[k - 1] if k else None, setting_changes(groups[k - 1], g) if k else []) for k, g in enumerate(groups)]


# ----- order ------------------------------------------------------------------------------------
STAMP_FORMAT = "%Y%m%d-%H%M%S"


def started_at(folder: str | Path) -> tuple[float, int]:
    """When a run started, as a sort key: the stamp of its folder's name (runs_dir/YYYYmmdd-HHMMSS-mode[-k],
    k breaking ties within a second), else its config.yaml's modification time."""
    name = Path(folder).name
    try:
        stamp = datetime.strptime(name[:15], STAMP_FORMAT).timestamp()
        suffix = name[16:].rsplit("-", 1)
        return stamp, int(suffix[1]) if len(suffix) == 2 and suffix[1].isdigit() else 1
    except ValueError:
        try:
            return (Path(folder) / "config.yaml").stat().st_mtime, 0
        except OSError:
            return math.inf, 0


def by_start(runs: Sequence[Any]) -> list[Any]:
    """Runs (RunRecord, or run folders) in the order they started, oldest first: the order a record reads."""
    return sorted(runs, key=lambda r: started_at(r if isinstance(r, (str, Path)) else r.folder))
