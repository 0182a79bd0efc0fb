"""A run's PNGs written by a process with no window (the command line, the training process), or by
the window a figure at a time between its events.

Qt and pyqtgraph are imported on the first call only, so handing this function to a training
process costs it nothing until its run has finished."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from engine.config.schema import Config
from engine.runs.run import RunRecord, load_run
from engine.sweeps.space import SweepSpec


def _offscreen_unless_windowed() -> None:
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:  # a process without a window never needs a display connection
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def export_graphs(folder: Path, config: Config) -> list[Path]:
    """Write RUN/graphs/*.png at the config's dpi, offscreen."""
    _offscreen_unless_windowed()
    from gui.plots.figures import export_run_graphs

    return export_run_graphs(folder, config)


def graph_files(folder: Path, config: Config) -> Iterator[Path]:
    """RUN/graphs/*.png as ``export_graphs`` writes them, each ``next`` drawing and writing one figure,
    so a window can write them between its events (call ``next`` on the window's thread)."""
    from gui.plots.figures import export_figures, figures_for_record

    for figure in figures_for_record(load_run(folder), config):
        yield from export_figures([figure], Path(folder) / "graphs", config.visualization.dpi)


def export_report_figures(records: list[RunRecord], folder: Path, dpi: int) -> list[Path]:
    """Write a report's figures (runs overlaid, per-frequency test MSE by run) into ``folder``, offscreen."""
    _offscreen_unless_windowed()
    from gui.plots.figures import ensure_app, export_figures, report_figures

    ensure_app()
    return export_figures(report_figures(records), folder, dpi)


def export_sweep_figures(rows: list[dict], spec: SweepSpec, importances: dict[str, float], folder: Path, dpi: int) -> list[Path]:
    """Write a sweep's figures into ``folder``, offscreen."""
    _offscreen_unless_windowed()
    from gui.plots.figures import ensure_app
    from gui.plots.sweep_figures import export_sweep_figures as export

    ensure_app()
    return export(rows, spec, importances, folder, dpi)
