"""The Results panel: a run's verdicts, numbers and figures side by side."""

from __future__ import annotations

import numpy as np

from engine.runs.run import RunRecord
from gui.panels.results import ResultsPanel
from tests.conftest import scored_metrics, small_config


def test_the_figures_get_most_of_the_width_even_while_the_first_is_still_being_built(qtbot, tmp_path):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 800)
    panel.show_run(RunRecord(tmp_path / "run", small_config(tmp_path), scored_metrics(0.1, frequencies=[1.0, 3.0]), None))
    assert not panel.figures  # its figures come a step per event
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.tabs.width() > panel.width() // 2
    qtbot.waitUntil(lambda: len(panel.figures) > 0)
    assert panel.tabs.width() > panel.width() // 2


def test_only_the_figures_shown_are_built_and_any_tab_exports(qtbot, tmp_path):
    from PySide6.QtGui import QImage

    from gui.plots.figures import SpectrumFigure

    t = np.arange(400) / 100.0
    targets = np.vstack([np.sin(2 * np.pi * f * t) for f in (1.0, 3.0)])
    folder = tmp_path / "run"
    folder.mkdir()
    np.savez(
        folder / "predictions.npz", frequencies=np.array([1.0, 3.0]), t=t, mixture=targets.mean(axis=0), targets=targets, outputs=targets
    )
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 800)
    panel.show_run(RunRecord(folder, small_config(tmp_path), scored_metrics(0.1, frequencies=[1.0, 3.0]), None))
    assert panel.tabs.count() > 4 and not panel.figures  # every figure listed, none built while the panel is hidden
    panel.show()
    qtbot.waitUntil(lambda: len(panel.figures) == 1)
    assert panel.figures[0].file_stem == "loss_curve"
    panel.tabs.setCurrentIndex(3)
    qtbot.waitUntil(lambda: len(panel.figures) == 2)
    assert [f.file_stem for f in panel.figures] == ["loss_curve", "graph2_all_frequencies"]
    assert panel.tabs.currentWidget().figure is panel.figures[1]
    panel.tabs.setCurrentIndex(4)  # exported at once: the file's figure is built for it, whatever the view holds
    image = QImage(str(panel.export_current(str(tmp_path / "fft.png"))))
    assert (image.width(), image.height()) == tuple(round(inches * panel.dpi) for inches in SpectrumFigure.size_inches)
