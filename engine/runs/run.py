"""Run folders: one per training, holding everything the run produced, each file written atomically.

RUN/config.yaml          the config snapshot
RUN/checkpoints/last.pt  after every completed epoch (and before the first): resume from here
RUN/checkpoints/best.pt  the best epoch by training loss or validation MSE (never the test set)
RUN/history.csv          one row per epoch, wall time included
RUN/metrics.json         final evaluation of best.pt, status, versions, seeds
RUN/predictions.npz      test-set mixture, targets and outputs for the graphs
RUN/graphs/              PNG exports (written by the plotting layer)
RUN/.active              locked while a process trains or evaluates the run (never delete or resume it then)
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import __version__
from engine.config.schema import Config, ConfigError, dump_config, error_line, load_config
from engine.runs.index import ConfigIndex
from engine.runs.metrics import SCHEMA, RunMetrics, read_metrics
from engine.runs.notes import NOTES_FILE, RunNotes, read_notes, write_notes
from engine.runs.provenance import library_versions, machine, source_revision
from engine.runs.status import RunStatus
from engine.signals.dataset import Splits, load_splits
from engine.storage.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from engine.storage.locks import exclusive, is_held
from engine.training.checkpoints import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from engine.training.evaluation import Evaluation, evaluate, extraction, memorisation, quality_references
from engine.training.history import EpochReport, History
from engine.training.model import DeviceError, resolve_device
from engine.training.trainer import Cohort, DivergenceError, EndReason, Session, TrainingControl

RUN_ARTEFACTS = ("config.yaml", "notes.json", "metrics.json", "history.csv", "predictions.npz", "checkpoints", "graphs")
QUALITY_LEVELS = (0.01, 0.001)


class RunError(RuntimeError):
    """A run folder that cannot be created, written or resumed."""


def new_run_folder(runs_dir: Path, mode: str) -> Path:
    """runs_dir/YYYYmmdd-HHMMSS-mode, made now; a writable check before any training starts."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    runs_dir = runs_dir.expanduser().resolve()  # shown as it is, with any .. resolved
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ["", *[f"-{k}" for k in range(2, 1000)]]:
            folder = runs_dir / f"{stamp}-{mode}{suffix}"
            try:
                folder.mkdir()
                break
            except FileExistsError:
                continue
        (folder / "checkpoints").mkdir()
        (folder / "graphs").mkdir()
        probe = folder / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise RunError(
            f"training.runs_dir: cannot write a run folder in {runs_dir} ({exc.strerror or exc}); allowed: a writable folder"
        ) from None
    return folder


ACTIVE_LOCK = ".active"


@contextlib.contextmanager
def active(folder: Path) -> Iterator[None]:
    """Hold the run's lock while training or evaluating; the OS drops it if the process dies."""
    deadline = time.monotonic() + 1.0  # a probe (is_active) holds it for an instant
    while True:
        with exclusive(Path(folder) / ACTIVE_LOCK, blocking=False) as mine:
            if mine:
                yield
                return
        if time.monotonic() > deadline:
            raise RunError(f"{folder}: this run is being trained by another process; stop it there first")
        time.sleep(0.01)


def is_active(folder: Path) -> bool:
    """True while some process trains or evaluates the run in ``folder``."""
    return is_held(Path(folder) / ACTIVE_LOCK)


def versions() -> dict[str, Any]:
    """The workbench (and its git commit and dirty flag, from a checkout), Python and the libraries that made the numbers."""
    libraries = {**library_versions(), "torch": torch.__version__, "numpy": np.__version__}
    return {"workbench": __version__, **source_revision(), "python": platform.python_version(), **libraries}


def environment(config: Config, device: torch.device) -> dict[str, Any]:
    """What a run's numbers came from: versions, machine, device, threads and seeds."""
    return {
        **versions(),
        **machine(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "seeds": {
            "model": config.model.seed,
            "train": config.data.train_seed,
            "test": config.data.test_seed,
            "validation": config.data.validation_seed,
        },
    }


class Run:
    """A training bound to its folder: every epoch's checkpoint, history and finally its metrics."""

    def __init__(self, folder: Path, config: Config, checkpoint: Checkpoint | None = None, data_dir: Path | None = None):
        self.folder = folder
        self.config = config
        self.device = resolve_device(config.training.device)
        self.data_dir = data_dir if data_dir is not None else Path(config.data.data_dir)
        self.splits: Splits = load_splits(config, self.data_dir)
        try:
            self.session = Session(config, self.splits, self.device, checkpoint)
        except (TypeError, ValueError, KeyError, IndexError, RuntimeError) as exc:
            if checkpoint is None or isinstance(exc, (ConfigError, DeviceError, torch.OutOfMemoryError)):
                raise  # not the checkpoint's fault
            raise CheckpointError(f"{folder}: its checkpoint's training state cannot be restored ({error_line(exc, 160)})") from None
        self.status: RunStatus = RunStatus.RUNNING
        self.message = ""
        self.evaluation: Evaluation | None = None
        self.best_test_predictions: np.ndarray | None = None  # best.pt's outputs on the test set, when its epoch was scored

    @classmethod
    def start(
        cls,
        config: Config,
        runs_dir: Path | None = None,
        data_dir: Path | None = None,
        template: str | None = None,
        notes: RunNotes | None = None,
    ) -> Run:
        """A new run folder with the config snapshot (keeping the comments of ``template``) and its notes."""
        folder = new_run_folder(Path(runs_dir or config.training.runs_dir), config.training.mode)
        run = cls(folder, config, None, data_dir)
        run._write(lambda: atomic_write_text(folder / "config.yaml", dump_config(config, template)))
        run._write(lambda: write_notes(folder, notes or RunNotes()))
        run._save_checkpoint("last.pt")
        return run

    @classmethod
    def adopt(
        cls,
        config: Config,
        weights: dict[str, torch.Tensor],
        history: History,
        best_epoch: int,
        notes: RunNotes,
        runs_dir: Path | None = None,
        template: str | None = None,
    ) -> Run:
        """A run folder for weights trained elsewhere (status "imported"), ready for ``finish()``."""
        folder = new_run_folder(Path(runs_dir or config.training.runs_dir), config.training.mode)
        run = cls(folder, config)
        run.session.adopt(weights, history, best_epoch)
        run._write(lambda: atomic_write_text(folder / "config.yaml", dump_config(config, template)))
        run._write(lambda: write_notes(folder, notes))
        run._write(lambda: atomic_write_text(folder / "history.csv", history.to_csv()))
        for name in ("best.pt", "last.pt"):
            run._save_checkpoint(name)
        run.status = RunStatus.IMPORTED
        return run

    @classmethod
    def resume(cls, folder: Path, data_dir: Path | None = None) -> Run:
        """Continue a stopped or killed run from its last.pt."""
        path = Path(folder) / "checkpoints" / "last.pt"
        if not path.exists():
            raise RunError(f"--resume: {folder} has no checkpoints/last.pt; allowed: a run folder made by this workbench")
        if is_active(folder):
            raise RunError(f"--resume: {folder} is being trained by another process; allowed: a stopped or finished run")
        checkpoint = load_checkpoint(path)
        config = checkpoint.run_config(path)
        if problem := checkpoint.restore_problem():
            raise CheckpointError(f"--resume: {path}: {problem}; allowed: a last.pt written by this workbench")
        for stale in [*Path(folder).glob(".*.tmp"), *(Path(folder) / "checkpoints").glob(".*.tmp")]:
            stale.unlink(missing_ok=True)  # a write cut short by a kill; the file it was replacing is intact
        return cls(Path(folder), config, checkpoint, data_dir)

    @functools.cached_property
    def reference(self) -> dict[str, Any]:
        """The test set's quality references: drawn before epoch 1 and written into metrics.json, computed once."""
        return quality_references(self.splits.test, self.config.data, self.data_dir)

    def _write(self, write) -> None:
        try:
            write()
        except OSError as exc:
            raise RunError(
                f"cannot write into the run folder {self.folder} ({exc.strerror or exc}); the previous files are intact"
            ) from None

    def _save_checkpoint(self, name: str) -> None:
        self._write(lambda: save_checkpoint(self.folder / "checkpoints" / name, self.session.checkpoint()))

    def epochs(self, control: TrainingControl | None = None) -> Iterator[EpochReport]:
        """Train, saving last.pt, best.pt and history.csv after every epoch; yield each report."""
        control = control or TrainingControl()
        try:
            with active(self.folder):
                yield from self._epochs(control)
        except DivergenceError as exc:
            self.status, self.message = RunStatus.DIVERGED, str(exc)
            return
        self.settle(control)

    def settle(self, control: TrainingControl) -> None:
        """A run whose training loop ended on its own: stopped, unless it had finished (why, in its message)."""
        self.status = RunStatus.STOPPED if control.stop_requested and not self.session.finished else RunStatus.COMPLETED
        if self.session.end_reason is EndReason.PATIENCE:
            t = self.config.training
            self.message = (
                f"ended early: no better validation MSE in {t.patience} scored epochs after epoch {self.session.best_epoch} "
                f"(training.patience {t.patience})"
            )

    @property
    def ended_by(self) -> EndReason | None:
        """Why its training ended (None while it goes on)."""
        by_status = {RunStatus.STOPPED: EndReason.STOPPED, RunStatus.DIVERGED: EndReason.DIVERGED, RunStatus.PRUNED: EndReason.PRUNED}
        return by_status.get(self.status) or self.session.end_reason

    def _epochs(self, control: TrainingControl) -> Iterator[EpochReport]:
        for report in self.session.epochs(control):
            self.record_epoch(report)
            yield report

    def record_epoch(self, report: EpochReport) -> None:
        """After every epoch: last.pt, best.pt when it is the best so far, and history.csv."""
        self._save_checkpoint("last.pt")
        if report.is_best:
            self._save_checkpoint("best.pt")
            scored = not math.isnan(report.test_mse)  # an epoch between scorings records NaN
            self.best_test_predictions = self.session.latest_test_predictions if scored else None
        self._write(lambda: atomic_write_text(self.folder / "history.csv", self.session.history.to_csv()))

    def finish(self) -> RunMetrics:
        """Evaluate best.pt (else last.pt) by the common protocol; write metrics.json and predictions.npz."""
        with active(self.folder):
            return self._finish()

    def _finish(self) -> RunMetrics:
        checkpoints = self.folder / "checkpoints"
        source = checkpoints / ("best.pt" if (checkpoints / "best.pt").exists() else "last.pt")
        model = self.session.model
        model.load_state_dict(load_checkpoint(source).model)
        t = self.config.training
        known_test = self.best_test_predictions if source.name == "best.pt" else None  # scored with these very weights
        threshold = self.config.evaluation.generalization_threshold
        self.evaluation = evaluate(model, self.splits.train, self.splits.test, t.mode, t.batch_size, threshold, known_test)
        shifted = extraction(model, self.config.data, self.config.evaluation.shifted_starts, t.mode, t.batch_size, self.data_dir)
        check = memorisation(model, self.config.data, self.evaluation.train, self.config.evaluation.unseen_draws, t.mode, t.batch_size)
        history = self.session.history
        seconds = [s for s in history.epoch_seconds.tolist() if math.isfinite(s)]  # an imported run may not know them
        metrics = RunMetrics.from_json(
            {
                "schema": SCHEMA,
                "status": self.status,
                "message": self.message,
                "ended_by": None if self.ended_by is None else self.ended_by.value,
                "mode": t.mode,
                "device": str(self.device),
                "epochs_completed": self.session.epoch,
                "best_epoch": self.session.best_epoch,
                "validation_mse": selected_validation_mse(history, self.session.best_epoch),
                "selected_by": t.selection,
                "evaluated_checkpoint": source.name,
                "seconds_per_epoch": statistics.median(seconds) if seconds else None,
                "wall_seconds": self.session.elapsed,
                "time_to_test_mse": {str(level): history.time_to(level) for level in QUALITY_LEVELS},
                **self.evaluation.to_dict(),
                "reference": self.reference,
                "memorisation": check.to_dict(),
                **({"shifted": shifted.to_dict()} if shifted is not None else {}),
                "environment": environment(self.config, self.device),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        buffer = io.BytesIO()
        np.savez(
            buffer,
            frequencies=np.asarray(self.splits.test.frequencies),
            t=self.splits.test.t,
            mixture=self.splits.test.mixture,
            targets=self.splits.test.targets,
            outputs=self.evaluation.test_predictions,
        )
        self._write(lambda: atomic_write_bytes(self.folder / "predictions.npz", buffer.getvalue()))
        self._write(lambda: atomic_write_json(self.folder / "metrics.json", metrics.to_json()))
        return metrics


def train_together(runs: list[Run], control: TrainingControl | None = None) -> Iterator[tuple[Run, EpochReport]]:
    """Runs that differ only in model seed, learning rate and clip, trained as one population
    (engine.training.trainer.Cohort), each folder written after every epoch as if it trained alone. A run
    whose status the caller changes after a report (a pruned trial) leaves the population."""
    control = control or TrainingControl()
    cohort = Cohort([run.session for run in runs])
    run_of = {id(run.session): run for run in runs}
    with contextlib.ExitStack() as stack:
        for run in runs:
            stack.enter_context(active(run.folder))
        for session, outcome in cohort.epochs(control):
            run = run_of[id(session)]
            if isinstance(outcome, DivergenceError):
                run.status, run.message = RunStatus.DIVERGED, str(outcome)
                continue
            run.record_epoch(outcome)
            yield run, outcome
            if run.status != RunStatus.RUNNING:
                cohort.drop(session)
    for run in runs:
        if run.status == RunStatus.RUNNING:
            run.settle(control)


def selected_validation_mse(history: History, best_epoch: int) -> float | None:
    """The validation MSE of ``best_epoch``, the epoch best.pt holds (None when selection is by training loss)."""
    rows = np.flatnonzero(history.epoch == best_epoch)
    value = float(history.validation_mse[rows[0]]) if rows.size else math.nan
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class RunRecord:
    """What a finished or stopped run folder holds, read back for listing, graphs and comparison."""

    folder: Path
    config: Config | None
    metrics: RunMetrics
    history: History | None  # None: no history.csv, or one that cannot be read
    notes: RunNotes = RunNotes()

    @property
    def name(self) -> str:
        """The run's own name, else its folder's."""
        return self.notes.name or self.folder.name

    def predictions(self) -> dict[str, np.ndarray] | None:
        path = self.folder / "predictions.npz"
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}


def save_notes(folder: Path, notes: RunNotes) -> None:
    """Write a run's edited notes, or raise a RunError saying why they could not be (the old file intact)."""
    try:
        write_notes(folder, notes)
    except OSError as exc:
        raise RunError(f"cannot write {Path(folder) / NOTES_FILE} ({exc.strerror or exc}); the notes as they were are intact") from None


def load_run(folder: Path, configs: ConfigIndex | None = None) -> RunRecord:
    """Read a run folder; missing or damaged pieces come back empty instead of raising (metrics of
    the wrong shape as ``{"status": "damaged", "damaged": <what>}``, so every reader can trust the rest).
    With ``configs``, its config comes from the runs folder's index while config.yaml is unchanged."""
    folder = Path(folder)
    if configs is not None:
        config = configs.config(folder)
    else:
        try:
            config = load_config(folder / "config.yaml")
        except ConfigError:
            config = None
    metrics = read_metrics(folder / "metrics.json")
    return RunRecord(folder, config, metrics, History.read(folder / "history.csv"), read_notes(folder))


def load_runs(runs_dir: Path, folders: list[Path] | None = None, progress: Callable[[int, int], bool] | None = None) -> list[RunRecord]:
    """The runs of ``runs_dir`` (newest first, or ``folders`` of it), their configs through the folder's
    index. ``progress(done, total)`` is called after each; returning False stops early (the records so far)."""
    runs_dir = Path(runs_dir)
    folders = list_runs(runs_dir) if folders is None else folders
    index = ConfigIndex(runs_dir)
    records = []
    for done, folder in enumerate(folders, 1):
        records.append(load_run(folder, index if Path(folder).parent == runs_dir else None))
        if progress is not None and not progress(done, len(folders)):
            break
    index.save(keep=lambda name: (runs_dir / name / "checkpoints").is_dir())
    return records


def list_runs(runs_dir: Path) -> list[Path]:
    """Run folders (those with a checkpoints/ folder), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return sorted((p for p in runs_dir.iterdir() if (p / "checkpoints").is_dir()), key=lambda p: p.name, reverse=True)
