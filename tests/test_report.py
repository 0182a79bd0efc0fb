"""The configuration-evolution report: every number from the runs' metrics.json, in the user's shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

import main
from engine.experiments import RunNotes
from engine.report import REPORT_FILE, mse
from engine.runs import Run
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

    from engine.runs import load_run

    folder = tmp_path / "damaged"
    shutil.copytree(three_runs[0], folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps(damage(metrics)))
    assert load_run(folder).metrics["status"] == "damaged"
    assert main.cli_main(["report", str(folder), str(three_runs[1]), "--out", str(tmp_path / "r"), "--no-graphs"]) == 0
    text = (tmp_path / "r" / REPORT_FILE).read_text()
    healthy = json.loads((three_runs[1] / "metrics.json").read_text())
    assert "No results: the run is damaged (metrics.json: " in text and mse(healthy["test"]["mse"]) in text
