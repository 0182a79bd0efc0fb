"""How much of a run's generalization gap is the noise draw itself? Evaluate its best.pt on fresh
noise seeds it never saw and compare those seeds with each other.

    python -m benchmarks.noise_draws RUN_FOLDER [--seeds 12]

Prints the MSE overall and per frequency for data seeds 1..N (the run's train seed marked),
then, over every pair of seeds the run never trained on, the share of pairs whose gap
|a - b| / a is under the run's threshold: overall, per frequency, and for all frequencies at
once. A model that learned nothing of its training noise still scores every pair like this.
Two checks say where the spread comes from: the spread of the MSE after the first second (the
lock-in from a zero state left out), and, without any model, the noise power of S near each
frequency on each seed, which any estimator reading S lets through in part.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from engine.signals.dataset import generate
from engine.signals.noise import band_noise_power
from engine.training.checkpoints import load_checkpoint, model_from_checkpoint
from engine.training.evaluation import SetMetrics, predict


def per_frequency_mse(folder: Path, seeds: range) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], object]:
    """Per-frequency MSE of the run's best.pt (else last.pt) on each data seed: whole, and after 1 s."""
    checkpoints = folder / "checkpoints"
    path = checkpoints / "best.pt" if (checkpoints / "best.pt").exists() else checkpoints / "last.pt"
    config, model = model_from_checkpoint(load_checkpoint(path), path)
    scores, steady = {}, {}
    settled = int(config.data.sampling_rate)
    for seed in seeds:
        signals = generate(config.data, seed)
        outputs = predict(model, signals, config.training.mode, config.training.batch_size)
        scores[seed] = np.asarray(SetMetrics.of(outputs, signals.targets).per_frequency)
        steady[seed] = np.asarray(SetMetrics.of(outputs[:, settled:], signals.targets[:, settled:]).per_frequency)
    return scores, steady, config


def spread(values: list[np.ndarray]) -> np.ndarray:
    """Standard deviation over mean, per column."""
    stacked = np.stack(values)
    return stacked.std(axis=0) / stacked.mean(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--seeds", type=int, default=12, help="evaluate data seeds 1..N")
    args = parser.parse_args()
    scores, steady, config = per_frequency_mse(args.run, range(1, args.seeds + 1))
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
    print("spread (std / mean) over the unseen seeds, per frequency:")
    print("  whole sequence   " + "  ".join(f"{v:6.1%}" for v in spread([scores[s] for s in unseen])))
    print("  after the 1st s  " + "  ".join(f"{v:6.1%}" for v in spread([steady[s] for s in unseen])))
    band = {seed: band_noise_power(config.data, seed) for seed in scores}
    mean_band = np.mean(list(band.values()), axis=0)
    low = np.min(list(band.values()), axis=0) / mean_band
    high = np.max(list(band.values()), axis=0) / mean_band
    print("noise power of S within 2 Hz of each frequency, seeds 1..N, relative to its mean (no model):")
    print("  " + "   ".join(f"{n} {lo:.2f}-{hi:.2f}" for n, lo, hi in zip(names, low, high, strict=True)))
    test, train = config.data.test_seed, config.data.train_seed
    if test in band and train in band:
        ratio = band[test] / band[train]
        print("  test seed / train seed: " + "   ".join(f"{n} {r:.2f}" for n, r in zip(names, ratio, strict=True)))


if __name__ == "__main__":
    main()
