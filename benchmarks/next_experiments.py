"""The experiments configuration-evolution.md lists next, each over several model seeds, against a baseline.

    python -m benchmarks.next_experiments --config config.yaml --runs-dir DIR [--repeats 3] [--only NAME ...]
    python -m benchmarks.next_experiments --summarise DIR

Each variant is one `python main.py train --config CONFIG --repeats N --name NAME --set ...` (graphs off,
one thread per process), its run folders in DIR. The summary groups DIR's runs by name and prints, per
group, the test MSE overall and at each frequency as mean ± standard deviation over the seeds, the
extraction MSE (test draws that start at random moments), and the effect on the test MSE against the
group named "baseline" with its 95 % Welch interval and verdict (better, worse or within noise), overall
and at the worst frequency of the baseline. A bidirectional model sees the future: its row is marked a
non-causal reference, a bound rather than a competitor.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from engine.analysis.effects import Effect, RunGroup, Summary, summarize
from engine.config.schema import NON_CAUSAL, format_number
from engine.runs.run import list_runs, load_run

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "baseline"

# (name, overrides): the list closing configuration-evolution.md, as settings
VARIANTS: dict[str, list[str]] = {
    BASELINE: [],
    "hidden-256": ["model.hidden_size=256"],
    "layers-2": ["model.num_layers=2"],
    "layers-3": ["model.num_layers=3"],
    "step-50": ["training.lr_schedule=step", "training.lr_milestones=[50]", "training.lr_gamma=0.1"],  # x0.1 after epoch 50
    "gru": ["model.cell=gru"],
    "attention-16": ["model.attention_window=16"],  # the last 16 top states
    "streams": ["training.mode=streams"],  # the traversal the bidirectional bound needs, alone: its control
    "bidirectional": ["training.mode=streams", "model.bidirectional=true"],
}

CONTROLS = {"bidirectional": "streams"}  # compared with the group that differs from it in one setting


def train(config: Path, runs_dir: Path, repeats: int, names: list[str]) -> None:
    """Each named variant as one command, in turn (a variant's seeds train together where the engine can)."""
    for name in names:
        sets = [arg for o in [*VARIANTS[name], "training.num_threads=1"] for arg in ("--set", o)]
        command = [sys.executable, "main.py", "train", "--config", str(config), "--repeats", str(repeats), "--name", name]
        command += [*sets, "--no-graphs", "--runs-dir", str(runs_dir)]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def groups_by_name(runs_dir: Path) -> dict[str, RunGroup]:
    """DIR's finished runs, grouped by the name they were trained under."""
    by_name: dict[str, list] = {}
    for folder in list_runs(runs_dir):
        record = load_run(folder)
        if record.metrics.results is not None:
            name = re.sub(r" \(seed \d+\)$", "", record.notes.name) or folder.name  # repeats are named "NAME (seed k)"
            by_name.setdefault(name, []).append(record)
    return {name: RunGroup(tuple(records), name) for name, records in by_name.items()}


def shown(summary: Summary) -> str:
    if summary.mean is None:
        return "—"
    return f"{summary.mean:.4f} ± {summary.std:.4f}" if summary.std is not None else f"{summary.mean:.4f}"


def shown_effect(e: Effect) -> str:
    if e.delta_pct is None:
        return "—"
    interval = e.ci95
    where = "" if interval is None else f" [{interval[0]:+.4f}, {interval[1]:+.4f}]"
    return f"{e.delta_pct:+.0f} %{where}, {e.verdict.value}"


def extraction(group: RunGroup) -> Summary:
    return summarize([r.metrics.shifted.mse for r in group.runs if r.metrics.shifted is not None])


def ordered(groups: dict[str, RunGroup]) -> list[str]:
    """The baseline first, then the variants in the order above, then any other group by name."""
    return [n for n in VARIANTS if n in groups] + sorted(n for n in groups if n not in VARIANTS)


def labelled(name: str, group: RunGroup) -> str:
    causal = group.config is None or group.config.model.is_causal
    return name if causal else f"{name} ({NON_CAUSAL})"


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows)]


def results_table(groups: dict[str, RunGroup]) -> list[str]:
    """Mean ± std over the seeds: test MSE overall and per frequency, and the extraction MSE."""
    frequencies = sorted({f for g in groups.values() for f in g.frequencies()})
    header = ["variant", "seeds", "test MSE", *(f"{format_number(f)} Hz" for f in frequencies), "extraction MSE"]
    rows = []
    for name in ordered(groups):
        g = groups[name]
        per_frequency = [shown(g.test_mse_at(f)) for f in frequencies]
        rows.append([labelled(name, g), str(g.test_mse().n), shown(g.test_mse()), *per_frequency, shown(extraction(g))])
    return markdown(header, rows)


def effects_table(groups: dict[str, RunGroup]) -> list[str]:
    """Each variant's change of the test MSE against its reference (the baseline, or the control that
    differs from it in one setting), overall and per frequency, with its verdict."""
    if BASELINE not in groups:
        return [f"(no group named {BASELINE!r}: no effects)"]
    frequencies = groups[BASELINE].frequencies()
    header = ["variant", "against", "test MSE", *(f"{format_number(f)} Hz" for f in frequencies), "extraction MSE"]
    rows = []
    for name in ordered(groups)[1:]:  # the baseline leads
        g = groups[name]
        against = CONTROLS.get(name) if CONTROLS.get(name) in groups else BASELINE
        ref = groups[against]
        cells = [shown_effect(Effect(ref.test_mse(), g.test_mse()))]
        cells += [shown_effect(Effect(ref.test_mse_at(f), g.test_mse_at(f))) for f in frequencies]
        rows.append([labelled(name, g), against, *cells, shown_effect(Effect(extraction(ref), extraction(g)))])
    return markdown(header, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--runs-dir", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", action="append", choices=list(VARIANTS), help="train only these variants (repeat)")
    parser.add_argument("--summarise", type=Path, metavar="DIR", help="print the table of runs already in DIR; train nothing")
    args = parser.parse_args(argv)
    if args.summarise is None:
        if args.runs_dir is None:
            parser.error("--runs-dir: a folder for the run folders is needed to train")
        train(args.config.resolve(), args.runs_dir.resolve(), args.repeats, args.only or list(VARIANTS))
    groups = groups_by_name(args.summarise or args.runs_dir)
    print("\n".join([*results_table(groups), "", *effects_table(groups)]))


if __name__ == "__main__":
    main()
