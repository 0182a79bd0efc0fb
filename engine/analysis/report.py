"""The configuration-evolution record, written from run folders: for each step (a run, or the repeats
of one configuration given together) what changed from the step before, why (its note), what it did
per frequency and the effect on test MSE with its 95 % interval and verdict; the parameter-evolution
table, the last step's per-frequency table, a ranking by validation MSE, and the figures that make
the case. report.json holds every number, report.csv and report.tex the effects as tables.
Every number is read from the runs' own metrics.json, never typed by hand."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine import __version__
from engine.analysis.effects import Effect, RunGroup, Step, Summary, Verdict, steps_of
from engine.analysis.findings import Findings, format_mse, times_text
from engine.analysis.tables import table_csv, table_latex
from engine.config.schema import NON_CAUSAL, SEED_KEYS, flat_values, format_number, is_execution_key, non_causal_reason
from engine.runs.metrics import RunMetrics
from engine.runs.notes import display_names, varying_keys
from engine.runs.run import RunError, RunRecord, load_run
from engine.storage.files import atomic_write_text
from engine.training.trainer import EndReason

ReportFigures = Callable[[list[RunRecord], Path, int], list[Path]]  # (runs, folder, dpi) -> the PNGs written
REPORT_FILE = "report.md"
JSON_FILE, CSV_FILE, TEX_FILE = "report.json", "report.csv", "report.tex"


def load_report_runs(folders: Sequence[Path]) -> list[RunRecord]:
    """The runs to report on, in the order given; a folder that is not a run is named and refused."""
    if not folders:
        raise RunError("report: no run folders given; allowed: one or more folders made by train")
    records = []
    for folder in folders:
        folder = Path(folder)
        if not (folder / "checkpoints").is_dir() or not (folder / "config.yaml").is_file():
            raise RunError(f"report: {folder} is not a run folder; allowed: a folder made by train (it holds config.yaml and checkpoints/)")
        records.append(load_run(folder))
    return records


def _percent(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, (int, float)) else "—"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub markdown table; pipes inside cells are escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *[line(row) for row in rows], ""]


def _title(record: RunRecord, name: str) -> str:
    """A run as the report names it: its name among the reported runs, and its folder."""
    return f"{name} (`{record.folder.name}`)" if name != record.folder.name else f"`{name}`"


def verdict(metrics: RunMetrics) -> str:
    """Quality against the references, the generalization rule (train vs test gap ≤ threshold) and memorisation, in one line."""
    found = Findings.of(metrics)
    if found is None:
        return f"no results: the run is {metrics.why_no_results()}"
    parts = []
    if found.share_of_zero is not None:
        parts.append(f"test MSE is {found.share_of_zero:.1%} of the zero-output level ({format_mse(found.zero_output_mse)})")
    if found.times_known is not None:
        parts.append(f"{times_text(found.times_known)} the known-model estimator's ({format_mse(found.known_model_mse)})")
    if found.extraction is not None:
        parts.append(f"extraction MSE {format_mse(found.extraction.mse)} on shifted starts")
    parts.append(f"generalization rule {found.rule} (gap {_percent(found.gap)})")
    if found.memorised is not None:
        parts.append("memorised" if found.memorised else "not memorised")
    return "; ".join(parts)


def _frequency_rows(found: Findings, known: bool = False) -> list[list[str]]:
    """Per frequency: train MSE, test MSE, gap and, with ``known``, the known-model estimator's MSE."""
    return [
        [
            f"{format_number(c.frequency_hz)} Hz",
            format_mse(c.train_mse),
            format_mse(c.test_mse),
            _percent(c.gap),
            *([format_mse(c.known_model_mse)] if known else []),
        ]
        for c in found.columns[1:]
    ]


ENDED: dict[EndReason, str] = {  # keyed by the enumeration metrics.json's ended_by is written from, so a new reason cannot go unnamed here
    EndReason.EPOCHS: "trained all its epochs",
    EndReason.TIME_BUDGET: "its time budget ran out",
    EndReason.PATIENCE: "ended early by training.patience (no better validation MSE)",
    EndReason.STOPPED: "stopped before its end (resumable)",
    EndReason.DIVERGED: "diverged",
    EndReason.PRUNED: "stopped by a sweep's pruner",
}


def ended(metrics: RunMetrics) -> str:
    """Why a run's training ended, in words (what metrics.json's ended_by says; older runs have none)."""
    return "" if metrics.ended_by is None else ENDED[metrics.ended_by]


def _known(value: Any) -> str:
    return "?" if value is None else str(value)


def _results(record: RunRecord) -> list[str]:
    m = record.metrics
    found = Findings.of(m)
    if found is None:
        return [f"_No results: the run is {m.why_no_results()}._", ""]
    rows = [["overall", format_mse(found.train_mse), format_mse(found.test_mse), _percent(found.gap)], *_frequency_rows(found)]
    seconds = m.wall_seconds
    facts = (
        f"{_known(m.epochs_completed)} epochs, best.pt at epoch {_known(m.best_epoch)} "
        f"(validation MSE {format_mse(m.validation_mse)}), {_known(m.mode)} mode, "
        + (f"{seconds:.3g} s of training" if seconds is not None else "training time unknown")
        + (f"; {ended(m)}" if ended(m) else "")
    )
    reason = _non_causal(record)
    marked = [f"**{reason[0].upper()}{reason[1:]}**: its MSE is no extractor's.", ""] if reason else []
    return [*marked, *_table(["", "train MSE", "test MSE", "gap"], rows), f"{facts}.", "", f"**Verdict:** {verdict(m)}.", ""]


def _non_causal(record: RunRecord) -> str | None:
    """Why a run's outputs see the future (None: causal, or a run whose config cannot be read)."""
    return non_causal_reason(record.config) if record.config is not None else None


def spread(summary: Summary) -> str:
    """A group's metric as the report writes it: mean ± standard deviation (n)."""
    if summary.mean is None:
        return "—"
    mean, std = format_mse(summary.mean), format_mse(summary.std)
    return f"{mean} ± {std} (n = {summary.n})" if summary.std is not None else f"{mean} (n = 1)"


def _group_results(group: RunGroup, names: dict[int, str]) -> list[str]:
    """A step of several repeats: each run's numbers, then each metric's mean ± std over them."""
    rows = []
    for r in group.runs:
        m = r.metrics
        seed = r.config.model.seed if r.config is not None else "?"
        row = [str(seed), m.why_no_results(), format_mse(r.metrics.test_mse), format_mse(m.validation_mse), ended(m) or "—"]
        rows.append([_title(r, names[id(r)]), *row])
    lines = _table(["run", "model seed", "status", "test MSE", "validation MSE", "ended"], rows)
    summaries = [["overall", spread(group.test_mse())]]
    summaries += [[f"{format_number(f)} Hz", spread(group.test_mse_at(f))] for f in group.frequencies()]
    return [*lines, *_table(["", "test MSE (mean ± std over the repeats)"], summaries)]


def _changes(step: Step) -> list[str]:
    first = step.group.runs[0]
    if first.config is None:
        return ["_Its config.yaml cannot be read._", ""]
    if step.previous is None or step.previous.config is None:
        changed = [(k, old, new) for k, old, new in first.notes.changes if not is_execution_key(k) and k not in SEED_KEYS]
        source = first.notes.started_from or "its config file"
        if not changed:
            return [f"The starting point: {source} as it is.", ""]
        head = f"The starting point: {source} with these changes:"
    else:
        changed = step.changes
        if not changed:
            return ["Same settings as the step before (more repeats of the same experiment).", ""]
        head = "Changed from the step before:"
    rows = [[f"`{key}`", format_number(old), format_number(new)] for key, old, new in changed]
    return [head, "", *_table(["setting", "before", "after"], rows)]


def _effect_row(label: str, e: Effect) -> list[str]:
    interval = f"[{format_mse(e.ci95[0], signed=True)}, {format_mse(e.ci95[1], signed=True)}]" if e.ci95 is not None else "—"
    percent = f"{e.delta_pct:+.1f} %" if e.delta_pct is not None else "—"
    needed = str(e.seeds_needed) if e.seeds_needed is not None else "—"
    return [label, spread(e.before), spread(e.after), format_mse(e.delta, signed=True), percent, interval, f"**{e.verdict.value}**", needed]


def _effects(step: Step, overall: Effect) -> list[str]:
    """The effect of the step on test MSE overall (``overall``) and per frequency, with what would resolve it."""
    rows = [_effect_row("test MSE", overall), *[_effect_row(f"{format_number(f)} Hz", e) for f, e in step.per_frequency().items()]]
    header = ["", "before", "after", "Δ", "Δ %", "95 % interval", "verdict", "seeds a side to resolve"]
    lines = ["**Effect on test MSE** (Δ = after − before; Welch's 95 % interval; lower is better):", "", *_table(header, rows)]
    if overall.verdict in (Verdict.WITHIN_NOISE, Verdict.CANNOT_TELL):
        lines += [_resolve(overall), ""]
    return lines


def _resolve(e: Effect) -> str:
    """What would turn an unresolved effect into better or worse."""
    state = "is within noise" if e.verdict is Verdict.WITHIN_NOISE else "cannot be told from seed noise with one run on a side"
    if e.seeds_needed is not None:
        return (
            f"Overall the change {state}: about {e.seeds_needed} seeds a side (`train --repeats {e.seeds_needed}`) "
            f"would resolve an effect of the size observed ({format_mse(e.delta, signed=True)}) at 80 % power, two-sided 5 %."
        )
    if e.before.n < 2 and e.after.n < 2:
        return (
            "Overall the change cannot be told from seed noise: one run a side has no spread (the seed alone moves test MSE "
            "by about 40 % on this problem); train each side with `--repeats 2` or more."
        )
    return f"Overall the change {state}, and the runs show no difference to size the seeds that would resolve it."


def evolution_table(steps: list[Step], titles: list[str]) -> tuple[list[str], list[list[str]], int]:
    """The parameter-evolution table: (header, rows, how many of the rows are settings); one column per
    step, one row per setting that differs among them, then test MSE as mean ± std and n."""
    configs = [s.group.config for s in steps]
    keys = [k for k in varying_keys(configs) if not is_execution_key(k) and k not in SEED_KEYS]
    values = [flat_values(c) if c is not None else {} for c in configs]
    header = ["setting", *[f"{k + 1}. {title}" for k, title in enumerate(titles)]]
    rows = [[key, *[format_number(v[key]) if key in v else "?" for v in values]] for key in keys]
    rows.append(["test MSE (mean ± std)", *[spread(s.group.test_mse()).split(" (n")[0] for s in steps]])
    rows.append(["n", *[str(s.group.test_mse().n) for s in steps]])
    return header, rows, len(keys)


def _evolution(steps: list[Step], titles: list[str]) -> list[str]:
    header, rows, settings = evolution_table(steps, titles)
    rows = [[f"`{row[0]}`", *row[1:]] if k < settings else row for k, row in enumerate(rows)]
    return [*([] if settings else ["All steps share the same settings.", ""]), *_table(header, rows)]


def _final(step: Step, title: str) -> list[str]:
    group = step.group
    if len(group.runs) == 1:
        found = Findings.of(group.runs[0].metrics)
        if found is None:
            return [f"_The last run, {title}, has no results._", ""]
        header = ["frequency", "train MSE", "test MSE", "gap", "known-model MSE"]
        return [f"The last run, {title}:", "", *_table(header, _frequency_rows(found, known=True))]
    rows = [[f"{format_number(f)} Hz", spread(group.test_mse_at(f))] for f in group.frequencies()]
    return [f"The last step, {title}:", "", *_table(["frequency", "test MSE (mean ± std over the repeats)"], rows)]


def _ranking(records: list[RunRecord], titles: list[str]) -> list[str]:
    titled = dict(zip(map(id, records), titles, strict=True))
    scored = sorted((r for r in records if r.metrics.validation_mse is not None), key=lambda r: r.metrics.validation_mse or 0.0)
    if not scored:
        return ["No run selected its best.pt by validation MSE, so none can be ranked by it.", ""]
    rows = [
        [
            str(k + 1),
            titled[id(r)] + (f", {NON_CAUSAL}" if _non_causal(r) else ""),
            format_mse(r.metrics.validation_mse),
            format_mse(r.metrics.test_mse),
        ]
        for k, r in enumerate(scored)
    ]
    lines = _table(["rank", "run", "validation MSE", "test MSE"], rows)
    left_out = [r for r in records if r not in scored]
    if left_out:
        lines += [f"Not ranked (no validation MSE): {', '.join(titled[id(r)] for r in left_out)}.", ""]
    return lines


SEED_SUFFIX = re.compile(r" \(seed \d+\)$")


def _step_titles(steps: list[Step]) -> list[str]:
    """Each step as the report names it: its run, or its configuration's name (among the steps' first
    runs, so not by seed) and how many seeds, with their folders."""
    firsts = [step.group.runs[0] for step in steps]
    titles = []
    for step, name in zip(steps, display_names(firsts), strict=True):
        runs = step.group.runs
        if len(runs) == 1:
            titles.append(_title(runs[0], name))
        else:
            titles.append(f"{SEED_SUFFIX.sub('', name)}: {len(runs)} seeds ({', '.join(f'`{r.folder.name}`' for r in runs)})")
    return titles


def report_markdown(records: list[RunRecord], figures: list[Path]) -> str:
    """The record as GitHub markdown; ``figures`` are PNGs beside it."""
    steps = steps_of(records)
    lines = [
        f"# Configuration evolution: {len(records)} run{'s' if len(records) != 1 else ''} in {len(steps)} "
        f"step{'s' if len(steps) != 1 else ''}",
        "",
        f"Written by the LSTM Frequency Extraction Workbench {__version__} on {time.strftime('%Y-%m-%d %H:%M')}. "
        "Every number below is read from the runs' own `metrics.json`. Runs that differ only in their seeds, given "
        "together, are one step; an effect is stated only where its 95 % interval excludes 0.",
        "",
        "## Experiment timeline",
        "",
    ]
    names = dict(zip(map(id, records), display_names(records), strict=True))
    titles = _step_titles(steps)
    for k, step in enumerate(steps):
        lines += [f"### {k + 1}. {titles[k]}", ""]
        lines += _changes(step)
        note = step.group.note
        lines += [f"**Reason:** {note}" if note else "**Reason:** _no note given_", ""]
        for r in step.group.runs:
            if r.notes.imported_from:
                lines += [f"Imported from `{r.notes.imported_from}`; evaluated by the workbench's own protocol.", ""]
        lines += _results(step.group.runs[0]) if len(step.group.runs) == 1 else _group_results(step.group, names)
        if (overall := step.test_mse()) is not None:  # every step but the first
            lines += _effects(step, overall)
    lines += ["## Parameter evolution", "", *_evolution(steps, titles)]
    lines += ["## Final configuration per frequency", "", *_final(steps[-1], titles[-1])]
    lines += ["## Ranking by validation MSE", "", "The test set never chooses: runs are ranked on the validation set.", ""]
    lines += _ranking(records, [_title(r, names[id(r)]) for r in records])
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem.replace('_', ' ')}]({path.name})\n" for path in figures]
    return "\n".join(lines).rstrip() + "\n"


# ----- every number, as data -----------------------------------------------------------------------
def _side(group: RunGroup, summary: Summary) -> dict[str, Any]:
    return {"runs": [str(r.folder) for r in group.runs], **summary.to_dict()}


def _effect_dict(previous: RunGroup, group: RunGroup, before: Summary, after: Summary) -> dict[str, Any]:
    return {"before": _side(previous, before), "after": _side(group, after), **Effect(before, after).to_dict()}


def report_data(records: list[RunRecord]) -> dict[str, Any]:
    """Every number of the record: the runs, the first step, and each later step's effect on test MSE
    overall and per frequency (before and after: the runs, n, mean and std; delta, delta_pct, ci95, verdict)."""
    steps = steps_of(records)
    first = steps[0].group
    data: dict[str, Any] = {
        "written_by": f"LSTM Frequency Extraction Workbench {__version__}",
        "runs": [
            {
                "folder": str(r.folder),
                "name": r.name,
                "status": r.metrics.why_no_results() if r.metrics.results is None else r.metrics.status.value,
                "ended_by": None if r.metrics.ended_by is None else r.metrics.ended_by.value,
                "test_mse": r.metrics.test_mse,
            }
            for r in records
        ],
        "start": {"note": first.note, **_side(first, first.test_mse())},
        "steps": [],
    }
    for step in steps[1:]:
        previous, group = step.previous, step.group
        assert previous is not None  # only the first step has none
        entry = {
            "note": group.note,
            "settings": {key: [old, new] for key, old, new in step.changes},
            **_effect_dict(previous, group, previous.test_mse(), group.test_mse()),
            "per_frequency": [
                {"frequency_hz": f, **_effect_dict(previous, group, previous.test_mse_at(f), group.test_mse_at(f))}
                for f in step.per_frequency()
            ],
        }
        data["steps"].append(entry)
    return data


EFFECT_HEADER = [
    "step",
    "metric",
    "settings changed",
    "before n",
    "before mean",
    "before std",
    "after n",
    "after mean",
    "after std",
    "delta",
    "delta %",
    "ci95 low",
    "ci95 high",
    "verdict",
    "seeds a side to resolve",
]


def effect_rows(data: dict[str, Any]) -> list[list[Any]]:
    """report.json's effects as table rows: one per step and metric (overall, then each frequency)."""
    rows = []
    for k, step in enumerate(data["steps"]):
        changed = "; ".join(f"{key}: {format_number(old)} -> {format_number(new)}" for key, (old, new) in step["settings"].items())
        metrics = [("test MSE", step), *[(f"test MSE {format_number(p['frequency_hz'])} Hz", p) for p in step["per_frequency"]]]
        for label, e in metrics:
            low, high = e["ci95"] if e["ci95"] is not None else (None, None)
            sides = [e[side][key] for side in ("before", "after") for key in ("n", "mean", "std")]
            rows.append([k + 2, label, changed, *sides, e["delta"], e["delta_pct"], low, high, e["verdict"], e["seeds_to_resolve"]])
    return rows


def _latex(records: list[RunRecord], rows: list[list[Any]]) -> str:
    """report.tex: the effects table and the parameter-evolution table (LaTeX with booktabs)."""
    steps = steps_of(records)
    header, evolution, _ = evolution_table(steps, [title.replace("`", "") for title in _step_titles(steps)])
    return "\n".join(
        [
            "% The report's tables; \\usepackage{booktabs} in the preamble.",
            "% Effects on test MSE, step by step (delta = after - before; Welch's 95 % interval)",
            table_latex(EFFECT_HEADER, rows, significant=4),
            "% Parameter evolution",
            table_latex(header, evolution),
        ]
    )


def write_report(folders: Sequence[Path], out: Path, figures: ReportFigures | None = None) -> Path:
    """Write ``out``/report.md (its PNGs, report.json, report.csv and report.tex beside it) for the runs in
    ``folders``, in the order given; returns report.md's path."""
    records = load_report_runs(folders)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        configs = [r.config for r in records if r.config is not None]
        dpi = configs[-1].visualization.dpi if configs else 150
        written = figures(records, out, dpi) if figures is not None else []
        data = report_data(records)
        rows = effect_rows(data)
        atomic_write_text(out / JSON_FILE, json.dumps(data, indent=2) + "\n")
        atomic_write_text(out / CSV_FILE, table_csv(EFFECT_HEADER, rows))
        atomic_write_text(out / TEX_FILE, _latex(records, rows))
        path = out / REPORT_FILE
        atomic_write_text(path, report_markdown(records, written))
    except OSError as exc:
        raise RunError(f"report: cannot write into {out} ({exc.strerror or exc})") from None
    return path
