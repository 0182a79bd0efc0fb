"""`--self-test`: prove an installed build works without a screen (tiny set, 2 CPU epochs in a
training process, as the window runs them, then the PNGs)."""

from __future__ import annotations

import math
import os
import tempfile
import time


def self_test() -> int:
    """Print OK and return 0 when resources load, 2 epochs train and the graphs export; else FAIL, 1."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from engine.config.schema import apply_overrides, load_config
    from engine.process.events import EpochDone, RunFinished, RunJob, RunStarted
    from engine.process.training_process import BackgroundRun
    from engine.runs.status import RunStatus
    from gui.app import RESOURCES, app_icon, create_app
    from gui.plots.run_graphs import export_graphs

    started = time.perf_counter()
    create_app([])
    problems = [] if not app_icon().isNull() else [f"no icon found in {RESOURCES / 'icons'}"]
    with tempfile.TemporaryDirectory(prefix="lstm-workbench-self-test-") as tmp:
        settings = ["data.sampling_rate=100", "data.duration=1", f"data.data_dir={tmp}/data", "model.hidden_size=8"]
        settings += ["training.num_epochs=2", "training.device=cpu", f"training.runs_dir={tmp}/runs", "visualization.dpi=50"]
        config = apply_overrides(load_config(RESOURCES / "presets" / "seed.yaml"), settings)
        events = list(BackgroundRun(RunJob(config, export_graphs=export_graphs)).events())
        losses = [event.report.train_loss for event in events if isinstance(event, EpochDone)]
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        status, message, metrics = finished.status, finished.message, finished.metrics
        if len(losses) != 2 or not all(math.isfinite(v) for v in losses) or status != RunStatus.COMPLETED:
            problems.append(f"training: {status} after {len(losses)} epochs ({message})")
        else:
            folder = next(event.folder for event in events if isinstance(event, RunStarted))
            pngs = sorted((folder / "graphs").glob("*.png"))  # written by the training process, as for the window
            if not pngs or any(p.stat().st_size == 0 or p.read_bytes()[:4] != b"\x89PNG" for p in pngs):
                problems.append(f"graph export: {pngs}")
    if problems:
        print("self-test FAIL: " + "; ".join(problems))
        return 1
    assert metrics is not None  # a completed run has its metrics
    seconds = time.perf_counter() - started
    print(f"self-test OK: 2 epochs on cpu (test MSE {metrics.test_mse:.4f}), {len(pngs)} PNGs exported, {seconds:.1f} s")
    return 0
