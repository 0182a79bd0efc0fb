"""Repeats of one configuration: K runs with model seeds seed, seed+1, ..., one ordinary run folder each,
sharing a group id in their notes. They train as one population where the engine can (engine.training.trainer.
Cohort: interleaved, same epoch, no time budget; numbers equal to training alone), else one after another.
Every folder exists, with its last.pt, before any training: a stop or a kill leaves each resumable."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

from engine.config.schema import Config, ConfigError, ConfigProblem, apply_overrides
from engine.runs.notes import RunNotes, default_name, has_given_name
from engine.runs.run import Run, train_together
from engine.training.history import EpochReport
from engine.training.trainer import TrainingControl, cohort_problem

MAX_SEED = 2**32 - 1


def repeat_configs(config: Config, repeats: int) -> list[Config]:
    """The configs of ``repeats`` repeats: model.seed, model.seed + 1, ...; a count the seeds cannot hold is refused."""
    if repeats < 1:
        raise ConfigError([ConfigProblem("--repeats", f"{repeats} is not allowed; allowed: a whole number >= 1")])
    if config.model.seed + repeats - 1 > MAX_SEED:
        limit = MAX_SEED - config.model.seed + 1
        raise ConfigError(
            [ConfigProblem("--repeats", f"{repeats} seeds from model.seed {config.model.seed} pass {MAX_SEED}; allowed: 1 to {limit}")]
        )
    return [config if k == 0 else apply_overrides(config, [f"model.seed={config.model.seed + k}"]) for k in range(repeats)]


def start_repeats(config: Config, repeats: int, notes: RunNotes, runs_dir: Path | None = None, template: str | None = None) -> list[Run]:
    """One run folder per repeat (last.pt at epoch 0 in each), ``notes`` being the first's; with more than
    one, all share a new group id."""
    configs = repeat_configs(config, repeats)
    if repeats == 1:
        return [Run.start(config, runs_dir, template=template, notes=notes)]
    group = uuid.uuid4().hex[:12]
    file_seed = next((old for key, old, _ in notes.changes if key == "model.seed"), config.model.seed)
    return [Run.start(c, runs_dir, template=template, notes=_member_notes(notes, file_seed, c.model.seed, group)) for c in configs]


def _member_notes(notes: RunNotes, file_seed: int, seed: int, group: str) -> RunNotes:
    """A repeat's notes: its model seed among its changes from the file it started from; a chosen name
    with the seed added, a made one made again (it stays a made name, which lists of runs replace by
    what differs among them)."""
    changes = tuple(c for c in notes.changes if c[0] != "model.seed")
    if seed != file_seed:
        changes = (*changes, ("model.seed", file_seed, seed))
    name = f"{notes.name} (seed {seed})" if has_given_name(notes) else default_name(changes, notes.started_from)
    return dataclasses.replace(notes, name=name, changes=changes, group=group)


def train_repeats(runs: list[Run], control: TrainingControl | None = None) -> Iterator[tuple[Run, EpochReport]]:
    """Train the repeats, each report with its run: as one population when the engine can, else in turn
    (after a stop the ones not yet begun are left as they are: unfinished, resumable)."""
    control = control or TrainingControl()
    if len(runs) > 1 and cohort_problem([r.config for r in runs]) is None and len({r.session.epoch for r in runs}) == 1:
        yield from train_together(runs, control)
        return
    for run in runs:
        if control.stop_requested:
            return
        for report in run.epochs(control):
            yield run, report
