"""Running a sweep on Optuna: a study, worker processes that each train one trial at a time, and
the sweep folder's outputs.

Storage: on one machine a journal file in the sweep folder (Optuna's storage meant for several
processes; nothing to start). Across machines any RDB URL Optuna supports, with Optuna's heartbeat:
a trial whose worker stops beating is failed and retried. The journal has no heartbeat, so its
equivalent is a lock file each worker holds while it lives: a RUNNING trial whose worker's lock is
free belongs to a dead worker, and is failed and retried the same way.

Workers ask for trials under a lock (journal) so two never start more trials than the sweep has,
and every trial is an ordinary run folder tagged with the study and its trial number. Where a
sweep varies only the model seed, learning rate and clip of interleaved runs, a worker asks for
several trials at once and trains them as one population (engine.training.trainer.Cohort): each member's
numbers are those of its solo run, and the pruner stops members one by one."""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import math
import multiprocessing
import os
import signal
import socket
import statistics
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from engine.analysis.effects import effect, summarize
from engine.config.schema import Config, ConfigError, ConfigProblem, error_line, format_number
from engine.runs.metrics import RunMetrics
from engine.runs.notes import RunNotes, describe_changes
from engine.runs.run import Run, train_together
from engine.runs.status import RunStatus
from engine.storage.files import atomic_write_text
from engine.storage.locks import exclusive, is_held
from engine.sweeps.optuna_compat import expects_heartbeats, fail_trial, is_embedded, record_heartbeat
from engine.sweeps.space import Parameter, SweepError, SweepSpec, base_values, settings_of, study_name_problem
from engine.training.history import EpochReport
from engine.training.model import parameter_count, resolve_device
from engine.training.trainer import COHORT_FREE, TrainingControl, cohort_problem

SPEC_ATTR = "workbench_spec"
JOURNAL = "study.journal"
CONTEXT = multiprocessing.get_context("spawn")
SweepFigures = Callable[[list[dict[str, Any]], SweepSpec, dict[str, float], Path, int], list[Path]]  # rows, spec, importances, folder, dpi

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ----- storage and study ------------------------------------------------------------------------
def storage_for(url: str | None, sweep_dir: Path, heartbeat: int = 10) -> optuna.storages.BaseStorage:
    """The embedded journal file in the sweep folder, or a shared database with heartbeats."""
    if url:
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=heartbeat,
                grace_period=3 * heartbeat,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
        except Exception as exc:  # a wrong URL, an unreachable server, a missing driver: one line, not a traceback
            raise SweepError(f"--storage: cannot open {url!r} ({error_line(exc)})") from None
    sweep_dir.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(sweep_dir / JOURNAL)))


class AskTellGridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler for workers that ask and tell: after the grid's last point it calls
    ``study.stop()``, which only ``optimize()`` accepts (elsewhere a RuntimeError that killed the
    worker with a traceback); here the sweep's trial count, the grid's size, already ends the sweep."""

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: TrialState, values: Any) -> None:
        return None


def sampler_for(spec: SweepSpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """Each worker's sampler gets its own seed, so two workers never draw the same random start-up trials."""
    seed = spec.seed + worker
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return AskTellGridSampler({p.key: p.grid() for p in spec.parameters}, seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def pruner_for(spec: SweepSpec) -> optuna.pruners.BasePruner:
    if spec.pruning == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def _comparable(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "base_path"}


def create_study(spec: SweepSpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """The study, created once (its experiments queued first) or found again for the same sweep."""
    study = optuna.create_study(
        study_name=spec.study,
        storage=storage,
        sampler=sampler_for(spec),
        pruner=pruner_for(spec),
        direction="minimize",
        load_if_exists=True,
    )
    stored = study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        study.set_user_attr(SPEC_ATTR, _plain(spec.to_dict()))
        for k, settings in enumerate(spec.experiments):
            study.enqueue_trial({}, user_attrs={"settings": settings, "experiment": k + 1})
    elif _comparable(stored) != _comparable(_plain(spec.to_dict())):
        raise SweepError(
            f"study {spec.study!r} exists with other settings; allowed: the same sweep file to continue it, or a new study name"
        )
    return study


def load_study(name: str, storage: optuna.storages.BaseStorage, worker: int = 0) -> tuple[optuna.Study, SweepSpec]:
    """A study made by this workbench, and its sweep as it stored it (``--join`` needs nothing else)."""
    try:
        probe = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SweepError(f"--study: no study named {name!r} in this storage; allowed: the name a running sweep printed") from None
    if SPEC_ATTR not in probe.user_attrs:
        raise SweepError(f"--study: {name!r} was not made by this workbench's sweep command")
    spec = SweepSpec.from_dict(probe.user_attrs[SPEC_ATTR])
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler_for(spec, worker), pruner=pruner_for(spec)), spec


def _plain(value: Any) -> Any:
    """Tuples as lists: what a study's user attributes hold after a JSON round trip."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ----- which trials count, which are stale --------------------------------------------------------
def finished(trial: FrozenTrial) -> bool:
    """Trials that count toward the sweep's total: completed, pruned, or failed for a reason of their own."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (trial.state == TrialState.FAIL and "failure" in trial.user_attrs)


def _retried(trials: list[FrozenTrial]) -> set[int]:
    return {n for t in trials for n in t.system_attrs.get("retry_history", [])}


def retry_lost(study: optuna.Study) -> list[int]:
    """Queue again every trial that was interrupted or lost with its worker (FAIL without a failure
    of its own), once: its settings are kept, so no finished trial is repeated and none is lost."""
    trials = study.get_trials(deepcopy=False)
    done = _retried(trials)
    lost = [t for t in trials if t.state == TrialState.FAIL and "failure" not in t.user_attrs and t.number not in done]
    for trial in lost:
        RetryHeartbeatStaleTrialCallback(max_retry=3)(study, trial)
    return [t.number for t in lost]


def worker_alive(sweep_dir: Path, worker: str) -> bool:
    return is_held(sweep_dir / "workers" / f"{worker}.lock")


def fail_dead_workers_trials(study: optuna.Study, sweep_dir: Path, ended: set[str] | None = None, asking: bool = False) -> list[int]:
    """RUNNING trials whose worker is gone are failed (to be queued again): on one machine, those whose
    worker holds no lock (the journal's heartbeat); ``ended``: workers known to have ended. ``asking``:
    the caller holds the ask lock, under which a worker asks and names its trial, so a trial with no
    worker's name was asked by a worker killed in between."""
    host = socket.gethostname()
    lost = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker", "")
        local = is_embedded(study) and worker.startswith(f"{host}-")
        unclaimed = is_embedded(study) and asking and not worker
        if worker in (ended or set()) or unclaimed or (local and not worker_alive(sweep_dir, worker)):
            study.tell(trial.number, state=TrialState.FAIL)
            lost.append(trial.number)
    return lost


def fail_unclaimed_trials(study: optuna.Study, grace_seconds: float) -> list[int]:
    """A worker killed between ask and its first beat leaves a RUNNING trial with no heartbeat, which
    Optuna never counts as stale: fail it once it is older than the grace period and still has no
    worker's name (a worker names its trial right after its first beat)."""
    cutoff = datetime.now() - timedelta(seconds=grace_seconds)  # Optuna stamps datetime_start with the local naive time
    lost = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if "worker" not in trial.user_attrs and trial.datetime_start is not None and trial.datetime_start < cutoff:
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):  # another worker got there first
                fail_trial(study, trial)
                lost.append(trial.number)
    return lost


def worker_name(pid: int, index: int) -> str:
    return f"{socket.gethostname()}-{pid}-{index}"


# ----- one worker ---------------------------------------------------------------------------------
DEFAULT_POPULATION = 4  # measured on a 2-core CPU: 4 members per worker ran 1.25x faster than one by one, 8 no faster on 1 thread
# measured on the same CPU, 4 members on 1 thread: 1.2-1.8x faster up to 69k weights a member
# (hidden 128 x 1 layer), 0.7-0.8x from 150k (hidden 192 x 1, 128 x 2): the members' weights
# stop fitting the cache together
POPULATION_MAX_PARAMETERS = 100_000


@dataclass(frozen=True)
class WorkerJob:
    """What a worker process needs: where the study is, where run folders go, how many torch threads,
    how many workers share the machine and how many trials one may train as a population."""

    study: str
    storage_url: str | None
    sweep_dir: Path
    index: int
    threads: int
    workers: int = 1
    population: int = 1


def suggest(trial: optuna.Trial, parameter: Parameter) -> Any:
    if parameter.is_choice:
        return trial.suggest_categorical(parameter.key, list(parameter.choices))
    low, high = parameter.bounds
    if parameter.integer:
        return trial.suggest_int(parameter.key, int(low), int(high), log=parameter.log)
    return trial.suggest_float(parameter.key, float(low), float(high), log=parameter.log)


class _Wait(enum.Enum):
    """What _next_trials returns while the sweep's last trials run in other workers."""

    WAIT = "wait"


WAIT = _Wait.WAIT


class Worker:
    """Trains trials one after another until the sweep has its count or a stop is asked."""

    def __init__(self, job: WorkerJob, stop: Any | None = None):
        self.job = job
        self.stop = stop if stop is not None else threading.Event()
        self.name = worker_name(os.getpid(), job.index)
        self.control = TrainingControl()
        storage = storage_for(job.storage_url, job.sweep_dir)
        self.study, self.spec = load_study(job.study, storage, job.index)

    def request_stop(self) -> None:
        self.stop.set()
        self.control.request_stop()

    def run(self) -> int:
        """Trials done by this worker."""
        done = 0
        lock = exclusive(self.job.sweep_dir / "workers" / f"{self.name}.lock") if is_embedded(self.study) else contextlib.nullcontext()
        with lock:
            while not self.stop.is_set():
                trials = self._next_trials()
                if trials is None:
                    break
                if trials is WAIT:  # the last trials run elsewhere: wait until they end, or go stale and come back
                    self.stop.wait(min(self.spec.heartbeat, 2.0))
                    continue
                self._run_trials(trials)
                done += len(trials)
        return done

    def _population_size(self, trials: list[FrozenTrial]) -> int:
        """How many trials to ask at once: one, unless the sweep varies only what a population's members
        may differ in, the pruner has its start-up trials, and the machine's workers each get a share."""
        spec = self.spec
        varied = {p.key for p in spec.parameters} | {k for e in spec.experiments for k in e}
        if self.job.population < 2 or spec.repeats > 1 or not varied <= set(COHORT_FREE):
            return 1
        config = self._config({})
        if cohort_problem([config]) is not None:  # another mode, or a time budget
            return 1
        if resolve_device(config.training.device).type == "cpu" and parameter_count(config.model) > POPULATION_MAX_PARAMETERS:
            return 1  # measured: on a CPU, bigger members train faster one by one
        if spec.pruning != "none" and sum(t.state == TrialState.COMPLETE for t in trials) < 2:
            return 1  # the median pruner compares with completed trials only: let two finish first
        return min(self.job.population, math.ceil(spec.total_trials / self.job.workers))

    def _next_trials(self) -> list[optuna.Trial] | _Wait | None:
        """Ask for trials unless the sweep has all it needs (under a lock shared by this machine's workers,
        on a database too: never one too many from one machine): None when enough trials have finished,
        WAIT while the rest are running elsewhere."""
        embedded = is_embedded(self.study)
        with exclusive(self.job.sweep_dir / ".ask.lock"):
            if embedded:
                fail_dead_workers_trials(self.study, self.job.sweep_dir, asking=True)
                retry_lost(self.study)
            else:
                optuna.storages.fail_stale_trials(self.study)  # RDB: failed and queued again by the heartbeat callback
                if fail_unclaimed_trials(self.study, 3 * self.spec.heartbeat):
                    retry_lost(self.study)
            trials = self.study.get_trials(deepcopy=False)
            done = sum(finished(t) for t in trials)
            if done >= self.spec.total_trials:
                return None
            room = self.spec.total_trials - done - sum(t.state == TrialState.RUNNING for t in trials)
            if room <= 0:
                return WAIT
            asked = []
            for _ in range(min(room, self._population_size(trials))):
                trial = self.study.ask()
                if expects_heartbeats(self.study):  # beat at once: a trial killed before its first beat could never be found stale
                    record_heartbeat(self.study, trial)
                trial.set_user_attr("worker", self.name)
                asked.append(trial)
            return asked

    @contextlib.contextmanager
    def _heartbeat(self, trial: optuna.Trial) -> Iterator[None]:
        """Optuna beats only inside optimize(); with ask/tell on a database the worker beats itself."""
        if not expects_heartbeats(self.study):
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            while True:
                record_heartbeat(self.study, trial)
                if stop.wait(self.spec.heartbeat):
                    return

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _run_trials(self, trials: list[optuna.Trial]) -> None:
        """Train the asked trials, those that can as populations, beating for all of them throughout."""
        settings = [self._settings(trial) for trial in trials]
        with contextlib.ExitStack() as beating:
            for trial in trials:
                beating.enter_context(self._heartbeat(trial))
            for group in self._cohorts(settings):
                for k in group:
                    trials[k].set_user_attr("population", len(group))
                if len(group) == 1:
                    outcomes = [self._train(trials[group[0]], settings[group[0]])]
                else:
                    outcomes = self._train_together([trials[k] for k in group], [settings[k] for k in group])
                for k, outcome in zip(group, outcomes, strict=True):
                    self._tell(trials[k], outcome)

    def _settings(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's settings: a queued experiment's, and the sampler's suggestion for each parameter."""
        settings = dict(trial.user_attrs.get("settings") or {})
        for parameter in self.spec.parameters:
            if parameter.key not in settings:
                settings[parameter.key] = suggest(trial, parameter)
        trial.set_user_attr("settings", settings)
        return settings

    def _cohorts(self, settings: list[dict[str, Any]]) -> list[list[int]]:
        """The trials (by position) split into groups that can train together, in order."""
        groups: list[list[int]] = []
        configs = [self._config(s) for s in settings]
        for k, config in enumerate(configs):
            home = next((g for g in groups if cohort_problem([configs[g[0]], config]) is None), None)
            if home is None:
                groups.append([k])
            else:
                home.append(k)
        return groups

    def _tell(self, trial: optuna.Trial, outcome: Outcome) -> None:
        if outcome.state == TrialState.COMPLETE:
            self.study.tell(trial, outcome.value)
        else:
            self.study.tell(trial, state=outcome.state)

    def _config(self, settings: dict[str, Any], repeat: int = 0) -> Config:
        return self.spec.trial_config({**settings, "training.num_threads": self.job.threads}, seed_offset=repeat)

    def _start_run(self, trial: optuna.Trial, settings: dict[str, Any], repeat: int) -> Run:
        """The trial's run folder for this repeat, named and tagged after the study and trial."""
        spec = self.spec
        config = self._config(settings, repeat)
        label = describe_changes([(k, None, v) for k, v in settings.items()]) or "base"
        name = f"{spec.study} #{trial.number}: {label}" + (f" (seed {config.model.seed})" if spec.repeats > 1 else "")
        notes = RunNotes(name=name, tags=(spec.study, f"trial-{trial.number}"), started_from=spec.base_path)
        run = Run.start(config, self.job.sweep_dir / "runs", notes=notes)
        trial.set_user_attr("run_dirs", [*trial.user_attrs.get("run_dirs", []), str(run.folder)])
        return run

    def _pruned(self, trial: optuna.Trial, run: Run, report: EpochReport) -> bool:
        """Report the epoch to the pruner; True, with the run marked pruned, when it says stop."""
        if self.spec.pruning == "none" or report.validation_mse is None:
            return False
        trial.report(report.validation_mse, report.epoch)
        if not trial.should_prune():
            return False
        run.status, run.message = RunStatus.PRUNED, "stopped by the sweep's pruner: its validation MSE was above the median"
        return True

    def _conclude(self, trial: optuna.Trial, run: Run, results: list[RunMetrics]) -> Outcome | None:
        """Evaluate the run and record it on the trial; the trial's outcome when this run decides it."""
        metrics = run.finish()
        results.append(metrics)
        _record(trial, results)
        if run.status == RunStatus.DIVERGED:  # decided before any stop: such a trial is not redone
            trial.set_user_attr("failure", run.message)
            return Outcome(TrialState.FAIL)
        if run.status == RunStatus.PRUNED:
            return Outcome(TrialState.PRUNED)
        if self.stop.is_set():
            trial.set_user_attr("interrupted", True)
            return Outcome(TrialState.FAIL)
        if metrics.validation_mse is None:
            trial.set_user_attr("failure", "no validation MSE: the objective needs training.selection: validation")
            return Outcome(TrialState.FAIL)
        return None

    def _train(self, trial: optuna.Trial, settings: dict[str, Any]) -> Outcome:
        values: list[float] = []
        results: list[RunMetrics] = []
        for repeat in range(self.spec.repeats):
            run = self._start_run(trial, settings, repeat)
            for report in run.epochs(self.control):
                if repeat == 0 and self._pruned(trial, run, report):
                    break
            outcome = self._conclude(trial, run, results)
            if outcome is not None:
                return outcome
            values.append(_objective(results[-1]))
        return Outcome(TrialState.COMPLETE, statistics.fmean(values))

    def _train_together(self, trials: list[optuna.Trial], settings: list[dict[str, Any]]) -> list[Outcome]:
        """One repeat of each trial, trained as one population; a member the pruner stops leaves it."""
        runs = [self._start_run(trial, s, 0) for trial, s in zip(trials, settings, strict=True)]
        trial_of = {id(run): trial for run, trial in zip(runs, trials, strict=True)}
        for run, report in train_together(runs, self.control):
            self._pruned(trial_of[id(run)], run, report)
        outcomes = []
        for run, trial in zip(runs, trials, strict=True):
            results: list[RunMetrics] = []
            outcome = self._conclude(trial, run, results)
            outcomes.append(outcome or Outcome(TrialState.COMPLETE, _objective(results[-1])))
        return outcomes


@dataclass(frozen=True)
class Outcome:
    state: TrialState
    value: float | None = None


def _record(trial: optuna.Trial, results: list[RunMetrics]) -> None:
    """A trial's results as user attributes (the mean over its repeats): what trials.csv shows."""
    tests = [mse for m in results if (mse := m.test_mse) is not None]
    per: dict[str, list[float]] = {}
    for m in results:
        for frequency, mse in m.test_by_frequency().items():
            per.setdefault(format_number(frequency), []).append(mse)
    if tests:
        trial.set_user_attr("test_mse", statistics.fmean(tests))
    trial.set_user_attr("test_mse_values", tests)  # each repeat's, for the spread and the comparison with the best
    trial.set_user_attr("validation_mse_values", [v for m in results if (v := m.validation_mse) is not None])
    trial.set_user_attr("test_mse_per_frequency", {hz: statistics.fmean(v) for hz, v in per.items()})
    trial.set_user_attr("seconds", sum(m.wall_seconds or 0.0 for m in results))


def _objective(metrics: RunMetrics) -> float:
    """The validation MSE a completed trial is scored by (a run without one fails in _conclude)."""
    assert metrics.validation_mse is not None
    return metrics.validation_mse


def _worker_main(job: WorkerJob, stop: Any) -> None:
    """A worker process: Ctrl-C (the terminal signals the whole group) or the coordinator's stop ends
    its trial as a stopped run, recorded in the study, and the process."""
    worker = Worker(job, stop)
    signal.signal(signal.SIGINT, lambda *_: worker.request_stop())
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())

    def stop_when_asked() -> None:
        stop.wait()
        worker.control.request_stop()

    threading.Thread(target=stop_when_asked, daemon=True).start()
    worker.run()


# ----- the sweep ---------------------------------------------------------------------------------


def threads_per_worker(workers: int) -> int:
    """Workers × threads fit the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(workers, 1))


def run_workers(
    study: str, storage_url: str | None, sweep_dir: Path, workers: int, threads: int | None = None, population: int = 1
) -> tuple[bool, set[str]]:
    """Start ``workers`` processes and wait for them; (stopped by Ctrl-C, the workers' names)."""
    stop = CONTEXT.Event()
    threads = threads or threads_per_worker(workers)
    processes = [
        CONTEXT.Process(
            target=_worker_main,
            args=(WorkerJob(study, storage_url, sweep_dir, k, threads, workers, population), stop),
            name=f"sweep-worker-{k}",
        )
        for k in range(workers)
    ]
    names = set()
    for k, process in enumerate(processes):
        process.start()
        assert process.pid is not None  # a started process has one
        names.add(worker_name(process.pid, k))
    interrupted = False
    with _interruptible():
        while any(p.is_alive() for p in processes):
            try:
                for process in processes:
                    process.join()
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
    return interrupted or stop.is_set(), names


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt while the workers run, even where it was inherited as ignored (a
    command started in the background by a shell): it is how Ctrl-C and the window's Stop end a sweep."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def sweep(
    spec: SweepSpec | None,
    sweeps_dir: Path,
    workers: int = 1,
    storage_url: str | None = None,
    join: str | None = None,
    figures: SweepFigures | None = None,
    spec_text: str | None = None,
    threads: int | None = None,
    population: int | None = None,
) -> tuple[Path, bool, Importance]:
    """Run (or join, or continue) a sweep; write its folder's outputs. Returns the folder, whether Ctrl-C
    stopped it, and its parameters' importance."""
    if workers < 1:
        raise ConfigError([ConfigProblem("--workers", f"{workers} is not allowed; allowed: 1 or more")])
    population = DEFAULT_POPULATION if population is None else population
    if population < 1:
        raise ConfigError([ConfigProblem("--population", f"{population} is not allowed; allowed: 1 (no populations) or more")])
    if threads is not None and threads < 1:
        raise ConfigError([ConfigProblem("--threads", f"{threads} is not allowed; allowed: 1 or more")])
    if join is None:
        assert spec is not None, "a sweep runs a spec, or joins a study by name"
        name = spec.study
    else:
        name = join
    if problem := study_name_problem(name):
        raise ConfigError([ConfigProblem("--study", problem)])
    name = name.strip()  # as a sweep file's study is: one name for the folder and the study
    sweep_dir = Path(sweeps_dir) / name
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(
            f"--sweeps-dir: cannot make {sweep_dir} ({exc.strerror or exc}); allowed: a folder this user can write in"
        ) from None
    storage = storage_for(storage_url, sweep_dir, spec.heartbeat if spec else 10)
    if join is None:
        assert spec is not None  # as checked above
        study = create_study(spec, storage)
        if spec_text is not None:
            atomic_write_text(sweep_dir / "sweep.yaml", spec_text)
    else:
        study, spec = load_study(join, storage)
    if is_embedded(study):
        with exclusive(sweep_dir / ".ask.lock"):
            fail_dead_workers_trials(study, sweep_dir, asking=True)
    retry_lost(study)
    interrupted, ended = run_workers(name, storage_url, sweep_dir, workers, threads, population)
    fail_dead_workers_trials(study, sweep_dir, ended)  # every worker of this command has ended: none of its trials stays RUNNING
    retry_lost(study)  # queued for whoever continues the sweep
    return sweep_dir, interrupted, write_outputs(study, spec, sweep_dir, figures)


# ----- outputs ------------------------------------------------------------------------------------
def trial_rows(study: optuna.Study, spec: SweepSpec) -> list[dict[str, Any]]:
    """One row per trial: number, state, each setting, validation and test MSE (per frequency), seconds, run folder."""
    keys = settings_of(spec)
    defaults = base_values(spec)
    rows = []
    for trial in study.get_trials(deepcopy=False):
        settings = {**{key: defaults.get(key) for key in keys}, **trial.user_attrs.get("settings", {})}
        state = trial.state.name.lower()
        if trial.state == TrialState.FAIL:
            state = "failed" if "failure" in trial.user_attrs else "interrupted"
        row: dict[str, Any] = {"number": trial.number, "state": state}
        row.update({key: settings.get(key) for key in keys})
        row["validation_mse"] = trial.value if trial.state == TrialState.COMPLETE else None
        if spec.repeats > 1:
            row["validation_mse_std"] = summarize(trial.user_attrs.get("validation_mse_values", [])).std
        row["test_mse"] = trial.user_attrs.get("test_mse")
        if spec.repeats > 1:
            tests = summarize(trial.user_attrs.get("test_mse_values", []))
            row["test_mse_std"], row["n"] = tests.std, tests.n
        for hz, value in trial.user_attrs.get("test_mse_per_frequency", {}).items():
            row[f"test_mse_{hz}hz"] = value
        row["population"] = trial.user_attrs.get("population")  # trials trained side by side with it, itself included
        row["seconds"] = trial.user_attrs.get("seconds")
        row["run_dir"] = ";".join(trial.user_attrs.get("run_dirs", []))
        rows.append(row)
    if spec.repeats > 1:
        _compare_with_best(rows, {t.number: t.user_attrs.get("validation_mse_values", []) for t in study.get_trials(deepcopy=False)})
    return rows


def _compare_with_best(rows: list[dict[str, Any]], values: dict[int, list[float]]) -> None:
    """Each finished trial's verdict against the best one (Welch on their repeats' validation MSE):
    "best", "worse", "within noise" of it, or "cannot tell" (a single repeat)."""
    finished = [r for r in rows if r["validation_mse"] is not None]
    if not finished:
        return
    best = min(finished, key=lambda r: r["validation_mse"])
    for row in finished:
        row["vs_best"] = "best" if row is best else effect(values[best["number"]], values[row["number"]]).verdict.value


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    tail: list[str] = [c for c in ("seconds", "run_dir") if c in columns]
    columns = [c for c in columns if c not in tail] + tail
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns or ["number", "state"])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _cell(row[c]) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return format_number(value) if isinstance(value, (list, int)) and not isinstance(value, bool) else str(value)


def ranking_markdown(rows: list[dict[str, Any]], spec: SweepSpec, importance: Importance | None = None) -> str:
    """The finished trials ranked by the objective, then (given) the parameters' importance."""
    ranked = sorted((r for r in rows if r["validation_mse"] is not None), key=lambda r: r["validation_mse"])
    keys = settings_of(spec)
    repeated = spec.repeats > 1
    lines = [f"# Ranking of study {spec.study} by {spec.objective} (minimised)", ""]
    if repeated:
        lines += [
            f"Each trial is the mean ± standard deviation of {spec.repeats} model seeds; **vs best** is Welch's 95 % "
            "interval against the best trial: a trial within noise of it is as good as the seeds can tell.",
            "",
        ]
    extra = " n | vs best |" if repeated else ""
    lines.append("| rank | trial | " + " | ".join(f"`{k}`" for k in keys) + f" | validation MSE | test MSE |{extra} seconds |")
    lines.append("|" + "---|" * (len(keys) + 5 + 2 * repeated))
    for k, row in enumerate(ranked):
        settings = " | ".join(format_number(row[key]) if row[key] is not None else "—" for key in keys)
        seconds = f"{row['seconds']:.1f}" if row["seconds"] is not None else "—"
        validation = _spread(row["validation_mse"], row.get("validation_mse_std"))
        test = _spread(row["test_mse"], row.get("test_mse_std"))
        marks = f" {row.get('n', '—')} | {row.get('vs_best', '—')} |" if repeated else ""
        lines.append(f"| {k + 1} | {row['number']} | {settings} | {validation} | {test} |{marks} {seconds} |")
    if importance is not None:
        lines += ["", *importance.markdown()]
    return "\n".join(lines).rstrip() + "\n"


def _spread(mean: float | None, std: float | None) -> str:
    """A mean as the ranking shows it, with its standard deviation over the repeats when there is one."""
    if mean is None:
        return "—"
    return f"{mean:.6f} ± {std:.2g}" if std is not None else f"{mean:.6f}"


IMPORTANCE_MIN_TRIALS = 10
IMPORTANCE_TRIALS_PER_PARAMETER = 5


def importance_trials_needed(parameters: int) -> int:
    """Completed trials before importances mean anything: fANOVA splits the objective's variance with a
    random forest fitted on the trials, and with fewer than about five per parameter (ten at the least)
    one lucky trial decides it (three trials once gave the learning rate 1.0 and a dominant hidden size 0.002)."""
    return max(IMPORTANCE_MIN_TRIALS, IMPORTANCE_TRIALS_PER_PARAMETER * parameters)


@dataclass(frozen=True)
class Importance:
    """Optuna's parameter importances (fANOVA), or, while there are none, why."""

    weights: dict[str, float]
    note: str = ""

    def markdown(self) -> list[str]:
        """The importances as a markdown section (a table, or the reason there is none)."""
        lines = ["## Parameter importance (Optuna's fANOVA)", ""]
        if not self.weights:
            return [*lines, f"_{self.note or 'no importance to show'}_", ""]
        rows = [f"| `{key}` | {value:.3f} |" for key, value in self.weights.items()]
        return [*lines, "| parameter | importance |", "|---|---|", *rows, ""]


def parameter_importance(study: optuna.Study, spec: SweepSpec) -> Importance:
    """The importances of ``spec``'s parameters once enough trials have completed (importance_trials_needed)."""
    if not spec.parameters:
        return Importance({}, "no importance: the sweep samples no parameters")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    needed = importance_trials_needed(len(spec.parameters))
    if len(complete) < needed:
        return Importance({}, f"importance cannot be estimated yet ({len(complete)} of {needed} completed trials needed)")
    try:
        return Importance(dict(optuna.importance.get_param_importances(study)))
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few distinct values to tell
        return Importance({}, "importance cannot be estimated: the completed trials hold too few distinct values")


def study_importance(name: str, sweep_dir: Path) -> Importance:
    """The importances of the study ``name`` in its embedded journal in ``sweep_dir``, read afresh: a child
    process computes them this way, since fANOVA's forest holds the interpreter for seconds."""
    study, spec = load_study(name, storage_for(None, sweep_dir))
    return parameter_importance(study, spec)


def write_outputs(study: optuna.Study, spec: SweepSpec, sweep_dir: Path, figures: SweepFigures | None = None) -> Importance:
    """trials.csv, ranking.md, importance.csv and (given an exporter) the sweep's figures; returns the importance."""
    rows = trial_rows(study, spec)
    importance = parameter_importance(study, spec)
    weights = importance.weights
    atomic_write_text(sweep_dir / "trials.csv", _csv(rows))
    atomic_write_text(sweep_dir / "ranking.md", ranking_markdown(rows, spec, importance))
    atomic_write_text(sweep_dir / "importance.csv", "parameter,importance\n" + "".join(f"{k},{v!r}\n" for k, v in weights.items()))
    if figures is not None:
        figures(rows, spec, weights, sweep_dir / "figures", spec.base_config().visualization.dpi)
    return importance
