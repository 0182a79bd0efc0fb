"""Seconds per epoch across the experiment space: the engine against a plain PyTorch reference of
the same method, side by side in one process, with the matmul floor and where each shape is bound.

    python -m benchmarks.speed_table [--mode interleaved|streams|population|options|all] [--steps 150] [--rounds 3]
                                     [--threads N] [--hidden 64 128 ...] [--layers 1 2 3] [--batch 32 64]
                                     [--members 8] [--population-hidden 128 ...]

Interleaved rows: hidden x layers x batch on the default data (4 frequencies x 10,000 samples, so
40,000 rows). Streams rows: segments 1, TBPTT 100, one draw (4 sequences side by side).
Option rows: a GRU and an LSTM with attention over ``--attention-window`` states (hidden
``--option-hidden`` x 1 layer, batch 32), the engine's autograd path against the plain loop with the same
model (nn.GRU for the GRU). Population rows: ``--members`` models at batch 32 (hidden 128 x 1 layer: config.yaml's),
each its own seed and learning rate, trained one after another on the solo fast path (the
reference column) and as one population (the engine column); the floor is all members' matmuls. Each
measurement trains ``--steps`` optimizer steps of each path, alternating reference and engine for
``--rounds`` rounds so the host's noise hits both alike, and scales the median to one epoch. The
floor is the time the step's matmuls alone take on their exact shapes at the rate ``torch.mm``
reaches here (best of many, warm caches); ``+ Adam`` adds one clipped Adam step over the model's
parameters (norm and fused Adam, best of many), the memory traffic both paths must also pay every
step. GFLOP/s is the engine's matmul work per second of its step; ``spread`` is the engine's slowest
round over its fastest.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.config.schema import Config
from engine.signals.dataset import generate
from engine.training.interleaved import InterleavedTrainer, Member, PopulationTrainer, StepwiseTrainer
from engine.training.model import FrequencyLSTM
from engine.training.reference import train_epoch_reference, train_epoch_streams_reference
from engine.training.streams import StreamsTrainer

MatmulShape = tuple[int, int, int]  # (m, k, n): an (m, k) @ (k, n) product


@dataclass(frozen=True)
class Row:
    """One configuration's measurement, per epoch."""

    label: str
    reference_s: float
    engine_s: float
    floor_s: float
    adam_s: float
    gflops: float
    spread: float

    @property
    def ratio(self) -> float:
        return self.reference_s / self.engine_s

    @property
    def bound(self) -> str:
        """Matmul-bound when the floor is most of the engine's time, else overhead-bound."""
        if self.floor_s > 0.5 * self.engine_s:
            return "matmul"
        return "matmul + Adam" if self.floor_s + self.adam_s > 0.5 * self.engine_s else "overhead"


def interleaved_matmuls(inputs: int, hidden: int, layers: int, batch: int, gates: int = 4) -> list[MatmulShape]:
    """The step's matmuls on the fast path: gates, weight gradient, and the gradient to the layer below
    (``gates``: 4 for an LSTM, 3 for a GRU)."""
    shapes = []
    for layer in range(layers):
        n_in = inputs if layer == 0 else hidden
        rows = n_in + 2 + hidden
        shapes += [(batch, rows, gates * hidden), (rows, batch, gates * hidden)]
        if layer > 0:
            shapes.append((batch, gates * hidden, n_in))
    return shapes


def streams_matmuls(inputs: int, hidden: int, layers: int, batch: int, steps: int) -> list[MatmulShape]:
    """One window's matmuls: input projection, recurrent gates and their gradients, weight gradients."""
    shapes = []
    for layer in range(layers):
        n_in = inputs if layer == 0 else hidden
        shapes += [(batch * steps, n_in, 4 * hidden), (batch * steps, 4 * hidden, n_in)]  # input side
        shapes += [(hidden, batch * steps, 4 * hidden), (n_in, batch * steps, 4 * hidden)]  # weight gradients
        shapes += [(batch, hidden, 4 * hidden), (batch, 4 * hidden, hidden)] * steps  # the recurrence
    return shapes


def matmul_seconds(shapes: list[MatmulShape], repeats: int = 30) -> float:
    """Best-of-``repeats`` time of every shape's torch.mm once (the floor of one step)."""
    total = 0.0
    for m, k, n in set(shapes):
        a, b, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
        total += best * shapes.count((m, k, n))
    return total


def optimizer_seconds(n_params: int, repeats: int = 10) -> float:
    """Best-of-``repeats`` time of one clipped Adam step on ``n_params`` floats: the gradient norm and
    torch's fused Adam kernel, called the way the fast path calls it."""
    params, grad = torch.zeros(n_params), torch.randn(n_params)
    exp_avg, exp_avg_sq, step = torch.zeros(n_params), torch.zeros(n_params), torch.zeros(())
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        scale = torch.linalg.vector_norm(grad).clamp(min=1.0)
        step.add_(1)
        torch._fused_adam_(
            [params], [grad], [exp_avg], [exp_avg_sq], [], [step], amsgrad=False, lr=1e-4, beta1=0.9,
            beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False, grad_scale=scale, found_inf=None,
        )  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops(shapes: list[MatmulShape]) -> float:
    return sum(2.0 * m * k * n for m, k, n in shapes)


def side_by_side(reference: Callable[[], None], engine: Callable[[], None], rounds: int) -> tuple[list[float], list[float]]:
    """Alternate the two for ``rounds`` rounds after one warm-up each; each path's seconds per round."""
    reference()
    engine()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for run, bucket in ((reference, times[0]), (engine, times[1])):
            start = time.perf_counter()
            run()
            bucket.append(time.perf_counter() - start)
    return times


def interleaved_row(
    x: torch.Tensor, y: torch.Tensor, hidden: int, layers: int, batch: int, steps: int, rounds: int, cell: str = "lstm", window: int = 0
) -> Row:
    """Reference and engine on ``steps`` batches of the default data, scaled to a 40,000-row epoch: the
    fast path for a plain LSTM, the engine's autograd path for a GRU or attention over ``window`` states."""
    torch.manual_seed(0)
    model = FrequencyLSTM(x.shape[1], hidden, layers, cell=cell, attention_window=window)
    reference_model = copy.deepcopy(model)
    plain = cell == "lstm" and not window
    fast = InterleavedTrainer(model, batch, 1e-4, 1.0) if plain else StepwiseTrainer(model, batch, 1e-4, 1.0)
    optimizer = torch.optim.Adam(reference_model.parameters(), lr=1e-4)
    xs, ys = x[: steps * batch], y[: steps * batch]
    ref_times, fast_times = side_by_side(
        lambda: train_epoch_reference(reference_model, optimizer, xs, ys, batch, 1.0),
        lambda: fast.train_epoch(xs, ys, lambda: True),
        rounds,
    )
    per_epoch = math.ceil(x.shape[0] / batch) / steps
    shapes = interleaved_matmuls(x.shape[1], hidden, layers, batch, 3 if cell == "gru" else 4)
    shapes += [(batch, hidden, hidden)] * (2 if window else 0)  # the query and the newest key
    engine_step = statistics.median(fast_times) / steps
    option = ("gru, " if cell == "gru" else "") + (f"attention {window}, " if window else "")
    return Row(
        f"{option}{hidden} x {layers}, batch {batch}",
        statistics.median(ref_times) * per_epoch,
        engine_step * steps * per_epoch,
        matmul_seconds(shapes) * steps * per_epoch,
        optimizer_seconds(n_parameters(model)) * steps * per_epoch,
        flops(shapes) / engine_step / 1e9,
        max(fast_times) / min(fast_times),
    )


def streams_row(x: torch.Tensor, y: torch.Tensor, n_freq: int, hidden: int, windows: int, rounds: int, tbptt: int = 100) -> Row:
    """Plain windowed nn.LSTM against the engine's streams trainer on ``windows`` windows of TBPTT ``tbptt``."""
    torch.manual_seed(0)
    model = FrequencyLSTM(x.shape[1], hidden)
    reference_model = copy.deepcopy(model)
    engine = StreamsTrainer(model, n_freq, 1, tbptt, 1e-3, 1.0)
    optimizer = torch.optim.Adam(reference_model.parameters(), lr=1e-3)
    n = x.shape[0] // n_freq
    keep = min(n, windows * tbptt)
    xs = x.view(n_freq, n, -1)[:, :keep].reshape(n_freq * keep, -1)
    ys = y.view(n_freq, n)[:, :keep].reshape(-1)
    ref_times, engine_times = side_by_side(
        lambda: train_epoch_streams_reference(reference_model, optimizer, xs, ys, n_freq, tbptt, 1.0),
        lambda: engine.train_epoch(xs, ys, lambda: True),
        rounds,
    )
    per_epoch = n / keep
    shapes = streams_matmuls(x.shape[1], hidden, 1, n_freq, tbptt)
    window_s = statistics.median(engine_times) * tbptt / keep
    return Row(
        f"hidden {hidden}, TBPTT {tbptt}",
        statistics.median(ref_times) * per_epoch,
        statistics.median(engine_times) * per_epoch,
        matmul_seconds(shapes, repeats=5) * (n / tbptt),
        optimizer_seconds(n_parameters(model)) * (n / tbptt),
        flops(shapes) / window_s / 1e9,
        max(engine_times) / min(engine_times),
    )


def population_row(
    x: torch.Tensor, y: torch.Tensor, members: int, steps: int, rounds: int, hidden: int = 128, layers: int = 1, batch: int = 32
) -> Row:
    """``members`` solo runs one after another against one population of them, same seeds and learning rates."""
    models = []
    for seed in range(members):
        torch.manual_seed(seed)
        models.append(FrequencyLSTM(x.shape[1], hidden, layers))
    rates = [1e-4 * (1 + seed) for seed in range(members)]
    solos = [InterleavedTrainer(copy.deepcopy(model), batch, lr, 1.0) for model, lr in zip(models, rates, strict=True)]
    population = PopulationTrainer(models, batch, [Member(lr, 1.0) for lr in rates])
    xs, ys = x[: steps * batch], y[: steps * batch]
    solo_times, population_times = side_by_side(
        lambda: [solo.train_epoch(xs, ys, lambda: True) for solo in solos],
        lambda: population.train_epoch_members(xs, ys, lambda: True),
        rounds,
    )
    per_epoch = math.ceil(x.shape[0] / batch) / steps
    shapes = interleaved_matmuls(x.shape[1], hidden, layers, batch) * members
    return Row(
        f"{members} x ({hidden} x {layers}, batch {batch})",
        statistics.median(solo_times) * per_epoch,
        statistics.median(population_times) * per_epoch,
        matmul_seconds(shapes) * steps * per_epoch,
        optimizer_seconds(n_parameters(models[0])) * members * steps * per_epoch,
        flops(shapes) / (statistics.median(population_times) / steps) / 1e9,
        max(population_times) / min(population_times),
    )


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    head = ("configuration", "reference s", "engine s", "ratio", "floor s", "engine/floor", "+ Adam s", "engine/(floor+Adam)")
    print(f"{head[0]:<32}" + "".join(f" {h:>{max(8, len(h))}}" for h in head[1:]) + "  GFLOP/s  spread  bound")
    for r in rows:
        cells = (r.reference_s, r.engine_s, r.ratio, r.floor_s, r.engine_s / r.floor_s, r.floor_s + r.adam_s)
        cells += (r.engine_s / (r.floor_s + r.adam_s),)
        text = "".join(f" {value:>{max(8, len(h))}.3f}" for value, h in zip(cells, head[1:], strict=True))
        print(f"{r.label:<32}{text} {r.gflops:>8.1f} {r.spread:>6.2f}x  {r.bound}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("interleaved", "streams", "population", "options", "all"), default="all")
    parser.add_argument("--option-hidden", type=int, default=128, help="hidden size of the gru and attention rows")
    parser.add_argument("--attention-window", type=int, default=8, help="K of the attention row")
    parser.add_argument("--members", type=int, default=8, help="models in the population rows")
    parser.add_argument("--population-hidden", type=int, nargs="+", default=[128], help="hidden sizes of the population rows")
    parser.add_argument("--population-layers", type=int, nargs="+", default=[1], help="layers of the population rows")
    parser.add_argument("--steps", type=int, default=150, help="optimizer steps per interleaved measurement")
    parser.add_argument("--windows", type=int, default=20, help="TBPTT windows per streams measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = Config()
    signals = generate(config.data, config.data.train_seed)
    x, y = (torch.from_numpy(a) for a in signals.rows())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; per-epoch seconds, median of {args.rounds} rounds")
    if args.mode in ("interleaved", "all"):
        rows = [
            interleaved_row(x, y, hidden, layers, batch, args.steps, args.rounds)
            for hidden in args.hidden
            for layers in args.layers
            for batch in args.batch
        ]
        print_table(f"interleaved ({x.shape[0]} rows, {args.steps} steps measured per round)", rows)
    if args.mode in ("options", "all"):
        rows = [
            interleaved_row(x, y, args.option_hidden, 1, 32, args.steps, args.rounds, cell, window)
            for cell, window in (("gru", 0), ("lstm", args.attention_window))
        ]
        print_table(f"interleaved model options, the engine's autograd path against nn.GRU / nn.LSTM ({args.steps} steps per round)", rows)
    if args.mode in ("population", "all"):
        rows = [
            population_row(x, y, args.members, args.steps, args.rounds, hidden, layers)
            for hidden in args.population_hidden
            for layers in args.population_layers
        ]
        print_table(f"population against solo runs one after another ({args.steps} steps measured per round)", rows)
    if args.mode in ("streams", "all"):
        rows = [streams_row(x, y, signals.n_frequencies, hidden, args.windows, args.rounds) for hidden in (64, 128, 256)]
        print_table(f"streams, segments 1 ({signals.n_samples} samples per sequence, {args.windows} windows measured per round)", rows)


if __name__ == "__main__":
    main()
