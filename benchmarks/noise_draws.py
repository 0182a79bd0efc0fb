"""How much of a run's generalization gap is the noise draw itself? Evaluate its best.pt on fresh
noise seeds it never saw and compare those seeds with each other.

    python -m benchmarks.noise_draws RUN_FOLDER [--seeds 12]

Prints the MSE overall and per frequency for data seeds 1..N (the run's train seed marked),
then, over every pair of seeds the run never trained on, the share of pairs whose gap
|a - b| / a is under the run's threshold: overall, per frequency, and for all frequencies at
once. A model that learned nothing of its training noise still scores every pair like this.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from engine.checkpoints import load_checkpoint, model_from_checkpoint
from engine.data import generate
from engine.evaluation import SetMetrics, predict


def per_frequency_mse(folder: Path, seeds: range) -> tuple[dict[int, np.ndarray], object]:
    """Per-frequency test MSE of the run's best.pt (else last.pt) on each data seed."""
    checkpoints = folder / "checkpoints"
    path = checkpoints / "best.pt" if (checkpoints / "best.pt").exists() else checkpoints / "last.pt"
    config, model = model_from_checkpoint(load_checkpoint(path), path)
    scores = {}
    for seed in seeds:
        signals = generate(config.data, seed)
        outputs = predict(model, signals, config.training.mode, config.training.batch_size)
        scores[seed] = np.asarray(SetMetrics.of(outputs, signals.targets).per_frequency)
    return scores, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--seeds", type=int, default=12, help="evaluate data seeds 1..N")
    args = parser.parse_args()
    scores, config = per_frequency_mse(args.run, range(1, args.seeds + 1))
    names = [f"{f:g} Hz" for f in config.data.frequencies]
    print("seed  overall  " + "  ".join(f"{n:>8}" for n in names))
    for seed, mse in scores.items():
        mark = "  (trained on)" if seed == config.data.train_seed else ""
        print(f"{seed:>4}  {mse.mean():.5f}  " + "  ".join(f"{m:8.5f}" for m in mse) + mark)
    unseen = [s for s in scores if s != config.data.train_seed]
    pairs = list(itertools.combinations(unseen, 2))
    gaps = np.array([np.abs(scores[a] - scores[b]) / scores[a] for a, b in pairs])
    overall = np.array([abs(scores[a].mean() - scores[b].mean()) / scores[a].mean() for a, b in pairs])
    threshold = config.evaluation.generalization_threshold
    print(f"{len(pairs)} pairs of unseen seeds; share with gap under {threshold:.0%}:")
    shares = (gaps < threshold).mean(0)
    print(f"  overall {np.mean(overall < threshold):.0%}   " + "   ".join(f"{n} {s:.0%}" for n, s in zip(names, shares, strict=True)))
    print(f"  all frequencies at once (the spec's pass rule): {np.mean(gaps.max(1) < threshold):.1%}")


if __name__ == "__main__":
    main()
