"""Several runs side by side: the comparison table, the Runs tab's filter and the overlaid curves.

What the Runs tab shows and what a report writes both come from here, so they always agree."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.config.schema import NON_CAUSAL, configuration_values, flat_values, format_number
from engine.runs.notes import display_names, varying_keys
from engine.training.history import History


@dataclass(frozen=True)
class ComparisonColumn:
    """One column of the comparison: its title and, for numbers, how to show them."""

    title: str
    numeric: bool = True
    digits: int = 5  # shown decimals
    percent: bool = False  # a fraction shown as a percentage
    mse: bool = False  # an MSE, shown as engine.analysis.findings.format_mse writes it


@dataclass(frozen=True)
class Comparison:
    """Runs side by side: one row per run, numbers as numbers (None where a run has none)."""

    columns: list[ComparisonColumn]
    rows: list[list[Any]] = field(default_factory=list)

    def titles(self) -> list[str]:
        return [c.title for c in self.columns]


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def compare(records: Sequence[Any]) -> Comparison:
    """The comparison table of ``records`` (engine.runs.run.RunRecord): identity, results, then every
    setting that differs among them."""
    frequencies = sorted({f for r in records for f in r.metrics.test_by_frequency()})
    keys = varying_keys([r.config for r in records])
    columns = [
        ComparisonColumn("name", numeric=False),
        ComparisonColumn("status", numeric=False),
        ComparisonColumn("test MSE", mse=True),
        *[ComparisonColumn(f"test {format_number(f)} Hz", mse=True) for f in frequencies],
        ComparisonColumn("validation MSE", mse=True),
        ComparisonColumn("extraction MSE", mse=True),
        ComparisonColumn("gap", digits=2, percent=True),
        ComparisonColumn("best epoch", digits=0),
        ComparisonColumn("seconds", digits=1),
        *[ComparisonColumn(key, numeric=False) for key in keys],
        ComparisonColumn("tags", numeric=False),
        ComparisonColumn("run", numeric=False),
    ]
    rows = []
    for r, name in zip(records, display_names(records), strict=True):
        m, per = r.metrics, r.metrics.test_by_frequency()
        settings = flat_values(r.config) if r.config is not None else {}
        rows.append(
            [
                f"{name}, {NON_CAUSAL}" if r.config is not None and not r.config.model.is_causal else name,
                str(m.status),
                _finite(m.test_mse),
                *[per.get(f) for f in frequencies],
                m.validation_mse,
                None if m.shifted is None else m.shifted.mse,
                None if m.results is None else m.results.gap,
                m.best_epoch,
                m.wall_seconds,
                *[format_number(settings[key]) if key in settings else "?" for key in keys],
                " ".join(r.notes.tags),
                r.folder.name,
            ]
        )
    return Comparison(columns, rows)


def matches(record: Any, text: str = "", status: str = "") -> bool:
    """The Runs tab's filter: ``text`` in the folder, name, note or a tag (``#tag`` for tags only); ``status`` exactly."""
    if status and record.metrics.status != status:
        return False
    text = text.strip().lower()
    if not text:
        return True
    if text.startswith("#"):
        return text[1:] in [t.lower() for t in record.notes.tags]
    haystack = " ".join([record.folder.name, record.notes.name, record.notes.note, *record.notes.tags]).lower()
    return text in haystack


# ----- curves of several runs -------------------------------------------------------------------
BASE_METRICS = ("train loss", "test MSE", "validation MSE")


def metric_names(records: Sequence[Any]) -> list[str]:
    """What the Runs tab can overlay: the overall curves, then test MSE per frequency of the listed runs."""
    frequencies = sorted({f for r in records if r.history is not None for f in r.history.frequencies})
    return [*BASE_METRICS, *[f"test MSE {format_number(f)} Hz" for f in frequencies]]


def metric_values(history: History, metric: str) -> np.ndarray | None:
    """One metric per epoch; None when this history has no such curve (another frequency set)."""
    overall = {"train loss": history.train_loss, "test MSE": history.test_mse, "validation MSE": history.validation_mse}
    if metric in overall:
        return overall[metric]
    for k, f in enumerate(history.frequencies):
        if metric == f"test MSE {format_number(f)} Hz":
            return history.per_frequency(k)
    return None


@dataclass(frozen=True)
class RunSeries:
    """One curve of the overlay: a run, or runs that differ only in their seeds (their mean, with
    the lowest and highest value at each epoch as its band)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    runs: int = 1


def seed_groups(records: Sequence[Any], consecutive: bool = False) -> list[list[Any]]:
    """Records grouped by configuration (every setting but the seeds and how a run was executed,
    engine.config.schema.configuration_values), in first-seen order; with ``consecutive`` only neighbours
    join. A run without a readable config is a group of its own."""
    groups: dict[str, list[Any]] = {}
    previous = None
    for index, r in enumerate(records):
        key = f"#{index}" if r.config is None else json.dumps(configuration_values(r.config), sort_keys=True, default=str)
        start = key != previous
        previous = key
        if consecutive and start:
            key = f"{index}:{key}"  # neighbours of a configuration seen earlier are a group of their own
        elif consecutive:
            key = next(reversed(groups))
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def run_series(
    records: Sequence[Any], metric: str, wall_time: bool = False, merge_seeds: bool = False, numbered: bool = False
) -> list[RunSeries]:
    """The overlay of ``metric`` for ``records``; with ``merge_seeds``, seed groups become mean and band
    over the epochs all their runs reached (x: epoch, or the group's mean wall time); ``numbered``
    names each curve by its place too ("2. hidden 256"), as a report lists its steps."""
    series = []
    groups = seed_groups(records) if merge_seeds else [[r] for r in records]
    for place, (group, name) in enumerate(zip(groups, display_names([group[0] for group in groups]), strict=True), 1):
        group_name = f"{place}. {name}" if numbered else name
        curves = [(r, y) for r in group if r.history is not None and (y := metric_values(r.history, metric)) is not None and len(y)]
        if not curves:
            continue
        if len(curves) == 1:
            r, y = curves[0]
            series.append(RunSeries(group_name, r.history.wall_seconds if wall_time else r.history.epoch, y))
            continue
        n = min(len(y) for _, y in curves)
        stack = np.vstack([y[:n] for _, y in curves])
        x = np.mean([r.history.wall_seconds[:n] for r, _ in curves], axis=0) if wall_time else curves[0][0].history.epoch[:n]
        name = f"{group_name} ({len(curves)} seeds)"
        series.append(RunSeries(name, x, np.nanmean(stack, axis=0), np.nanmin(stack, axis=0), np.nanmax(stack, axis=0), len(curves)))
    return series


def metric_references(records: Sequence[Any], metric: str) -> dict[str, float]:
    """The quality references (zero output, known-model estimator) that go with ``metric``, from the
    first of ``records`` that has them: overall ones, or the frequency's own for a per-frequency metric."""
    for record in records:
        reference = record.metrics.reference
        if reference is None:
            continue
        if not metric.startswith("test MSE ") or metric == "test MSE":
            return reference_values(reference.zero_output_mse, reference.known_model_mse)
        for row in reference.per_frequency:
            if metric == f"test MSE {format_number(float(row.frequency_hz))} Hz":
                return reference_values(row.zero_output_mse, row.known_model_mse)
    return {}


def reference_values(zero_output_mse: float | None, known_model_mse: float | None) -> dict[str, float]:
    """The references that are known, by their metrics.json names."""
    levels = {"zero_output_mse": zero_output_mse, "known_model_mse": known_model_mse}
    return {key: value for key, value in levels.items() if value is not None}
