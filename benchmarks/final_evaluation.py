"""Seconds a run's end costs: the last epoch to Results, Stop to the stopped state, and the whole
`train` command of one epoch without graphs.

    python -m benchmarks.final_evaluation [--repeats 5] [--config config.yaml] [--epochs 2]

Each repeat measures, in a training process as the window runs it (graphs written by it, as there):
  results  the last epoch's report to the run's numbers (RunEvaluated), and to its end (graphs written)
  stop     Stop pressed after epoch 1 of a long run to the numbers of the stopped run
  cli      `main.py train --set training.num_epochs=1 --no-graphs`, wall time of the whole command
One run beforehand fills the data folder (signals and known-model scores), as any earlier run would.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.config.schema import Config, apply_overrides, load_config
from engine.process.events import EpochDone, RunEvaluated, RunFinished, RunJob
from engine.process.training_process import BackgroundRun, TrainingProcess
from gui.plots.run_graphs import export_graphs

ROOT = Path(__file__).resolve().parent.parent


def ready_process() -> TrainingProcess:
    """A training process started in advance, as the window keeps one."""
    worker = TrainingProcess()
    worker.start()
    worker.ready.wait(timeout=120)
    return worker


def results(config: Config, runs_dir: Path) -> tuple[float, float]:
    """(last epoch -> numbers, last epoch -> end with graphs) in seconds."""
    run = BackgroundRun(RunJob(config, runs_dir, export_graphs=export_graphs), worker=ready_process())
    last = evaluated = None
    for event in run.events():
        if isinstance(event, EpochDone):
            last = time.perf_counter()
        elif isinstance(event, RunEvaluated):
            evaluated = time.perf_counter() - last
        elif isinstance(event, RunFinished):
            return evaluated, time.perf_counter() - last
    raise RuntimeError("the run ended without RunFinished")


def stop(config: Config, runs_dir: Path) -> float:
    """Stop after epoch 1 of a long run -> the stopped run's numbers, in seconds."""
    long = apply_overrides(config, ["training.num_epochs=100000"])
    run = BackgroundRun(RunJob(long, runs_dir, export_graphs=export_graphs), worker=ready_process())
    asked = seconds = None
    for event in run.events():
        if isinstance(event, EpochDone) and asked is None:
            run.control.request_stop()
            asked = time.perf_counter()
        elif isinstance(event, RunEvaluated):
            seconds = time.perf_counter() - asked
    return seconds


def cli(config_path: Path, overrides: list[str], runs_dir: Path) -> float:
    """Wall seconds of a one-epoch `train` without graphs."""
    settings = [arg for setting in [*overrides, "training.num_epochs=1"] for arg in ("--set", setting)]
    command = [sys.executable, str(ROOT / "main.py"), "train", "--config", str(config_path), *settings, "--runs-dir", str(runs_dir)]
    started = time.perf_counter()
    subprocess.run([*command, "--no-graphs"], check=True, capture_output=True)
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n {len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the run whose end is timed")
    args = parser.parse_args()
    names = ("last epoch -> Results", "last epoch -> graphs written", "Stop -> stopped", "train 1 epoch")
    rows: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="final-evaluation-") as tmp:
        overrides = [f"data.data_dir={tmp}/data", f"training.num_epochs={args.epochs}"]
        config = apply_overrides(load_config(args.config), overrides)
        runs = Path(tmp) / "runs"
        results(config, runs)  # fills the data folder, as an earlier run would have
        for _ in range(args.repeats):
            to_results, to_end = results(config, runs)
            rows["last epoch -> Results"].append(to_results)
            rows["last epoch -> graphs written"].append(to_end)
            rows["Stop -> stopped"].append(stop(config, runs))
            rows["train 1 epoch"].append(cli(args.config, overrides[:1], runs))
    for name, values in rows.items():
        print(f"{name:30s} {spread(values)}")


if __name__ == "__main__":
    main()
