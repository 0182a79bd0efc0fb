"""Each shipped preset trained exactly as a user would, as a table against the preset's targets.

    python -m benchmarks.presets [--preset quick --preset extract ...] [--seeds 0 1 2] [--set SECTION.KEY=VALUE ...]

Each (preset, model seed) runs `python main.py train --config PRESET` in a fresh process with its run
folder in a temporary directory, and the command's wall time is measured around it: start-up, data,
training, final evaluation and the 300-dpi graphs included. From the run's metrics.json it prints one
markdown row: the validation MSE of the epoch best.pt holds (recipes are judged on it, never on the
test set), the spec's test MSE overall and at its worst frequency, the extraction MSE (test draws that
start at random moments) overall and at its worst frequency, the memorisation check, and whether the
row meets its preset's target. Then, per preset, the spread of the wall time over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.analysis.findings import format_mse
from engine.runs.metrics import RunMetrics, read_metrics

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "resources" / "presets"


@dataclass(frozen=True)
class Target:
    """What a preset promises on a 2-core laptop-class CPU (None: no promise on that number)."""

    seconds: float
    test: float
    test_worst: float | None = None
    extraction: float | None = None
    extraction_worst: float | None = None
    not_memorised: bool = False

    def misses(self, row: Row) -> list[str]:
        """The promises ``row`` breaks, each named."""
        limits = {
            "seconds": (row.seconds, self.seconds),
            "test": (row.test, self.test),
            "test worst": (row.test_worst, self.test_worst),
            "extraction": (row.extraction, self.extraction),
            "extraction worst": (row.extraction_worst, self.extraction_worst),
        }
        missed = [name for name, (value, limit) in limits.items() if limit is not None and (value is None or value > limit)]
        return missed + (["memorised"] if self.not_memorised and row.memorised else [])


TARGETS = {
    "quick": Target(seconds=30, test=0.005, extraction=0.01),
    "streams": Target(seconds=120, test=0.001, test_worst=0.002, not_memorised=True),
    "extract": Target(seconds=120, test=0.002, extraction=0.003, extraction_worst=0.006),
}


@dataclass(frozen=True)
class Row:
    preset: str
    seed: int
    seconds: float
    epochs: int
    validation: float | None
    test: float
    test_worst: float
    test_worst_hz: float
    extraction: float | None
    extraction_worst: float | None
    extraction_worst_hz: float | None
    memorised: bool

    @classmethod
    def of(cls, preset: str, seed: int, metrics: RunMetrics, seconds: float) -> Row:
        results, shifted, check = metrics.results, metrics.shifted, metrics.memorisation
        assert results is not None and check is not None  # a trained preset run is evaluated
        worst = max(results.test.per_frequency, key=lambda row: row.mse)
        worst_shifted = None if shifted is None else max(shifted.per_frequency, key=lambda row: row.mse, default=None)
        return cls(
            preset,
            seed,
            seconds,
            metrics.epochs_completed or 0,
            metrics.validation_mse,
            results.test.mse,
            worst.mse,
            worst.frequency_hz,
            None if shifted is None else shifted.mse,
            None if worst_shifted is None else worst_shifted.mse,
            None if worst_shifted is None else worst_shifted.frequency_hz,
            check.memorised,
        )

    def cells(self) -> list[str]:
        def at(value: float | None, hz: float | None) -> str:
            return "—" if value is None else f"{format_mse(value)} ({hz:g} Hz)"

        target = TARGETS.get(self.preset)
        missed = target.misses(self) if target else None
        verdict = "no target" if missed is None else ("yes" if not missed else "no: " + ", ".join(missed))
        return [
            self.preset,
            str(self.seed),
            f"{self.seconds:.1f}",
            str(self.epochs),
            format_mse(self.validation),
            format_mse(self.test),
            at(self.test_worst, self.test_worst_hz),
            format_mse(self.extraction),
            at(self.extraction_worst, self.extraction_worst_hz),
            "yes" if self.memorised else "no",
            verdict,
        ]


HEADER = [
    "preset",
    "seed",
    "wall s",
    "epochs",
    "validation",
    "test",
    "test, worst",
    "extraction",
    "extraction, worst",
    "memorised",
    "meets target",
]


def markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def train(preset: Path, seed: int, overrides: list[str]) -> tuple[RunMetrics, float]:
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
        return read_metrics(metrics_file), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="preset name (default: every preset with a target)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    names = args.preset or list(TARGETS)
    print(markdown_row(HEADER))
    print(markdown_row(["---"] * len(HEADER)), flush=True)
    walls: dict[str, list[float]] = {}
    for name in names:
        for seed in args.seeds:
            metrics, seconds = train(PRESETS / f"{name}.yaml", seed, args.overrides)
            walls.setdefault(name, []).append(seconds)
            print(markdown_row(Row.of(name, seed, metrics, seconds).cells()), flush=True)
    for name, seconds in walls.items():
        spread = f"median {statistics.median(seconds):.1f} s, {min(seconds):.1f}-{max(seconds):.1f} s over {len(seconds)} seeds"
        print(f"{name}: wall {spread}")


if __name__ == "__main__":
    main()
