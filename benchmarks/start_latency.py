"""Seconds from Start to the first epoch, beyond the epoch itself: a cold training process against
one started in advance (as the window keeps one ready while a config is edited).

    python -m benchmarks.start_latency [--repeats 5] [--config config.yaml]

Each repeat runs the config for one epoch both ways, alternating which goes first. Overhead is the
time from handing over the job to the first epoch's report, less that epoch's own wall time
(training and scoring): process start, imports, data, model and the run folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from engine.config.schema import apply_overrides, load_config
from engine.process.events import EpochDone, RunJob, RunStarted
from engine.process.training_process import BackgroundRun, TrainingProcess

ROOT = Path(__file__).resolve().parent.parent


def overhead(config, runs_dir: Path, warm: bool) -> tuple[float, float]:
    """(seconds to the started event, seconds to epoch 1 less the epoch's own time)."""
    worker = TrainingProcess()
    if warm:
        worker.start()
        worker.ready.wait(timeout=120)
    run = BackgroundRun(RunJob(config, runs_dir), worker=worker)
    asked = time.perf_counter()
    to_started = None
    for event in run.events():
        if isinstance(event, RunStarted):
            to_started = time.perf_counter() - asked
        if isinstance(event, EpochDone):
            first = time.perf_counter() - asked - event.report.wall_seconds
            run.control.request_stop()
            to_first = first
    return to_started, to_first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="start-latency-") as tmp:
        config = apply_overrides(load_config(args.config), [f"data.data_dir={tmp}/data", "training.num_epochs=1000"])
        overhead(config, Path(tmp) / "runs", warm=True)  # fill the data cache, as a second Start would find it
        for k in range(args.repeats):
            for kind in ("cold", "warm") if k % 2 == 0 else ("warm", "cold"):
                results[kind].append(overhead(config, Path(tmp) / "runs", warm=kind == "warm"))
    for kind, rows in results.items():
        started = [r[0] for r in rows]
        first = [r[1] for r in rows]
        print(
            f"{kind}: to the started event median {statistics.median(started):.2f} s (min {min(started):.2f}, max {max(started):.2f});  "
            f"to epoch 1, less the epoch: median {statistics.median(first):.2f} s (min {min(first):.2f}, max {max(first):.2f})"
        )


if __name__ == "__main__":
    main()
