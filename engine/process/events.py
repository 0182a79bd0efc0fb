"""What a training process tells its front end, as typed records that cross a pipe or a thread.

The front end draws from these alone: the started event carries what it shows before epoch 1
(the time axis and targets of the test set, a resumed run's earlier epochs), computed where the
run is, so no front end generates data sets again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config.schema import Config
from engine.runs.metrics import RunMetrics
from engine.runs.notes import RunNotes
from engine.runs.status import RunStatus
from engine.training.history import EpochReport, History

GraphExporter = Callable[[Path, Config], list[Path]]  # writes a run folder's PNGs (a front end's, since it needs Qt)


@dataclass(frozen=True)
class RunJob:
    """What a front end asks a training process to do: start a run from ``config`` in ``runs_dir``
    (its saved config keeping ``template``'s comments, its notes written beside it), or resume
    the run folder ``resume``; ``export_graphs`` writes the PNGs after (a picklable function)."""

    config: Config | None = None
    runs_dir: Path | None = None
    resume: Path | None = None
    template: str | None = None
    notes: RunNotes | None = None
    export_graphs: GraphExporter | None = None


@dataclass(frozen=True)
class RunStarted:
    """The run exists: its folder, device and what to draw before its first new epoch."""

    folder: Path
    device: str
    num_epochs: int
    frequencies: tuple[float, ...]
    t: np.ndarray  # (window,) seconds of the test set shown live
    targets: np.ndarray  # (N, window) clean targets of the test set
    history: History  # epochs a resumed run already has; empty for a new run
    dpi: int
    reference: dict  # the test set's quality references (engine.training.evaluation.quality_references)


@dataclass(frozen=True)
class EpochDone:
    """One completed epoch and the model's test outputs over the shown window, (N, window)."""

    report: EpochReport
    predictions: np.ndarray | None


@dataclass(frozen=True)
class RunEvaluated:
    """The run's numbers exist (metrics.json is written): what a front end shows at once. Its graphs,
    when the job writes them, come after, and a ``RunFinished`` follows either way."""

    status: RunStatus
    message: str
    metrics: RunMetrics
    graphs_follow: bool  # the job writes the run's PNGs now, before its RunFinished


@dataclass(frozen=True)
class RunFinished:
    """The run ended: completed, stopped, diverged or failed; metrics is None when none were written."""

    status: RunStatus
    message: str
    metrics: RunMetrics | None


RunEvent = RunStarted | EpochDone | RunEvaluated | RunFinished
