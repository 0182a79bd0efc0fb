"""The configuration-evolution report: every number from the runs' metrics.json, in the shape of the configuration record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

import main
from engine.analysis.findings import format_mse as mse
from engine.analysis.report import REPORT_FILE
from engine.runs.notes import RunNotes
from engine.runs.run import Run
from tests.conftest import small_config


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory) -> list[Path]:
    """Hidden 16, 32, 8 (in that order of experiments), notes as reasons."""
    tmp = tmp_path_factory.mktemp("report")
    folders = []
    for hidden, note in ((16, "the baseline"), (32, "more capacity for 7 Hz"), (8, "is a tiny model enough?")):
        config = small_config(tmp, "training.num_epochs=2", f"model.hidden_size={hidden}")
        run = Run.start(config, notes=RunNotes(name=f"hidden {hidden}", note=note))
        list(run.epochs())
        run.finish()
        folders.append(run.folder)
    return folders


def tables(markdown: str) -> list[list[list[str]]]:
    """Every markdown table as rows of cells (header first, the separator dropped)."""
    found, current = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                current.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif current:
            found.append(current)
            current = []
    return found


def test_the_report_reads_every_number_from_the_runs_and_keeps_their_order(three_runs, tmp_path, capsys):
    out = tmp_path / "report"
    assert main.cli_main(["report", *map(str, three_runs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(out / REPORT_FILE)
    text = (out / REPORT_FILE).read_text()
    metrics = [json.loads((f / "metrics.json").read_text()) for f in three_runs]
    headings = re.findall(r"^### (\d+)\. (.*)$", text, flags=re.M)
    assert [h[1].split(" (")[0] for h in headings] == ["hidden 16", "hidden 32", "hidden 8"]
    assert "**Reason:** more capacity for 7 Hz" in text
    result_tables = [t for t in tables(text) if t[0] == ["", "train MSE", "test MSE", "gap"]]
    assert len(result_tables) == 3
    for table, m in zip(result_tables, metrics, strict=True):
        assert table[1][:3] == ["overall", mse(m["train"]["mse"]), mse(m["test"]["mse"])]
        assert [row[2] for row in table[2:]] == [mse(row["mse"]) for row in m["test"]["per_frequency"]]
    changes = [t for t in tables(text) if t[0] == ["setting", "before", "after"]]
    assert ["`model.hidden_size`", "16", "32"] in changes[0] and ["`model.hidden_size`", "32", "8"] in changes[1]
    evolution = next(t for t in tables(text) if t[0][0] == "setting" and len(t[0]) == 4)
    assert evolution[1] == ["`model.hidden_size`", "16", "32", "8"]
    ranking = next(t for t in tables(text) if t[0][:3] == ["rank", "run", "validation MSE"])
    expected = sorted(metrics, key=lambda m: m["validation_mse"])
    assert [row[2] for row in ranking[1:]] == [mse(m["validation_mse"]) for m in expected]
    final = next(t for t in tables(text) if t[0][0] == "frequency")
    assert [row[2] for row in final[1:]] == [mse(row["mse"]) for row in metrics[-1]["test"]["per_frequency"]]
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) == 3 and all((out / name).is_file() for name in images)
    image = QImage(str(out / images[0]))
    assert image.width() == (10 * 50) and round(image.dotsPerMeterX() * 0.0254) == 50  # the runs' dpi


@pytest.mark.parametrize("args", [[], ["{tmp}"], ["{run}", "{tmp}/missing"]])
def test_bad_input_is_one_line_and_exit_2_and_nothing_written(three_runs, tmp_path, capsys, args):
    args = [a.format(tmp=tmp_path, run=three_runs[0]) for a in args]
    assert main.cli_main(["report", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: report:") and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists()


def test_an_unfinished_run_is_reported_without_results(tmp_path):
    run = Run.start(small_config(tmp_path, "training.num_epochs=5"))
    for report in run.epochs():
        if report.epoch == 1:
            break
    assert main.cli_main(["report", str(run.folder), "--out", str(tmp_path / "r"), "--no-graphs"]) == 0
    text = (tmp_path / "r" / REPORT_FILE).read_text()
    assert "No results: the run is unfinished" in text and "## Figures" not in text


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: None,
        lambda m: [1, 2],
        lambda m: {k: v for k, v in m.items() if k != "train"},
        lambda m: {**m, "test": 5},
        lambda m: {**m, "test": {**m["test"], "per_frequency": [{"frequency_hz": "a", "mse": 0.1}]}},
        lambda m: {**m, "reference": {"zero_output_mse": "x"}},
        lambda m: {**m, "memorisation": {"per_frequency": 3}},
    ],
)
def test_a_metrics_file_of_the_wrong_shape_is_reported_as_damaged_not_a_traceback(three_runs, tmp_path, damage):
    import shutil

    from engine.runs.run import load_run

    folder = tmp_path / "damaged"
    shutil.copytree(three_runs[0], folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps(damage(metrics)))
    assert load_run(folder).metrics.status == "damaged"
    assert main.cli_main(["report", str(folder), str(three_runs[1]), "--out", str(tmp_path / "r"), "--no-graphs"]) == 0
    text = (tmp_path / "r" / REPORT_FILE).read_text()
    healthy = json.loads((three_runs[1] / "metrics.json").read_text())
    assert "No results: the run is damaged (metrics.json: " in text and mse(healthy["test"]["mse"]) in text


def fake_run(folder: Path, config, test: float, per: list[float], note: str = "", ended_by: str = "epochs") -> Path:
    """A finished run folder with chosen numbers: its metrics.json as the engine writes it, nothing trained."""
    from engine.config.schema import dump_config
    from engine.runs.notes import write_notes

    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(dump_config(config))
    write_notes(folder, RunNotes(note=note))
    rows = [{"frequency_hz": f, "mse": m} for f, m in zip(config.data.frequencies, per, strict=True)]
    scores = {"mse": test, "per_frequency": rows}
    metrics = {
        "status": "completed",
        "ended_by": ended_by,
        "train": scores,
        "test": scores,
        "validation_mse": test,
        "generalization_gap": 0.0,
        "generalization_pass": True,
        "generalization_gap_per_frequency": [{"frequency_hz": f, "gap": 0.0} for f in config.data.frequencies],
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_repeats_given_together_are_one_step_and_report_json_holds_each_effect_computed_from_the_runs(tmp_path):
    import math

    from scipy import stats

    from engine.config.schema import apply_overrides

    base = small_config(tmp_path, "data.frequencies=[1, 3]", "model.input_size=3")
    wide = apply_overrides(base, ["model.hidden_size=32"])
    tiny = apply_overrides(base, ["model.hidden_size=8"])
    runs = tmp_path / "runs"
    a = [
        fake_run(runs / "a0", base, 1.0, [1.0, 2.0]),
        fake_run(runs / "a1", apply_overrides(base, ["model.seed=1", "training.num_threads=1"]), 2.0, [2.0, 2.0]),
    ]
    a.append(fake_run(runs / "a2", apply_overrides(base, ["model.seed=2"]), 3.0, [3.0, 2.0]))
    b = [
        fake_run(runs / f"b{k}", apply_overrides(wide, [f"model.seed={k}"]), v, [v, 9.0], "wider")
        for k, v in enumerate([2.0, 4.0, 6.0, 8.0])
    ]
    c = [fake_run(runs / "c0", tiny, 0.5, [0.5, 0.5], "is tiny enough?", ended_by="patience")]
    out = tmp_path / "report"
    assert main.cli_main(["report", *map(str, a + b + c), "--out", str(out), "--no-graphs"]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["start"]["runs"] == list(map(str, a)) and data["start"]["n"] == 3 and data["start"]["mean"] == 2.0
    first, second = data["steps"]
    assert first["settings"] == {"model.hidden_size": [16, 32]} and first["note"] == "wider"  # never num_threads
    assert first["before"]["runs"] == list(map(str, a)) and first["after"]["runs"] == list(map(str, b))
    tests_a = [json.loads((f / "metrics.json").read_text())["test"]["mse"] for f in a]
    tests_b = [json.loads((f / "metrics.json").read_text())["test"]["mse"] for f in b]
    assert (first["before"]["n"], first["before"]["mean"], first["before"]["std"]) == (3, 2.0, 1.0)
    assert first["after"]["mean"] == sum(tests_b) / 4 and first["after"]["std"] == pytest.approx(math.sqrt(20 / 3))
    nu = 2.0**2 / ((1 / 3) ** 2 / 2 + (5 / 3) ** 2 / 3)
    half = stats.t.ppf(0.975, nu) * math.sqrt(2.0)
    assert first["delta"] == sum(tests_b) / 4 - sum(tests_a) / 3 and first["delta_pct"] == pytest.approx(150.0)
    assert first["ci95"] == pytest.approx([3.0 - half, 3.0 + half]) and first["verdict"] == "within noise"
    assert first["seeds_to_resolve"] == 8
    at3 = next(p for p in first["per_frequency"] if p["frequency_hz"] == 3.0)
    assert at3["before"]["mean"] == 2.0 and at3["before"]["std"] == 0.0 and at3["after"]["mean"] == 9.0 and at3["verdict"] == "worse"
    assert second["settings"] == {"model.hidden_size": [32, 8]} and second["verdict"] == "cannot tell" and second["after"]["n"] == 1
    text = (out / REPORT_FILE).read_text()
    assert len(re.findall(r"^### \d+\. ", text, flags=re.M)) == 3 and ": 3 seeds (`a0`, `a1`, `a2`)" in text
    assert "num_threads" not in text
    assert "about 8 seeds a side (`train --repeats 8`)" in text and "**within noise**" in text
    evolution = next(t for t in tables(text) if t[0][0] == "setting" and len(t[0]) == 4)
    assert evolution[-1] == ["n", "3", "4", "1"] and evolution[1][0] == "`model.hidden_size`"
    effects = [t for t in tables(text) if t[0][:3] == ["", "before", "after"]]
    assert effects[0][1][1] == f"{mse(2.0)} ± {mse(1.0)} (n = 3)"
    csv_rows = (out / "report.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 2 * 3 and csv_rows[1].startswith("2,test MSE,model.hidden_size: 16 -> 32,3,2,1,4,5,")
    tex = (out / "report.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and "within noise" in tex and r"n & 3 & 4 & 1 \\" in tex
    assert data["runs"][-1]["ended_by"] == "patience" and "ended early by training.patience" in text


def test_a_comparison_figure_is_scaled_to_its_runs_not_to_far_reference_levels(qtbot):
    import numpy as np

    from engine.analysis.comparison import RunSeries
    from gui.plots.figures import RunsFigure

    figure = RunsFigure()
    qtbot.addWidget(figure)
    x = np.arange(1.0, 11.0)
    runs = [
        RunSeries("a", x, np.full(10, 0.010)),
        RunSeries("b (3 seeds)", x, np.full(10, 0.020), np.full(10, 0.015), np.full(10, 0.030), 3),
    ]
    figure.show_runs(runs, "test MSE", levels=[("zero output", 0.5), ("known model", 1e-4)])
    figure.grab()  # drawing applies the automatic range
    low, high = figure.plot.viewRange()[1]  # log10 of MSE
    assert -2.3 < low < -2.0 and -1.6 < high < -1.4  # 0.01 .. 0.03, not 1e-4 .. 0.5
    assert len(figure.legend.items) == 4  # the references are still drawn and named
