"""Learning-rate schedules: the rate each epoch trains at.

A linear warm-up first (epochs 1..W at base x k/(W+1), as torch's LinearLR with start_factor 1/(W+1)),
then the schedule: constant, cosine decay over the epochs after the warm-up, step decay at absolute
epochs (MultiStepLR), or plateau decay driven by the validation MSE of the scored epochs
(ReduceLROnPlateau, mode min, threshold 0: "better" is strictly lower, the rule that picks best.pt).
Everything but the plateau is a pure function of the epoch; the plateau's state is kept in ``Plateau``,
which a checkpoint saves so a resumed run continues it exactly.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass
from typing import Any

from engine.config.schema import Config, TrainingConfig

PLATEAU_EPS = 1e-8  # ReduceLROnPlateau's eps: a reduction smaller than this is not applied


@dataclass
class Plateau:
    """ReduceLROnPlateau's state: the rate it has reached, the best score seen and the scored epochs since."""

    rate: float
    best: float = math.inf
    bad_epochs: int = 0

    def observe(self, training: TrainingConfig, epoch: int, score: float | None) -> None:
        """Take the validation MSE of ``epoch`` (1-based, just trained); only scored epochs after the warm-up count."""
        if training.lr_schedule != "plateau" or score is None or epoch <= training.lr_warmup_epochs:
            return
        if score < self.best:
            self.best, self.bad_epochs = score, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > training.lr_patience:
            lowered = max(self.rate * training.lr_factor, training.lr_min)
            if self.rate - lowered > PLATEAU_EPS:
                self.rate = lowered
            self.bad_epochs = 0

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Any, base_rate: float) -> Plateau:
        """A checkpoint's plateau state; one saved before schedules had state starts afresh at the base rate."""
        if payload is None:
            return cls(base_rate)
        return cls(float(payload["rate"]), float(payload["best"]), int(payload["bad_epochs"]))


def learning_rate_at(config: Config, epoch: int, elapsed: float, plateau: Plateau | None = None) -> float:
    """The rate of epoch ``epoch`` (0-based: epochs already trained); cosine decays over the epochs after the
    warm-up, or over the time budget if that runs out sooner."""
    t = config.training
    warmup = t.lr_warmup_epochs
    if epoch < warmup:
        return t.learning_rate * (epoch + 1) / (warmup + 1)
    if t.lr_schedule == "step":
        return t.learning_rate * t.lr_gamma ** bisect.bisect_right(t.lr_milestones, epoch)
    if t.lr_schedule == "plateau":
        return plateau.rate if plateau is not None else t.learning_rate
    if t.lr_schedule == "cosine":
        progress = (epoch - warmup) / max(t.num_epochs - warmup, 1)
        if t.time_budget_s > 0:
            progress = max(progress, elapsed / t.time_budget_s)
        return t.learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return t.learning_rate
