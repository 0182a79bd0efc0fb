"""metrics.json as one typed, versioned record (engine.runs.metrics) and the findings every front end renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.analysis.findings import Findings, format_mse
from engine.runs.metrics import SCHEMA, RunMetrics, read_metrics
from engine.runs.run import Run, load_run
from engine.runs.status import RunStatus
from engine.training.trainer import EndReason
from tests.conftest import scored_metrics, small_config


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A one-epoch run folder with its metrics.json."""
    run = Run.start(small_config(tmp_path_factory.mktemp("metrics"), "training.num_epochs=1"))
    list(run.epochs())
    run.finish()
    return run.folder


def copy_with(folder: Path, tmp_path: Path, change) -> Path:
    """A copy of the run ``folder`` whose metrics.json is ``change``(its content)."""
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "metrics.json").write_text(json.dumps(change(json.loads((copy / "metrics.json").read_text()))))
    return copy


def test_a_file_reads_back_as_the_record_it_was_written_from(finished):
    on_disk = json.loads((finished / "metrics.json").read_text())
    metrics = load_run(finished).metrics
    assert on_disk["schema"] == SCHEMA == metrics.schema
    assert metrics.to_json() == on_disk and RunMetrics.from_json(on_disk) == metrics


def test_a_version_1_file_loads_and_is_migrated(finished, tmp_path):
    def version_1(m: dict) -> dict:
        """As a writer before ``schema`` and ``ended_by`` wrote it: the per-frequency zero-output level under "mse"."""
        rows = [{"frequency_hz": row["frequency_hz"], "mse": row["zero_output_mse"]} for row in m["reference"]["per_frequency"]]
        old = {k: v for k, v in m.items() if k not in ("schema", "ended_by")}
        return {**old, "status": "stopped", "reference": {"zero_output_mse": m["reference"]["zero_output_mse"], "per_frequency": rows}}

    metrics = load_run(copy_with(finished, tmp_path, version_1)).metrics
    assert metrics.damaged is None and metrics.schema == SCHEMA and metrics.results is not None
    assert metrics.ended_by is EndReason.STOPPED  # the status named why it ended
    levels = [row.zero_output_mse for row in metrics.reference.per_frequency]
    assert levels == [row["zero_output_mse"] for row in json.loads((finished / "metrics.json").read_text())["reference"]["per_frequency"]]
    assert metrics.reference.known_model_mse is None and metrics.to_json()["schema"] == SCHEMA


def test_a_newer_schema_is_reported_as_damaged_naming_schema(finished, tmp_path):
    metrics = load_run(copy_with(finished, tmp_path, lambda m: {**m, "schema": SCHEMA + 1})).metrics
    assert metrics.status is RunStatus.DAMAGED and metrics.results is None
    assert metrics.damaged.startswith(f"metrics.json: schema {SCHEMA + 1} is newer than this version reads")
    assert metrics.why_no_results().startswith("damaged (metrics.json: schema")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "metrics.json: not readable JSON (JSONDecodeError)"),
        ("[1]", "metrics.json: not a JSON object"),
        ('{"test": {"mse": 0.1, "per_frequency": []}}', "metrics.json: train missing or not as the engine writes it"),
        ('{"status": "completed", "ended_by": "tired"}', "metrics.json: ended_by not as the engine writes it"),
        ('{"schema": "two"}', "metrics.json: schema not as the engine writes it"),
    ],
)
def test_a_file_of_the_wrong_shape_is_a_damaged_record_saying_what(tmp_path, content, said):
    (tmp_path / "metrics.json").write_text(content)
    metrics = read_metrics(tmp_path / "metrics.json")
    assert metrics.status is RunStatus.DAMAGED and metrics.damaged == said
    assert read_metrics(tmp_path / "missing.json") == RunMetrics()  # none yet: unfinished


def test_the_report_the_command_line_and_the_results_panel_say_the_same_findings(qtbot, capsys):
    from cli.commands import _summary
    from engine.analysis.report import verdict
    from engine.config.schema import Config
    from gui.panels.results import ResultsPanel

    metrics = scored_metrics(
        0.0004,
        [0.0003, 0.0005],
        train={"mse": 0.0002, "per_frequency": [{"frequency_hz": 1.0, "mse": 0.0002}, {"frequency_hz": 3.0, "mse": 0.0002}]},
        generalization_gap=1.0,
        generalization_pass=False,
        generalization_threshold=0.1,
        generalization_gap_per_frequency=[{"frequency_hz": 1.0, "gap": 0.5}, {"frequency_hz": 3.0, "gap": 1.5}],
        reference={"zero_output_mse": 0.5, "known_model_mse": 0.0001},
        memorisation={"draws": 8, "memorised": True, "per_frequency": [{"frequency_hz": 1.0, "z": -3.0}, {"frequency_hz": 3.0, "z": 0.0}]},
        best_epoch=1,
        epochs_completed=1,
        seconds_per_epoch=None,
    )
    found = Findings.of(metrics)
    assert (found.passed, found.memorised, found.widest.frequency_hz, found.share_of_zero) == (False, True, 3.0, 0.0008)
    report = verdict(metrics)
    _summary(metrics, Config())
    cli = capsys.readouterr().err
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel._fill_table(metrics)
    shown = panel.verdict.text()
    assert "generalization rule FAIL" in report and "generalization_rule" not in report and cli.count("FAIL") == 1
    assert "<b>FAIL</b>" in shown and "<b>memorised</b>" in shown and "MEMORISED" in cli and "; memorised" in report
    for text in (report, cli, shown):  # one MSE format, one share of the zero-output level
        assert "0.1% of" in text and format_mse(0.5) == "0.50000" and "0.50000" in text
    assert format_mse(0.0004) == "4.00e-04" and "4.00e-04" in cli and "4.00e-04" in shown
