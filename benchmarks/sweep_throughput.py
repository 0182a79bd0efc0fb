"""Trials per hour of a sweep with 1 worker (all cores to torch) against N workers (the cores
shared among them), the same trials each time, alternating which goes first.

    python -m benchmarks.sweep_throughput [--trials 6] [--epochs 3] [--repeats 2] [--workers 2]

Each trial trains config.yaml for ``--epochs`` epochs with its own hidden size (an
experiments-only sweep, so every arm runs exactly the same work); the whole command is timed,
start-up, per-trial evaluation and the sweep's outputs included (figures off)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sweep_file(folder: Path, trials: int, epochs: int) -> Path:
    sizes = [64, 96, 128, 160, 192, 224, 256, 48][:trials] + [128] * max(0, trials - 8)
    experiments = "".join(f"  - {{model.hidden_size: {h}}}\n" for h in sizes)
    path = folder / "throughput.yaml"
    path.write_text(
        f"base: {ROOT / 'config.yaml'}\nstudy: throughput\nfixed:\n  training.num_epochs: {epochs}\n"
        f"  data.data_dir: {folder / 'data'}\nexperiments:\n{experiments}"
    )
    return path


def timed_sweep(spec: Path, workers: int, sweeps: Path) -> float:
    started = time.perf_counter()
    command = [sys.executable, str(ROOT / "main.py"), "sweep", "--no-graphs", "--spec", str(spec), "--workers", str(workers)]
    subprocess.run([*command, "--sweeps-dir", str(sweeps)], check=True, capture_output=True, cwd=spec.parent)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    arms = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        spec = sweep_file(Path(tmp), args.trials, args.epochs)
        timed_sweep(spec, 1, Path(tmp) / "warm-up")  # the data cache and the first imports, outside the timing
        for repeat in range(args.repeats):
            order = [1, args.workers] if repeat % 2 == 0 else [args.workers, 1]
            for workers in order:
                seconds = timed_sweep(spec, workers, Path(tmp) / f"r{repeat}-w{workers}")
                arms[workers].append(args.trials / seconds * 3600)
                rate = arms[workers][-1]
                print(
                    f"repeat {repeat + 1}: {workers} worker(s): {seconds:.1f} s for {args.trials} trials = {rate:.0f} trials/hour",
                    flush=True,
                )
    print(f"{os.cpu_count()} cores; {args.trials} trials of config.yaml, {args.epochs} epochs each; trials per hour, median (min-max):")
    for workers, rates in arms.items():
        print(f"  {workers} worker(s): {statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f})")
    ratio = statistics.median(arms[args.workers]) / statistics.median(arms[1])
    print(f"ratio {args.workers} workers / 1 worker: {ratio:.2f}x")


if __name__ == "__main__":
    main()
