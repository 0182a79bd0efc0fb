"""Final numbers and time to quality for each shipped preset, trained exactly as a user would.

    python -m benchmarks.presets [--preset streams] [--seeds 0 1 2] [--set SECTION.KEY=VALUE ...]

Each (preset, model seed) runs `python main.py train --config PRESET` in a fresh process with its
run folder in a temporary directory, and the command's wall time is measured around it (start-up,
data, training, final evaluation and the 300-dpi graphs included). From the run's metrics.json it
prints the validation MSE of the epoch best.pt holds (judge recipes on it, never on the test
set), the test and train MSE overall and per frequency, the generalization gap (worst
frequency), the memorisation check (lowest z over the frequencies), and the seconds of training
until the test MSE first reached 0.01 and 0.001 (the history's wall clock: training plus
per-epoch evaluation).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "resources" / "presets"


def train(preset: Path, seed: int, overrides: list[str]) -> tuple[dict, float]:
    """Run the CLI on ``preset``; its metrics and the command's wall seconds."""
    with tempfile.TemporaryDirectory(prefix="preset-benchmark-") as tmp:
        sets = [f"model.seed={seed}", f"data.data_dir={tmp}/data", *overrides]
        command = [sys.executable, str(ROOT / "main.py"), "train", "--config", str(preset), "--runs-dir", tmp]
        command += [arg for value in sets for arg in ("--set", value)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{preset.name} (model seed {seed}) failed:\n{done.stdout}{done.stderr}")
        (metrics_file,) = Path(tmp).glob("*/metrics.json")
        metrics = json.loads(metrics_file.read_text())
        return metrics, seconds


def summary(name: str, seed: int, metrics: dict, seconds: float) -> str:
    per_test = [row["mse"] for row in metrics["test"]["per_frequency"]]
    gaps = [row["gap"] for row in metrics["generalization_gap_per_frequency"]]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    hz = metrics["test"]["per_frequency"][worst]["frequency_hz"]
    reach = {level: metrics["time_to_test_mse"][level] for level in ("0.01", "0.001")}
    shown = {level: "never" if s is None else f"{s:.0f} s" for level, s in reach.items()}
    validation = metrics.get("validation_mse")
    check = metrics["memorisation"]
    lowest_z = min(row["z"] for row in check["per_frequency"])
    shifted = metrics.get("shifted")
    extraction = ""
    if shifted:
        per_shifted = " ".join(f"{row['mse']:.5f}" for row in shifted["per_frequency"])
        extraction = f"extraction {shifted['mse']:.5f} ({per_shifted}) known model {shifted['known_model_mse']:.5f}  "
    return (
        f"{name:<9} model seed {seed}  {metrics['epochs_completed']:>4} epochs  {seconds:6.1f} s wall  "
        f"val {'-' if validation is None else f'{validation:.5f}'}  "
        f"test {metrics['test']['mse']:.5f} ({' '.join(f'{m:.5f}' for m in per_test)})  train {metrics['train']['mse']:.5f}  "
        f"{extraction}"
        f"gap {metrics['generalization_gap']:.1%} (worst {hz:g} Hz {gaps[worst]:.1%}) "
        f"{'PASS' if metrics['generalization_pass'] else 'FAIL'}  "
        f"{'MEMORISED' if check['memorised'] else 'not memorised'} (lowest z {lowest_z:.2f})  "
        f"to 0.01: {shown['0.01']}  to 0.001: {shown['0.001']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="preset name (default: every file in resources/presets)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    presets = [PRESETS / f"{name}.yaml" for name in args.preset] if args.preset else sorted(PRESETS.glob("*.yaml"))
    for preset in presets:
        for seed in args.seeds:
            metrics, seconds = train(preset, seed, args.overrides)
            print(summary(preset.stem, seed, metrics, seconds), flush=True)


if __name__ == "__main__":
    main()
