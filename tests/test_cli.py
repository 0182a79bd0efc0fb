from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

import main
from cli.commands import EXIT_CLOSED_PIPE
from engine.config.schema import Config, apply_overrides, dump_config
from engine.runs.run import Run
from tests.conftest import ROOT, small_config


def small_args(tmp_path: Path) -> list[str]:
    return [
        "--set", "data.sampling_rate=100", "--set", "data.duration=1.0", "--set", f"data.data_dir={tmp_path / 'data'}",
        "--set", "model.hidden_size=8", "--set", "training.num_epochs=2", "--set", "visualization.dpi=50",
        "--set", "visualization.time_window=50",
    ]  # fmt: skip


def test_train_writes_a_run_with_graphs_and_prints_its_folder_last(tmp_path, capsys):
    code = main.cli_main(["train", "--config", str(ROOT / "config.yaml"), "--runs-dir", str(tmp_path / "runs"), *small_args(tmp_path)])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    folder = Path(out[-1])
    assert folder.parent == tmp_path / "runs" and (folder / "metrics.json").exists()
    graphs = {p.name: p for p in (folder / "graphs").glob("*.png")}
    assert set(graphs) == {
        "loss_curve.png",
        "per_frequency_mse.png",
        "graph1_comparison.png",
        "graph2_all_frequencies.png",
        "fft_spectrum.png",
        "error_distribution.png",
        "error_over_time.png",
        "train_vs_test.png",
        "extraction.png",
    }
    image = QImage(str(graphs["graph2_all_frequencies.png"]))
    assert (image.width(), image.height()) == (12 * 50, 8 * 50)  # inches x dpi
    assert round(image.dotsPerMeterX() * 0.0254) == 50

    assert main.cli_main(["evaluate", "--checkpoint", str(folder / "checkpoints" / "best.pt")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "interleaved" and len(result["test"]["per_frequency"]) == 4


def test_export_data_writes_both_csvs(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  sampling_rate: 20\n  duration: 1\n  data_dir: {tmp_path / 'data'}\n")
    assert main.cli_main(["export-data", "--config", str(config), "--out", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "train.csv").read_text().count("\n") == 81
    assert (tmp_path / "csv" / "test.csv").exists()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_bad_input_is_one_clear_message_and_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  batch_size: 0\n  learnig_rate: 1\n")
    cases = [
        (["train", "--config", str(bad)], ["training.batch_size: 0", "did you mean 'learning_rate'"]),
        (["train", "--config", str(tmp_path / "missing.yaml")], ["cannot be read"]),
        (["train", "--config", str(ROOT / "config.yaml"), "--set", "training.device=cuda"], ["'cuda' is not available"]),
        (["evaluate", "--checkpoint", str(bad)], ["not a readable checkpoint"]),
        (["train", "--resume", str(tmp_path)], ["has no checkpoints/last.pt"]),
        (["frobnicate"], ["invalid choice"]),
    ]
    for args, expected in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        for part in expected:
            assert part in result.stderr, (args, result.stderr)


def test_no_graphs_writes_no_png_and_the_summary_keeps_quality_apart_from_generalization(tmp_path, capsys):
    args = ["train", "--config", str(ROOT / "config.yaml"), "--runs-dir", str(tmp_path / "runs"), "--no-graphs", *small_args(tmp_path)]
    assert main.cli_main([*args, "--set", "evaluation.unseen_draws=2"]) == 0
    captured = capsys.readouterr()
    folder = Path(captured.out.strip().splitlines()[-1])
    assert (folder / "metrics.json").exists() and list((folder / "graphs").iterdir()) == []
    assert "of 0.50000, what a model that outputs zeros scores" in captured.err
    assert "memorisation (2 unseen draws)" in captured.err and "best.pt: epoch" in captured.err


def test_a_run_being_trained_cannot_be_resumed_by_another_process(tmp_path):
    from engine.runs.run import Run, active

    run = Run.start(small_config(tmp_path))
    with active(run.folder):
        result = run_cli("train", "--resume", str(run.folder), cwd=tmp_path)
    assert result.returncode == 2 and "being trained by another process" in result.stderr


def test_the_summary_of_a_run_stopped_in_its_first_epoch(capsys):
    from cli.commands import _summary
    from engine.runs.metrics import RunMetrics

    per = [{"frequency_hz": 1.0, "mse": 0.5}]
    metrics = {
        "status": "stopped", "epochs_completed": 0, "best_epoch": 0, "seconds_per_epoch": None,
        "train": {"mse": 0.5, "per_frequency": per}, "test": {"mse": 0.5, "per_frequency": per},
        "reference": {"zero_output_mse": 0.5}, "generalization_gap": 0.0, "generalization_pass": True,
        "generalization_threshold": 0.1, "generalization_gap_per_frequency": [{"frequency_hz": 1.0, "gap": 0.0}],
        "memorisation": {"draws": 8, "memorised": False, "per_frequency": [{"frequency_hz": 1.0, "z": 0.1}]},
    }  # fmt: skip
    _summary(RunMetrics.from_json(metrics), Config())
    said = capsys.readouterr().err
    assert "no epoch completed" in said and "non-causal" not in said
    _summary(RunMetrics.from_json(metrics), apply_overrides(Config(), ["training.mode=streams", "model.bidirectional=true"]))
    assert capsys.readouterr().err.startswith("non-causal reference (sees the future)")


def test_a_generalization_fail_names_the_frequency_whose_gap_fails_it(capsys):
    from cli.commands import _generalization_line
    from engine.analysis.findings import Findings
    from tests.conftest import scored_metrics

    gaps = [{"frequency_hz": 1.0, "gap": 0.02}, {"frequency_hz": 7.0, "gap": 0.31}]
    keys = {"generalization_gap": 0.007, "generalization_pass": False, "generalization_threshold": 0.1}
    metrics = scored_metrics(0.1, frequencies=(1.0, 7.0), **keys, generalization_gap_per_frequency=gaps)
    line = _generalization_line(Findings.of(metrics))
    assert "gap 0.70%" in line and "widest 31.00% at 7 Hz" in line and line.endswith("FAIL")


@pytest.mark.parametrize(
    ("argv", "front"),
    [
        ([], "window"),
        (["CONFIG"], "window"),
        (["train", "--config", "CONFIG"], "command line"),
        (["trian"], "command line"),
        (["--version"], "command line"),
    ],
)
def test_main_py_opens_a_config_file_in_the_window_and_runs_subcommands_headless(tmp_path, monkeypatch, argv, front):
    config = tmp_path / "odd.yaml"
    config.write_text("data:\n  frequencies: [2, 4.5, 9]\n")
    argv = [str(config) if a == "CONFIG" else a for a in argv]
    called = []
    monkeypatch.setattr(main, "gui_main", lambda args: called.append(("window", args)) or 0)
    monkeypatch.setattr(main, "cli_main", lambda args: called.append(("command line", args)) or 0)
    assert main.main(argv) == 0
    assert called == [(front, argv)]  # a typo of a subcommand still gets the command line's "invalid choice"


def _run_into_a_closed_pipe(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run main.py with stdout a pipe whose reader is gone, as `| head` leaves it once it has its lines."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first write that reaches the pipe fails, every time
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize("command", ["evaluate", "export-data"])
def test_output_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path, command):
    config = small_config(tmp_path, "training.num_epochs=1")
    config_file = tmp_path / "c.yaml"
    config_file.write_text(dump_config(config))
    if command == "evaluate":
        run = Run.start(config, tmp_path / "runs")
        list(run.epochs())
        run.finish()
        args = ["evaluate", "--checkpoint", str(run.folder / "checkpoints" / "best.pt")]
    else:
        args = ["export-data", "--config", str(config_file), "--out", str(tmp_path / "csv")]
    code, err = _run_into_a_closed_pipe(args, tmp_path)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert code == EXIT_CLOSED_PIPE, err
