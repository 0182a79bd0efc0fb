"""The live training panel: the run's state named beside its progress, the ETA only while epochs remain to train."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.process.events import RunFinished, RunStarted
from engine.training.history import EpochReport, History
from gui.panels.training import RunState, TrainingPanel


@pytest.fixture
def panel(qtbot) -> TrainingPanel:
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    return panel


def started(num_epochs: int) -> RunStarted:
    t = np.arange(10) / 10
    return RunStarted(Path("runs/r1"), "cpu", num_epochs, (1.0,), t, np.sin(t)[None, :], History((1.0,)), 50, {})


def report(epoch: int, num_epochs: int) -> EpochReport:
    return EpochReport(epoch, num_epochs, 0.3, 0.2, (0.2,), None, 1e-3, 0.5, 0.5 * epoch, 0.5 * (num_epochs - epoch), False)


def shows(panel: TrainingPanel, state: RunState) -> bool:
    return panel.state is state and panel.state_label.text() == state.value.capitalize()


def test_pause_and_stop_show_as_the_runs_state_and_the_eta_goes_once_it_stops(panel):
    assert shows(panel, RunState.IDLE)
    panel.starting()
    assert shows(panel, RunState.STARTING)
    panel.start(started(10))
    panel.add_epoch(report(1, 10), None)
    assert shows(panel, RunState.TRAINING) and "ETA 0:00:04" in panel.status.text()
    panel.set_paused(True)
    assert shows(panel, RunState.PAUSED) and "epoch 1/10" in panel.status.text()
    panel.set_paused(False)
    assert shows(panel, RunState.TRAINING)
    panel.stopping()
    assert shows(panel, RunState.STOPPING) and "ETA" not in panel.status.text()
    panel.add_epoch(report(2, 10), None)  # the epoch that was ending when Stop came
    assert shows(panel, RunState.STOPPING) and "epoch 2/10" in panel.status.text() and "ETA" not in panel.status.text()
    panel.finished(RunFinished("stopped", "", None))
    assert shows(panel, RunState.STOPPED) and "ETA" not in panel.status.text() and "epoch 2/10" in panel.status.text()


def test_the_last_epoch_evaluates_then_completes_without_an_eta(panel):
    panel.starting()
    panel.start(started(2))
    panel.add_epoch(report(1, 2), None)
    panel.add_epoch(report(2, 2), None)
    assert shows(panel, RunState.EVALUATING) and "ETA" not in panel.status.text()
    panel.set_paused(True)  # nothing left to pause: the evaluation goes on
    assert shows(panel, RunState.EVALUATING)
    panel.finished(RunFinished("completed", "", None))
    assert shows(panel, RunState.COMPLETED) and "ETA" not in panel.status.text()
    panel.starting()  # the next run
    assert shows(panel, RunState.STARTING)


def test_a_failed_run_says_so(panel):
    panel.starting()
    panel.finished(RunFinished("failed", "the training process could not start", None))
    assert shows(panel, RunState.FAILED) and "could not start" in panel.status.text()


def test_the_epoch_line_shows_the_rate_the_epoch_trained_at(panel):
    panel.start(started(10))
    panel.add_epoch(report(1, 10), None)
    assert "learning rate 0.001 " in panel.status.text()


def test_a_hidden_panel_draws_nothing_and_catches_up_when_shown(panel, qtbot, monkeypatch):
    """Another tab in front: epochs are stored, not drawn, so that tab's frames do not pay for these figures."""
    drawn: list[str] = []
    monkeypatch.setattr(panel.loss, "show_history", lambda *args: drawn.append("curves"))
    monkeypatch.setattr(panel.outputs, "set_outputs", lambda *args: drawn.append("outputs"))
    panel.start(started(5))
    drawn.clear()  # the start makes the curves once, before any epoch
    panel.add_epoch(report(1, 5), np.zeros((1, 10)))
    panel.redraw()
    assert not panel.isVisible() and drawn == []
    panel.show()
    qtbot.waitUntil(lambda: drawn.count("curves") >= 1 and drawn.count("outputs") >= 1, timeout=5_000)


def test_the_curves_are_made_as_the_run_starts_and_its_epochs_only_fill_them(panel):
    """Making plot items is the costly part of a first draw: done at the start, no epoch's frame pays for it."""
    panel.starting()
    panel.start(started(5))
    made = [item for pair in panel.per_frequency.curves + panel.loss.curves for item in pair]
    assert len(panel.per_frequency.curves) == 1 and made
    panel.add_epoch(report(1, 5), None)
    panel.redraw(everything=True)
    assert [item for pair in panel.per_frequency.curves for item in pair] == made[:2]
    assert panel.per_frequency.columns["1 Hz"].tolist() == [0.2]
