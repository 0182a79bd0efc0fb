"""Every use of Optuna's private API, in one place: the sweep runner needs a study's storage, a
trial's storage id and whether a storage expects heartbeats, which Optuna keeps private.
``tests/test_optuna_compat.py`` exercises each on the pinned Optuna, so an upgrade that moves one
fails there, not in a running sweep."""

from __future__ import annotations

import optuna
from optuna.storages import BaseStorage, JournalStorage
from optuna.trial import FrozenTrial, TrialState


def storage_of(study: optuna.Study) -> BaseStorage:
    return study._storage


def is_embedded(study: optuna.Study) -> bool:
    """True for the journal file in the sweep folder, which has no heartbeat of its own."""
    return isinstance(storage_of(study), JournalStorage)


def expects_heartbeats(study: optuna.Study) -> bool:
    """Whether workers must beat on this study's storage. Optuna wraps an RDBStorage in a caching
    storage, so the storage is asked, as optimize() asks it, not checked for its class."""
    return optuna.storages._heartbeat.is_heartbeat_enabled(storage_of(study))


def record_heartbeat(study: optuna.Study, trial: optuna.Trial) -> None:
    storage_of(study).record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]


def fail_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Mark a RUNNING trial failed (to be retried) without its Trial object, which tell() would need."""
    storage_of(study).set_trial_state_values(trial._trial_id, TrialState.FAIL)
