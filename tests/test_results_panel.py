"""The Results panel: a run's verdicts, numbers and figures side by side."""

from __future__ import annotations

from engine.runs.run import RunRecord
from gui.panels.results import ResultsPanel
from tests.conftest import scored_metrics, small_config


def test_the_figures_get_most_of_the_width_even_while_the_first_is_still_being_built(qtbot, tmp_path):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 800)
    panel.show_run(RunRecord(tmp_path / "run", small_config(tmp_path), scored_metrics(0.1, frequencies=[1.0, 3.0]), None))
    assert panel.tabs.count() == 0  # its figures come a step per event
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.tabs.width() > panel.width() // 2
    qtbot.waitUntil(lambda: panel.tabs.count() > 0)
    assert panel.tabs.width() > panel.width() // 2
