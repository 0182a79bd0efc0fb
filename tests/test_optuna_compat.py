"""Optuna's private API as the sweep runner uses it, on the pinned Optuna: an upgrade that moves
any of it fails here. And the file locks that guard run folders and sweep workers."""

from __future__ import annotations

import subprocess
import sys

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from engine.storage.locks import exclusive, is_held
from engine.sweeps.optuna_compat import expects_heartbeats, fail_trial, is_embedded, record_heartbeat, storage_of


def test_on_the_journal_no_heartbeat_is_expected_and_a_running_trial_can_be_failed(tmp_path):
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(tmp_path / "journal.log"))))
    assert is_embedded(study) and not expects_heartbeats(study)
    trial = study.ask()
    (frozen,) = study.get_trials(states=(TrialState.RUNNING,))
    fail_trial(study, frozen)
    assert study.get_trials()[0].state == TrialState.FAIL and trial.number == frozen.number


def test_on_a_database_with_heartbeats_a_beat_is_recorded_and_keeps_the_trial_fresh(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=60, grace_period=120)
    study = optuna.create_study(storage=storage)
    assert not is_embedded(study) and expects_heartbeats(study) and storage_of(study) is not None
    trial = study.ask()
    record_heartbeat(study, trial)
    optuna.storages.fail_stale_trials(study)  # a trial that beat within the grace period is not stale
    assert study.get_trials()[0].state == TrialState.RUNNING


def test_a_lock_held_by_another_process_is_seen_and_not_granted(tmp_path):
    path = tmp_path / "worker.lock"
    script = f"from pathlib import Path\nfrom engine.storage.locks import exclusive\nwith exclusive(Path({str(path)!r})):\n"
    script += " print('held', flush=True)\n input()"
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert is_held(path)
        with exclusive(path, blocking=False) as mine:
            assert not mine
    finally:
        holder.communicate("\n", timeout=30)
    assert not is_held(path)
    with exclusive(path, blocking=False) as mine:
        assert mine
