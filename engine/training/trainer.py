"""The training session: one generator that yields after every epoch, checked for stop/pause
before every optimizer step. It knows nothing of files or windows: a run or a front end
consumes its reports (napari's generator-worker pattern, Orange3's plain state object)."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import torch

from engine.config.schema import Config
from engine.signals.dataset import SignalSet, Splits, draws_anew, training_draw
from engine.training.checkpoints import Checkpoint, Progress
from engine.training.evaluation import SetMetrics, predict_sets
from engine.training.history import EpochReport, History
from engine.training.interleaved import AdamRow, InterleavedTrainer, Member, PopulationTrainer, StepwiseTrainer, has_fast_path
from engine.training.model import FrequencyLSTM
from engine.training.schedules import Plateau, learning_rate_at
from engine.training.streams import StreamsTrainer
from engine.training.threads import ThreadChooser, thread_candidates


class TrainingControl:
    """Stop and pause flags; a paused loop blocks on an Event instead of spinning.

    ``events`` makes the Events: the ``threading`` module (the default) for a loop in a thread,
    a multiprocessing context for a loop in a child process.
    """

    def __init__(self, events: Any = threading) -> None:
        self._stop = events.Event()
        self._running = events.Event()
        self._running.set()
        self.parked = events.Event()  # set while the loop waits in a pause: what a front end can observe
        self.paused_seconds = 0.0  # time the loop spent waiting, counted where the loop runs

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def should_continue(self) -> bool:
        """Called before each optimizer step: blocks while paused, False once a stop was asked."""
        if not self._running.is_set():
            waited = time.perf_counter()
            self.parked.set()
            self._running.wait()
            self.parked.clear()
            self.paused_seconds += time.perf_counter() - waited
        return not self._stop.is_set()


class EndReason(StrEnum):
    """Why a training ended: what a run's metrics.json records as ended_by."""

    EPOCHS = "epochs"  # it trained training.num_epochs
    TIME_BUDGET = "time budget"  # training.time_budget_s ran out
    PATIENCE = "patience"  # training.patience scored epochs without a better validation MSE
    STOPPED = "stopped"  # a stop was asked for: resumable
    DIVERGED = "diverged"  # the training loss blew up
    PRUNED = "pruned"  # a sweep's pruner stopped it


DIVERGENCE_FACTOR = 100.0


class DivergenceError(RuntimeError):
    """The training loss became NaN, infinite, or exploded past any useful value."""

    def __init__(self, epoch: int, loss: float):
        self.epoch = epoch
        self.loss = loss
        super().__init__(
            f"training diverged at epoch {epoch}: the training loss is {loss:.4g} (NaN, infinite, or over "
            f"{DIVERGENCE_FACTOR:g}x what a model that outputs zeros scores); the last good epoch's weights "
            f"are kept in last.pt (try a lower training.learning_rate or clip_grad_norm)"
        )


def diverged(loss: float, target_power: float) -> bool:
    """Adam with a huge learning rate rarely reaches NaN (tanh saturates): an exploded loss counts too."""
    return not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(target_power, 1e-12)


def default_threads(config: Config) -> int:
    return config.training.num_threads or os.cpu_count() or 1


class Session:
    """Model, optimizer and progress of one training; resumable from its own checkpoint payload."""

    def __init__(self, config: Config, splits: Splits, device: torch.device, checkpoint: Checkpoint | None = None):
        self.config = config
        self.splits = splits
        self.device = device
        torch.set_num_threads(default_threads(config))
        adapt = config.training.num_threads == 0 and config.training.mode == "interleaved" and device.type == "cpu"
        # bit-identical numbers across thread counts are not promised, so a fixed count stays fixed
        self.threads = ThreadChooser(thread_candidates(default_threads(config))) if adapt else None
        torch.manual_seed(config.model.seed)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(config.model.seed)
        self.model = FrequencyLSTM.for_run(config).to(device)
        t = config.training
        fresh = draws_anew(config)
        self.segments = t.segments if fresh else 1  # pieces of a fresh draw may each start elsewhere
        self.draws = t.draws_per_epoch if fresh else 1  # fresh draws side by side
        # with fixed noise the model trains on exactly the set its train MSE and memorisation check score
        self._use_training_sets(self._draws_of(0) if fresh else [splits.train])
        self.target_power = float(np.mean(splits.train.targets**2))
        self.epoch = 0
        self.elapsed = 0.0
        self.history = History(tuple(config.data.frequencies))
        self.best_value = math.inf
        self.best_epoch = 0
        self.plateau = Plateau(t.learning_rate)
        self.latest_test_predictions: np.ndarray | None = None
        if checkpoint is not None:
            self.model.load_state_dict(checkpoint.model)
        if t.mode == "streams":
            self.trainer: InterleavedTrainer | StreamsTrainer | StepwiseTrainer | _InCohort = StreamsTrainer(
                self.model,
                len(config.data.frequencies) * self.draws,  # each draw's sequences are more rows of the batch
                t.segments,
                t.tbptt_steps,
                t.learning_rate,
                t.clip_grad_norm,
                t.input_noise,
                self.generator,
            )
        elif has_fast_path(config.model):
            self.trainer = InterleavedTrainer(self.model, t.batch_size, t.learning_rate, t.clip_grad_norm, self.generator)
        else:
            self.trainer = StepwiseTrainer(self.model, t.batch_size, t.learning_rate, t.clip_grad_norm)
        if checkpoint is not None:
            self._restore(checkpoint)

    def _draws_of(self, epoch: int) -> list[SignalSet]:
        """The training sets of one epoch: draws epoch*k ... epoch*k+k-1, so epoch 0 starts with train_seed's."""
        return [training_draw(self.config.data, epoch * self.draws + j, self.segments) for j in range(self.draws)]

    def _use_training_sets(self, sets: list[SignalSet]) -> None:
        """Rows of every set one after another: for the streams trainer, more sequences side by side."""
        rows = [signals.rows() for signals in sets]
        inputs, targets = rows[0] if len(rows) == 1 else (np.concatenate(parts) for parts in zip(*rows, strict=True))
        self.inputs = torch.from_numpy(inputs).to(self.device)
        self.targets = torch.from_numpy(targets).to(self.device)

    def _restore(self, checkpoint: Checkpoint) -> None:
        if checkpoint.progress is None or checkpoint.optimizer is None or checkpoint.history is None or checkpoint.rng is None:
            raise ValueError(checkpoint.restore_problem())
        self.trainer.optimizer.load_state_dict(checkpoint.optimizer)
        progress = checkpoint.progress
        self.epoch = int(progress.epoch)
        self.elapsed = float(progress.elapsed)
        self.best_value = float(progress.best_value)
        self.best_epoch = int(progress.best_epoch)
        self.plateau = Plateau.from_payload(progress.plateau, self.config.training.learning_rate)
        self.history = History.from_payload(checkpoint.history, self.config.data.frequencies)
        torch.set_rng_state(checkpoint.rng["torch"])
        self.generator.set_state(checkpoint.rng["generator"])

    def adopt(self, weights: dict[str, torch.Tensor], history: History, best_epoch: int) -> None:
        """Take weights trained elsewhere, with their history, as if this session had trained them."""
        self.model.load_state_dict(weights)
        self.history, self.epoch, self.best_epoch = history, len(history), best_epoch
        self.elapsed = float(history.wall_seconds[-1]) if len(history) else 0.0

    def join_population(self, optimizer: AdamRow) -> None:
        """Train as a member of a population from now on: its row of the population's Adam is this
        session's optimizer, the one its checkpoints save."""
        self.trainer = _InCohort(optimizer)

    def checkpoint(self) -> Checkpoint:
        """Everything needed to continue exactly where this session is (plain data and tensors)."""
        progress = Progress(self.epoch, self.elapsed, self.best_value, self.best_epoch, self.plateau.to_payload())
        return Checkpoint(
            model={k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            config=self.config.to_dict(),
            mode=self.config.training.mode,
            optimizer=self.trainer.optimizer.state_dict(),
            progress=progress,
            history=self.history.to_payload(),
            rng={"torch": torch.get_rng_state(), "generator": self.generator.get_state()},
        )

    @property
    def finished(self) -> bool:
        return self.end_reason is not None

    @property
    def end_reason(self) -> EndReason | None:
        """Why training has ended on its own (None: it goes on)."""
        t = self.config.training
        if t.patience > 0 and self.scored_since_best >= t.patience:
            return EndReason.PATIENCE
        if self.epoch >= t.num_epochs:
            return EndReason.EPOCHS
        if t.time_budget_s > 0 and self.elapsed >= t.time_budget_s:
            return EndReason.TIME_BUDGET
        return None

    @property
    def scored_since_best(self) -> int:
        """Scored epochs (validation measured) after the one best.pt holds: what training.patience counts.
        Read from the history, so a resumed run counts on where it stopped."""
        h = self.history
        return int(np.count_nonzero(np.isfinite(h.validation_mse[h.epoch > self.best_epoch])))

    def _score(self) -> tuple[SetMetrics, float | None]:
        """Test metrics and, when it selects best.pt, validation MSE: both sets in one frozen pass."""
        t = self.config.training
        sets = [self.splits.test, self.splits.validation] if t.selection == "validation" else [self.splits.test]
        outputs = predict_sets(self.model, sets, t.mode, t.batch_size)
        self.latest_test_predictions = outputs[0]  # a fresh array each epoch: safe to hand over
        validation = SetMetrics.of(outputs[1], self.splits.validation.targets).mse if len(outputs) > 1 else None
        return SetMetrics.of(outputs[0], self.splits.test.targets), validation

    def epochs(self, control: TrainingControl | None = None) -> Iterator[EpochReport]:
        """Train until done, stopped or out of time budget, yielding a report after each epoch.

        A stop inside an epoch abandons that partial epoch: the checkpoint taken after the last
        completed epoch is the one to resume from, so resuming equals never having stopped.
        """
        control = control or TrainingControl()
        with _thread_choice(self) as threads:
            while not self.finished:
                trained, train_seconds = _timed(control, threads, functools.partial(self._train_one, control))
                if trained is None:
                    return
                lr, loss = trained
                yield self.end_epoch(loss, lr, train_seconds)

    def _train_one(self, control: TrainingControl) -> tuple[float, float] | None:
        """One epoch's optimizer steps: (learning rate, loss), or None when a stop came inside it."""
        lr = self.begin_epoch()
        assert not isinstance(self.trainer, _InCohort)  # a session in a cohort is trained by the cohort, never alone
        loss = self.trainer.train_epoch(self.inputs, self.targets, control.should_continue)
        return None if loss is None else (lr, loss)

    def begin_epoch(self, draw: bool = True) -> float:
        """Set up the next epoch: its learning rate (returned) and, with fresh noise and ``draw``, its draws."""
        lr = learning_rate_at(self.config, self.epoch, self.elapsed, self.plateau)
        self.trainer.set_learning_rate(lr)
        if draw and self.config.training.training_noise == "fresh":
            self._use_training_sets(self._draws_of(self.epoch))
        return lr

    def end_epoch(self, loss: float, lr: float, train_seconds: float) -> EpochReport:
        """Score the epoch just trained when it is due and record it: divergence, test (and validation) MSE, best, history."""
        if diverged(loss, self.target_power):
            raise DivergenceError(self.epoch + 1, loss)
        t = self.config.training
        scored = self.scores_epoch(self.epoch + 1, train_seconds)
        scoring = time.perf_counter()
        test, validation = self._score() if scored else (self._unscored(), None)
        self.epoch += 1
        self.plateau.observe(t, self.epoch, validation)
        self.elapsed += train_seconds + (time.perf_counter() - scoring if scored else 0.0)
        score = loss if t.selection == "train_loss" else validation
        is_best = False
        if score is not None and score < self.best_value:
            is_best, self.best_value, self.best_epoch = True, score, self.epoch
        remaining = t.num_epochs - self.epoch
        eta = self.elapsed / self.epoch * remaining if self.epoch else 0.0
        if t.time_budget_s > 0:
            eta = min(eta, max(0.0, t.time_budget_s - self.elapsed))
        report = EpochReport(
            self.epoch, t.num_epochs, loss, test.mse, test.per_frequency, validation, lr, train_seconds, self.elapsed, eta, is_best
        )
        self.history = self.history.appended(report)
        return report

    def scores_epoch(self, epoch: int, train_seconds: float) -> bool:
        """Whether ``epoch`` (1-based, just trained for ``train_seconds``) is scored: the first, every
        ``score_every``-th and the last, so best.pt always exists and the final weights are always judged."""
        t = self.config.training
        last = epoch >= t.num_epochs or (t.time_budget_s > 0 and self.elapsed + train_seconds >= t.time_budget_s)
        return epoch == 1 or epoch % t.score_every == 0 or last

    def _unscored(self) -> SetMetrics:
        """What an epoch between scorings records: NaN, as the history keeps "not measured"."""
        return SetMetrics(math.nan, (math.nan,) * len(self.config.data.frequencies))


@contextlib.contextmanager
def _thread_choice(session: Session) -> Iterator[ThreadChooser | None]:
    """The session's thread chooser for a training loop; the configured count comes back when the loop
    ends, for what follows it (the final evaluation)."""
    try:
        yield session.threads
    finally:
        if session.threads is not None:
            torch.set_num_threads(default_threads(session.config))


Trained = TypeVar("Trained")


def _timed(control: TrainingControl, threads: ThreadChooser | None, train: Callable[[], Trained | None]) -> tuple[Trained | None, float]:
    """One epoch's training on the chosen thread count: what ``train`` returns and its seconds, pauses
    excluded; an epoch that finished tells the chooser its time."""
    if threads is not None:
        torch.set_num_threads(threads.next())
    started, paused_before = time.perf_counter(), control.paused_seconds
    result = train()
    seconds = time.perf_counter() - started - (control.paused_seconds - paused_before)  # a pause is not training time
    if result is not None and threads is not None:
        threads.record(seconds)
    return result, seconds


COHORT_FREE = ("model.seed", "training.learning_rate", "training.clip_grad_norm")  # what a cohort's members may differ in


def _flat(config: Config) -> dict[str, Any]:
    return {f"{section}.{key}": value for section, values in config.to_dict().items() for key, value in values.items()}


def cohort_problem(configs: list[Config]) -> str | None:
    """Why these configs cannot train as one population (None: they can): they must be interleaved and
    equal in everything but the model seed, learning rate and clip, so every member sees the same rows."""
    if not configs:
        return "no configs"
    first = _flat(configs[0])
    if first["training.mode"] != "interleaved":
        return "a population trains the interleaved mode only"
    if not has_fast_path(configs[0].model):
        return (
            f"model.cell {first['model.cell']}, model.attention_window {first['model.attention_window']}: a population "
            "trains the hand-written LSTM path only (model.cell lstm, model.attention_window 0), so these seeds train one after another"
        )
    if first["training.time_budget_s"] > 0:
        return "training.time_budget_s: a member would be charged its population's seconds; allowed: 0 (an epoch count)"
    for config in configs[1:]:
        other = _flat(config)
        differ = sorted(k for k in first.keys() | other.keys() if k not in COHORT_FREE and first.get(k) != other.get(k))
        if differ:
            return f"members differ in {', '.join(differ)}; allowed to differ: {', '.join(COHORT_FREE)}"
    return None


@dataclass
class _InCohort:
    """What a session in a cohort keeps of a trainer: its member's Adam, which its checkpoints save."""

    optimizer: AdamRow

    def set_learning_rate(self, lr: float) -> None:
        self.optimizer.lr = lr


class Cohort:
    """Sessions that differ only in model seed, learning rate and clip, trained as one population: one
    dispatch per op serves all, and each keeps its own history, scores, best epoch and checkpoints,
    with the numbers of its solo run. A member leaves when it finishes, diverges or is dropped."""

    def __init__(self, sessions: list[Session]):
        problem = cohort_problem([session.config for session in sessions])
        if len({session.epoch for session in sessions}) > 1:
            problem = "members are at different epochs; allowed: sessions that have trained as many epochs"
        if problem:
            raise ValueError(problem)
        self.sessions = list(sessions)
        members = [Member(s.config.training.learning_rate, s.config.training.clip_grad_norm, s.generator) for s in sessions]
        self.population = PopulationTrainer([s.model for s in sessions], sessions[0].config.training.batch_size, members)
        for session, optimizer in zip(sessions, self.population.optimizers, strict=True):
            optimizer.load_state_dict(session.trainer.optimizer.state_dict())  # a resumed session's Adam state
            session.join_population(optimizer)
        self._dropped: set[int] = set()

    def drop(self, session: Session) -> None:
        """Take ``session`` out before the next epoch (a pruned trial); the others go on unchanged."""
        self._dropped.add(id(session))

    def _active(self) -> list[Session]:
        """The members still training; the population is cut down to them when some left."""
        active = [s for s in self.sessions if not s.finished and id(s) not in self._dropped]
        if len(active) < len(self.sessions) and active:
            self.population.keep([self.sessions.index(s) for s in active])
        self.sessions = active
        return active

    def epochs(self, control: TrainingControl | None = None) -> Iterator[tuple[Session, EpochReport | DivergenceError]]:
        """Train all members one epoch at a time; after each, every member's report, or its divergence."""
        control = control or TrainingControl()
        with _thread_choice(self.sessions[0]) as threads:
            while active := self._active():
                trained, train_seconds = _timed(control, threads, functools.partial(self._train_one, active, control))
                if trained is None:
                    return
                rates, losses = trained
                for session, loss, lr in zip(active, losses, rates, strict=True):
                    try:
                        yield session, session.end_epoch(loss, lr, train_seconds)
                    except DivergenceError as exc:
                        self.drop(session)
                        yield session, exc

    def _train_one(self, active: list[Session], control: TrainingControl) -> tuple[list[float], list[float]] | None:
        """One epoch of the population: (each member's learning rate, each member's loss), or None when stopped."""
        rates = [session.begin_epoch(draw=k == 0) for k, session in enumerate(active)]  # one draw serves all
        losses = self.population.train_epoch_members(active[0].inputs, active[0].targets, control.should_continue)
        return None if losses is None else (rates, losses)
