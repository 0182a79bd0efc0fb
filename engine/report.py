"""The configuration-evolution record, written from run folders: for each run what changed from the
one before, why (its note) and what it did per frequency; the parameter-evolution table, the last
run's per-frequency table, a ranking by validation MSE, and the figures that make the case.
Every number is read from the runs' own metrics.json, never typed by hand."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine import __version__
from engine.config import config_changes, flat_values, format_number
from engine.experiments import display_names, per_frequency_mse, varying_keys
from engine.files import atomic_write_text
from engine.runs import RunError, RunRecord, load_run, why_no_results

ReportFigures = Callable[[list[RunRecord], Path, int], list[Path]]  # (runs, folder, dpi) -> the PNGs written
REPORT_FILE = "report.md"


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


def mse(value: Any) -> str:
    """An MSE as the report writes it: five decimals, or three significant digits below 0.001."""
    if not isinstance(value, (int, float)):
        return "—"
    return f"{value:.5f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.3e}"


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


def verdict(metrics: dict[str, Any]) -> str:
    """Quality against the references, the user's generalization rule and memorisation, in one line."""
    if "test" not in metrics:
        return f"no results: the run is {why_no_results(metrics)}"
    parts = []
    reference = metrics.get("reference", {})
    zero, known = reference.get("zero_output_mse"), reference.get("known_model_mse")
    if zero:
        parts.append(f"test MSE is {metrics['test']['mse'] / zero:.1%} of the zero-output level ({mse(zero)})")
    if known:
        times = metrics["test"]["mse"] / known
        parts.append(
            f"{times:.0f}× the known-model estimator's ({mse(known)})"
            if times >= 10
            else f"{times:.2g}× the known-model estimator's ({mse(known)})"
        )
    shifted = metrics.get("shifted")
    if isinstance(shifted, dict) and "mse" in shifted:
        parts.append(f"extraction MSE {mse(shifted['mse'])} on shifted starts")
    if "generalization_pass" in metrics:
        rule = "PASS" if metrics["generalization_pass"] else "FAIL"
        parts.append(f"generalization rule {rule} (gap {_percent(metrics.get('generalization_gap'))})")
    if "memorisation" in metrics:
        parts.append("memorised" if metrics["memorisation"].get("memorised") else "not memorised")
    return "; ".join(parts)


def _frequency_rows(m: dict[str, Any], known: bool = False) -> list[list[str]]:
    """Per frequency: train MSE, test MSE, gap and, with ``known``, the known-model estimator's MSE."""
    train, test = per_frequency_mse(m, "train"), per_frequency_mse(m, "test")
    gaps = {row["frequency_hz"]: row["gap"] for row in m.get("generalization_gap_per_frequency", [])}
    limits = {row["frequency_hz"]: row.get("known_model_mse") for row in m.get("reference", {}).get("per_frequency", [])}
    return [
        [f"{format_number(f)} Hz", mse(train.get(f)), mse(test[f]), _percent(gaps.get(f)), *([mse(limits.get(f))] if known else [])]
        for f in test
    ]


def _results(record: RunRecord) -> list[str]:
    m = record.metrics
    if "test" not in m:
        return [f"_No results: the run is {why_no_results(m)}._", ""]
    rows = [["overall", mse(m["train"]["mse"]), mse(m["test"]["mse"]), _percent(m.get("generalization_gap"))], *_frequency_rows(m)]
    seconds = m.get("wall_seconds")
    facts = (
        f"{m.get('epochs_completed', '?')} epochs, best.pt at epoch {m.get('best_epoch', '?')} "
        f"(validation MSE {mse(m.get('validation_mse'))}), {m.get('mode', '?')} mode, "
        + (f"{seconds:.3g} s of training" if isinstance(seconds, (int, float)) else "training time unknown")
    )
    return [*_table(["", "train MSE", "test MSE", "gap"], rows), f"{facts}.", "", f"**Verdict:** {verdict(m)}.", ""]


def _changes(previous: RunRecord | None, record: RunRecord) -> list[str]:
    if record.config is None:
        return ["_Its config.yaml cannot be read._", ""]
    if previous is None or previous.config is None:
        changed = [(k, old, new) for k, old, new in record.notes.changes]
        source = record.notes.started_from or "its config file"
        if not changed:
            return [f"The starting point: {source} as it is.", ""]
        head = f"The starting point: {source} with these changes:"
    else:
        changed = config_changes(previous.config, record.config)
        if not changed:
            return ["Same settings as the run before (another attempt of the same experiment).", ""]
        head = "Changed from the run before:"
    rows = [[f"`{key}`", format_number(old), format_number(new)] for key, old, new in changed]
    return [head, "", *_table(["setting", "before", "after"], rows)]


def _evolution(records: list[RunRecord], names: list[str]) -> list[str]:
    keys = varying_keys([r.config for r in records])
    if not keys:
        return ["All runs share the same settings.", ""]
    values = [flat_values(r.config) if r.config is not None else {} for r in records]
    header = ["setting", *[f"{k + 1}. {name}" for k, name in enumerate(names)]]
    return _table(header, [[f"`{key}`", *[format_number(v[key]) if key in v else "?" for v in values]] for key in keys])


def _final(record: RunRecord, title: str) -> list[str]:
    m = record.metrics
    if "test" not in m:
        return [f"_The last run, {title}, has no results._", ""]
    header = ["frequency", "train MSE", "test MSE", "gap", "known-model MSE"]
    return [f"The last run, {title}:", "", *_table(header, _frequency_rows(m, known=True))]


def _ranking(records: list[RunRecord], titles: list[str]) -> list[str]:
    titled = dict(zip(map(id, records), titles, strict=True))
    scored = [r for r in records if isinstance(r.metrics.get("validation_mse"), (int, float))]
    if not scored:
        return ["No run selected its best.pt by validation MSE, so none can be ranked by it.", ""]
    scored.sort(key=lambda r: r.metrics["validation_mse"])
    rows = [
        [str(k + 1), titled[id(r)], mse(r.metrics["validation_mse"]), mse(r.metrics.get("test", {}).get("mse"))]
        for k, r in enumerate(scored)
    ]
    lines = _table(["rank", "run", "validation MSE", "test MSE"], rows)
    left_out = [r for r in records if r not in scored]
    if left_out:
        lines += [f"Not ranked (no validation MSE): {', '.join(titled[id(r)] for r in left_out)}.", ""]
    return lines


def report_markdown(records: list[RunRecord], figures: list[Path]) -> str:
    """The record as GitHub markdown; ``figures`` are PNGs beside it."""
    lines = [
        f"# Configuration evolution: {len(records)} run{'s' if len(records) != 1 else ''}",
        "",
        f"Written by the LSTM Frequency Extraction Workbench {__version__} on {time.strftime('%Y-%m-%d %H:%M')}. "
        "Every number below is read from the runs' own `metrics.json`.",
        "",
        "## Experiment timeline",
        "",
    ]
    names = display_names(records)
    titles = [_title(record, name) for record, name in zip(records, names, strict=True)]
    for k, record in enumerate(records):
        lines += [f"### {k + 1}. {titles[k]}", ""]
        lines += _changes(records[k - 1] if k else None, record)
        lines += [f"**Reason:** {record.notes.note.strip()}" if record.notes.note.strip() else "**Reason:** _no note given_", ""]
        if record.notes.imported_from:
            lines += [f"Imported from `{record.notes.imported_from}`; evaluated by the workbench's own protocol.", ""]
        lines += _results(record)
    lines += ["## Parameter evolution", "", *_evolution(records, names)]
    lines += ["## Final configuration per frequency", "", *_final(records[-1], titles[-1])]
    lines += ["## Ranking by validation MSE", "", "The test set never chooses: runs are ranked on the validation set.", ""]
    lines += _ranking(records, titles)
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem.replace('_', ' ')}]({path.name})\n" for path in figures]
    return "\n".join(lines).rstrip() + "\n"


def write_report(folders: Sequence[Path], out: Path, figures: ReportFigures | None = None) -> Path:
    """Write ``out``/report.md (and its PNGs beside it) for the runs in ``folders``; returns its path."""
    records = load_report_runs(folders)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        configs = [r.config for r in records if r.config is not None]
        dpi = configs[-1].visualization.dpi if configs else 150
        written = figures(records, out, dpi) if figures is not None else []
        path = out / REPORT_FILE
        atomic_write_text(path, report_markdown(records, written))
    except OSError as exc:
        raise RunError(f"report: cannot write into {out} ({exc.strerror or exc})") from None
    return path
