"""The PNGs of a run, a report or a sweep, written by a process with no window: the command line, the
training process, or a child process the window starts for them.

Qt and pyqtgraph are imported on the first call only, so handing this function to a training
process costs it nothing until its run has finished."""

from __future__ import annotations

import os
from pathlib import Path

from engine.config.schema import Config
from engine.runs.run import RunRecord
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
