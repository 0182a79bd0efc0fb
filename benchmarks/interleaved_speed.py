"""Seconds per epoch of the interleaved method (one step per batch): the plain PyTorch reference and the fast
path used by the app, side by side in one process, on the default experiment (40,000 rows,
batch 32, hidden 128). Epochs alternate so machine noise hits both alike. Last line: the ratio.

    .venv/bin/python -m benchmarks.interleaved_speed [--epochs 3] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from engine.config.schema import Config
from engine.signals.dataset import generate
from engine.training.interleaved import InterleavedTrainer
from engine.training.model import FrequencyLSTM
from engine.training.reference import train_epoch_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = Config()
    x, y = (torch.from_numpy(a) for a in generate(config.data, config.data.train_seed).rows())
    torch.manual_seed(0)
    fast_model = FrequencyLSTM(5, 128)
    reference_model = copy.deepcopy(fast_model)
    fast = InterleavedTrainer(fast_model, 32, 1e-4, 1.0)
    optimizer = torch.optim.Adam(reference_model.parameters(), lr=1e-4)
    times: dict[str, list[float]] = {"reference": [], "fast": []}
    for epoch in range(args.epochs):
        start = time.perf_counter()
        ref_loss = train_epoch_reference(reference_model, optimizer, x, y, 32, 1.0)
        times["reference"].append(time.perf_counter() - start)
        start = time.perf_counter()
        fast_loss = fast.train_epoch(x, y, lambda: True)
        times["fast"].append(time.perf_counter() - start)
        print(
            f"epoch {epoch + 1}: reference {times['reference'][-1]:.3f} s (loss {ref_loss:.6f})  "
            f"fast {times['fast'][-1]:.3f} s (loss {fast_loss:.6f})"
        )
    ref, fst = statistics.median(times["reference"]), statistics.median(times["fast"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median s/epoch: reference {ref:.3f}, fast {fst:.3f}")
    print(f"speed-up (reference / fast): {ref / fst:.2f}x")


if __name__ == "__main__":
    main()
