"""Sweeps on Optuna: the sweep file's messages, workers sharing a study, Ctrl-C and continue, pruning,
a worker killed mid-trial on a real PostgreSQL server, and trials.csv against the runs' metrics."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from engine.config.schema import ConfigError, dump_config
from engine.sweeps.runner import storage_for
from engine.sweeps.space import parse_sweep
from tests.conftest import ROOT, small_config


def base_file(tmp_path: Path, *overrides: str) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(dump_config(small_config(tmp_path, "training.num_threads=1", *overrides)))
    return path


def sweep_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def sweep_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "sweep", "--no-graphs", *args]


def run_sweep(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(sweep_command(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def trials_csv(folder: Path) -> list[dict[str, str]]:
    with (folder / "trials.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def spawn():
    """Starts sweep commands in their own process groups, and kills what is still running when the
    test ends, failed or not: a failing assertion must not leave a sweep training in the background."""
    started: list[subprocess.Popen] = []

    def start(command: list[str], cwd: Path) -> subprocess.Popen:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as a shell starts a command in the background
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def wait_for(condition, what: str, timeout: float = 240.0) -> None:
    """Polls a process-external condition (another process's progress); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)  # polling another process's files, not standing in for synchronisation within this one


def test_a_bad_sweep_file_names_every_problem_at_its_key(tmp_path):
    base_file(tmp_path)
    text = """
base: base.yaml
studdy: x
sampler: bayes
trials: 0
fixed: {training.num_epoch: 3}
parameters:
  model.hidden_siz: [8, 16]
  training.learning_rate: {low: 0.1, high: 0.01}
  model.num_layers: []
  training.batch_size: [16, 0]
"""
    with pytest.raises(ConfigError) as caught:
        parse_sweep(text, tmp_path / "s.yaml")
    problems = {p.key: p.message for p in caught.value.problems}
    assert "did you mean 'study'" in problems["studdy"]
    assert "allowed: tpe, random, grid" in problems["sampler"]
    assert "from 1" in problems["trials"]
    assert "did you mean 'training.num_epochs'" in problems["fixed.training.num_epoch"]
    assert "did you mean 'model.hidden_size'" in problems["parameters.model.hidden_siz"]
    assert "empty range" in problems["parameters.training.learning_rate"]
    assert "empty list" in problems["parameters.model.num_layers"]
    assert "0:" in problems["parameters.training.batch_size"] and "allowed" in problems["parameters.training.batch_size"]
    with pytest.raises(ConfigError, match=r"base: .*does not exist"):
        parse_sweep("base: nowhere.yaml\nexperiments: [{model.hidden_size: 8}]\n", tmp_path / "s.yaml")


def test_a_bad_sweep_file_on_the_command_line_is_exit_2_and_writes_nothing(tmp_path):
    base_file(tmp_path)
    spec = sweep_file(tmp_path, "base: base.yaml\nparameters:\n  model.hidden_siz: [8]\n")
    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "model.hidden_size" in done.stderr
    good = sweep_file(tmp_path, "base: base.yaml\nexperiments: [{model.hidden_size: 8}]\n")
    for option, value in (("--workers", "0"), ("--threads", "0")):
        done = run_sweep("--spec", str(good), "--sweeps-dir", str(tmp_path / "sweeps"), option, value, cwd=tmp_path, timeout=120)
        assert done.returncode == 2 and f"{option}: 0 is not allowed" in done.stderr
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("study", ["..", ".", ".hidden", "a\\b", "x" * 300, "a\0b", " "])
def test_a_study_name_that_is_not_one_folder_inside_the_sweeps_folder_is_refused(tmp_path, study):
    base_file(tmp_path)
    text = "base: base.yaml\nexperiments: [{model.hidden_size: 8}]\nstudy: "
    with pytest.raises(ConfigError) as caught:
        parse_sweep(text + json.dumps(study) + "\n", tmp_path / "s.yaml")  # a JSON string is a YAML string
    assert "study" in {p.key for p in caught.value.problems}
    assert parse_sweep(text + "hidden 256, lr-1e.3\n", tmp_path / "s.yaml").study == "hidden 256, lr-1e.3"


def test_a_sweep_whose_folder_cannot_be_made_or_joined_by_a_bad_name_is_one_line_and_exit_2(tmp_path):
    base_file(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    good = sweep_file(tmp_path, "base: base.yaml\nexperiments: [{model.hidden_size: 8}]\n")
    done = run_sweep("--spec", str(good), "--sweeps-dir", str(tmp_path / "afile"), cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--sweeps-dir" in done.stderr
    joined = run_sweep(
        "--join", "--storage", "sqlite:///x.db", "--study", "..", "--sweeps-dir", str(tmp_path / "s"), cwd=tmp_path, timeout=120
    )
    assert joined.returncode == 2 and "Traceback" not in joined.stderr and "--study" in joined.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "base.yaml", "sweep.yaml"]  # nothing written beside them


def test_a_grid_sweep_runs_its_whole_grid_without_a_traceback(tmp_path):
    base_file(tmp_path, "training.num_epochs=1")
    spec = sweep_file(tmp_path, "base: base.yaml\nstudy: grid\nsampler: grid\nparameters:\n  model.hidden_size: [8, 12]\n")
    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"), "--workers", "1", cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rows = trials_csv(tmp_path / "sweeps" / "grid")
    assert sorted(r["model.hidden_size"] for r in rows) == ["12", "8"] and {r["state"] for r in rows} == {"complete"}
    too_few = "importance cannot be estimated yet (2 of 10 completed trials needed)"
    assert too_few in done.stderr and too_few in (tmp_path / "sweeps" / "grid" / "ranking.md").read_text()


def _study_of(trials: int, parameters: int) -> optuna.Study:
    """An in-memory study of ``trials`` completed trials whose objective follows the first parameter."""
    from optuna.distributions import FloatDistribution

    study = optuna.create_study()
    rng = random.Random(1)
    for _ in range(trials):
        params = {f"p{k}": rng.uniform(0, 1) for k in range(parameters)}
        distributions = {key: FloatDistribution(0, 1) for key in params}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=params["p0"] ** 2))
    return study


def test_parameter_importance_is_not_estimated_from_too_few_completed_trials(tmp_path):
    from engine.sweeps.runner import importance_trials_needed, parameter_importance, ranking_markdown
    from engine.sweeps.space import Parameter, SweepSpec

    spec = SweepSpec(base={}, study="s", parameters=(Parameter("p0", low=0, high=1), Parameter("p1", low=0, high=1)))
    assert importance_trials_needed(2) == 10 and importance_trials_needed(3) == 15
    few = parameter_importance(_study_of(3, 2), spec)
    assert few.weights == {} and few.note == "importance cannot be estimated yet (3 of 10 completed trials needed)"
    assert few.note in ranking_markdown([], spec, few)
    enough = parameter_importance(_study_of(10, 2), spec)
    assert enough.note == "" and max(enough.weights, key=enough.weights.get) == "p0"
    assert "| `p0` |" in ranking_markdown([], spec, enough)


def test_two_workers_on_the_embedded_storage_lose_no_trial_and_run_none_twice(tmp_path):
    base_file(tmp_path, "training.num_epochs=2")
    spec = sweep_file(
        tmp_path,
        "base: base.yaml\nstudy: pair\nsampler: random\ntrials: 6\nparameters:\n"
        "  model.hidden_size: [8, 16]\n  training.learning_rate: {low: 1.0e-3, high: 1.0e-2, log: true}\n",
    )
    done = run_sweep("--spec", str(spec), "--workers", "2", "--sweeps-dir", str(tmp_path / "sweeps"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert (folder / "study.journal").is_file() and folder == tmp_path / "sweeps" / "pair"
    rows = trials_csv(folder)
    assert [r["state"] for r in rows] == ["complete"] * 6
    assert sorted(int(r["number"]) for r in rows) == list(range(6))
    run_dirs = [r["run_dir"] for r in rows]
    assert len(set(run_dirs)) == 6 and len(list((folder / "runs").iterdir())) == 6  # one run per trial, none twice
    workers = {json.loads((Path(d) / "notes.json").read_text())["tags"][0] for d in run_dirs}
    assert workers == {"pair"}
    for row in rows:  # trials.csv says what each run's metrics.json says
        metrics = json.loads((Path(row["run_dir"]) / "metrics.json").read_text())
        assert float(row["test_mse"]) == metrics["test"]["mse"]
        assert float(row["validation_mse"]) == metrics["validation_mse"]
        per = {f"test_mse_{r['frequency_hz']:g}hz": r["mse"] for r in metrics["test"]["per_frequency"]}
        assert {k: float(row[k]) for k in per} == per
        config = (Path(row["run_dir"]) / "config.yaml").read_text()
        assert f"hidden_size: {row['model.hidden_size']}" in config
    assert "| 1 |" in (folder / "ranking.md").read_text()


def test_an_experiments_only_sweep_stopped_by_ctrl_c_continues_without_repeating_a_finished_trial(tmp_path, spawn):
    base_file(tmp_path, "training.num_epochs=40")
    spec = sweep_file(
        tmp_path,
        "base: base.yaml\nstudy: listed\nexperiments:\n"
        "  - {model.hidden_size: 8}\n  - {model.hidden_size: 12}\n  - {model.hidden_size: 16}\n",
    )
    sweeps = tmp_path / "sweeps"
    command = sweep_command("--spec", str(spec), "--sweeps-dir", str(sweeps), "--workers", "1")
    process = spawn(command, tmp_path)
    storage = None

    def second_trial_running() -> bool:
        nonlocal storage
        if not (sweeps / "listed" / "study.journal").exists():
            return False
        storage = storage or storage_for(None, sweeps / "listed")
        try:
            trials = optuna.load_study(study_name="listed", storage=storage).get_trials(deepcopy=False)
        except KeyError:  # the journal file exists a moment before the study is written into it
            return False
        return len(trials) >= 2 and trials[0].state == TrialState.COMPLETE and trials[1].state == TrialState.RUNNING

    wait_for(second_trial_running, "the second trial to start")
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group gets SIGINT
    _, err = process.communicate(timeout=240)
    assert process.returncode == 130, err
    rows = trials_csv(sweeps / "listed")
    assert [r["state"] for r in rows[:2]] == ["complete", "interrupted"]
    stopped = json.loads((Path(rows[1]["run_dir"]) / "metrics.json").read_text())
    assert stopped["status"] == "stopped"

    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(sweeps), "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(sweeps / "listed")
    complete = [r for r in rows if r["state"] == "complete"]
    assert sorted(r["model.hidden_size"] for r in complete) == ["12", "16", "8"]  # each experiment finished once
    assert len(list((sweeps / "listed" / "runs").iterdir())) == 4  # 3 finished runs and the stopped one, nothing repeated


def test_the_median_pruner_ends_a_poor_trial_early(tmp_path):
    base_file(tmp_path, "training.num_epochs=8", "training.learning_rate=0.01")
    spec = sweep_file(
        tmp_path,
        "base: base.yaml\nstudy: prune\npruning: median\ntrials: 3\n"
        "experiments:\n  - {training.learning_rate: 0.01}\n  - {training.learning_rate: 0.01}\n"
        "parameters:\n  training.learning_rate: [1.0e-7]\n",
    )
    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"), "--workers", "1", cwd=tmp_path)  # in order
    assert done.returncode == 0, done.stderr
    rows = trials_csv(tmp_path / "sweeps" / "prune")
    assert [r["state"] for r in rows] == ["complete", "complete", "pruned"]
    metrics = json.loads((Path(rows[2]["run_dir"]) / "metrics.json").read_text())
    assert metrics["status"] == "pruned" and metrics["epochs_completed"] < 8


# ----- a real PostgreSQL server -----------------------------------------------------------------
def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster in a temporary folder, run as the postgres user (the server
    refuses root), stopped at the end of the session."""
    import shutil
    import socket
    import tempfile

    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*as_postgres, str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "sweeps"], check=True
        )
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/sweeps"
        optuna.storages.RDBStorage(url)  # Optuna's tables, made once: two processes creating them at once collide
        yield url
    finally:
        subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_on_postgresql_a_worker_killed_mid_trial_has_its_trial_retried_and_the_study_reaches_its_count(tmp_path, postgres_url, spawn):
    base_file(tmp_path, "training.num_epochs=30")
    spec = sweep_file(
        tmp_path,
        "base: base.yaml\nstudy: shared\nsampler: random\ntrials: 3\nheartbeat: 1\nparameters:\n  model.hidden_size: [8, 12, 16]\n",
    )
    first = spawn(sweep_command("--spec", str(spec), "--storage", postgres_url, "--sweeps-dir", str(tmp_path / "a")), tmp_path)
    storage = optuna.storages.RDBStorage(postgres_url)

    def running() -> list:
        try:
            return optuna.load_study(study_name="shared", storage=storage).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except KeyError:
            return []

    wait_for(lambda: any("worker" in t.user_attrs for t in running()), "the first trial to start")
    victim = running()[0]
    os.killpg(first.pid, signal.SIGKILL)  # the machine's whole sweep, mid-trial: a power cut; only the heartbeat can tell
    first.communicate(timeout=60)
    joined = run_sweep("--join", "--storage", postgres_url, "--study", "shared", "--sweeps-dir", str(tmp_path / "b"), cwd=tmp_path)
    assert joined.returncode == 0, joined.stderr
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]  # nothing left RUNNING for good
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3  # the study reached its count
    killed = next(t for t in trials if t.number == victim.number)
    assert killed.state == TrialState.FAIL
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE and retry[0].params == killed.params
    rows = trials_csv(tmp_path / "b" / "shared")
    assert sum(r["state"] == "complete" for r in rows) == 3


def test_the_importance_figure_says_why_it_is_empty_instead_of_drawing_bars(qtbot):
    from engine.sweeps.runner import Importance
    from gui.plots.sweep_figures import ImportanceFigure

    figure = ImportanceFigure()
    qtbot.addWidget(figure)
    figure.set_importance(Importance({}, "importance cannot be estimated yet (3 of 10 completed trials needed)"))
    assert figure.empty.label.isVisibleTo(figure.plot) and "3 of 10 completed trials" in figure.empty.label.text
    assert not figure.items
    figure.set_importance(Importance({"model.hidden_size": 0.8, "training.learning_rate": 0.2}))
    assert not figure.empty.label.isVisibleTo(figure.plot) and figure.items


def test_the_sweep_figures_show_each_trial_the_best_so_far_and_each_parameter(qtbot, tmp_path):
    from engine.sweeps.space import Parameter, SweepSpec
    from gui.plots.sweep_figures import ObjectiveFigure, SensitivityFigure, sweep_figures

    spec = SweepSpec(
        base={},
        study="s",
        parameters=(Parameter("model.hidden_size", choices=(8, 16)), Parameter("training.learning_rate", low=1e-4, high=1e-2, log=True)),
    )
    rows = [
        {"number": 0, "validation_mse": 0.3, "model.hidden_size": 8, "training.learning_rate": 1e-3},
        {"number": 1, "validation_mse": 0.1, "model.hidden_size": 16, "training.learning_rate": 5e-3},
        {"number": 2, "validation_mse": None, "model.hidden_size": 16, "training.learning_rate": 1e-4},  # pruned
        {"number": 3, "validation_mse": 0.2, "model.hidden_size": 8, "training.learning_rate": 2e-3},
    ]
    figures = sweep_figures(rows, spec, {"training.learning_rate": 0.9, "model.hidden_size": 0.1})
    for figure in figures:
        qtbot.addWidget(figure)
    assert [f.file_stem for f in figures] == ["objective_by_trial", "sensitivity", "parallel_coordinates", "importance"]
    objective = next(f for f in figures if isinstance(f, ObjectiveFigure))
    assert objective.points.xData.tolist() == [0, 1, 3]
    assert objective.best.yData.tolist() == [0.3, 0.1, 0.1]
    sensitivity = next(f for f in figures if isinstance(f, SensitivityFigure))
    choices_x = sensitivity.panels[0][1].xData
    assert choices_x.tolist() == [0.0, 1.0, 0.0]  # the choices' places, pruned trial left out
    assert [p[0].titleLabel.text for p in sensitivity.panels] == ["model.hidden_size", "training.learning_rate"]


def test_parallel_coordinates_draw_every_finished_trial_in_a_few_curves_the_best_in_the_darkest(qtbot):
    from engine.sweeps.space import Parameter
    from gui.plots.sweep_figures import ParallelCoordinatesFigure

    figure = ParallelCoordinatesFigure()
    qtbot.addWidget(figure)
    parameters = (Parameter("model.hidden_size", choices=(8, 16)),)
    rows = [{"number": k, "validation_mse": 0.5 - k / 1000, "model.hidden_size": 8 + 8 * (k % 2)} for k in range(300)]
    rows.append({"number": 300, "validation_mse": None, "model.hidden_size": 8})  # pruned: no line
    figure.set_rows(rows, parameters)
    curves = [c for c in figure.plot.listDataItems() if c.yData is not None and c.yData.size]
    assert len(curves) == figure.shades  # the curve count stays whatever the trial count
    assert sum(int(np.isnan(c.yData).sum()) for c in curves) == 300  # each finished trial one line, ended by a NaN
    darkest = max(figure.bands, key=lambda c: c.opts["pen"].color().alpha())
    assert darkest.yData[-2] == 0.0  # its last line, drawn on top: the lowest validation MSE, the bottom of its axis


def test_on_postgresql_a_healthy_trial_keeps_beating_and_is_never_taken_for_stale(tmp_path, postgres_url, spawn):
    base_file(tmp_path, "training.num_epochs=100000")  # runs until the test stops it
    spec = sweep_file(tmp_path, "base: base.yaml\nstudy: beating\nheartbeat: 1\nexperiments:\n  - {model.hidden_size: 8}\n")
    command = sweep_command("--spec", str(spec), "--storage", postgres_url, "--sweeps-dir", str(tmp_path / "s"), "--workers", "1")
    process = spawn(command, tmp_path)
    storage = optuna.storages.RDBStorage(postgres_url, heartbeat_interval=1, grace_period=3)

    def running_since() -> float | None:
        try:
            trials = optuna.load_study(study_name="beating", storage=storage).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except KeyError:
            return None
        return trials[0].datetime_start.timestamp() if trials else None

    wait_for(lambda: running_since() is not None, "the trial to start")
    started = running_since()
    wait_for(lambda: time.time() - started > 5 or process.poll() is not None, "the trial to outlive the grace period")
    study = optuna.load_study(study_name="beating", storage=storage)
    optuna.storages.fail_stale_trials(study)  # what any other worker does before it asks for a trial
    assert process.poll() is None, "the trial ended before the grace period: make it longer"
    assert [t.state for t in study.get_trials(deepcopy=False)] == [TrialState.RUNNING]  # still beating, not failed
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)


def test_on_postgresql_a_trial_lost_before_its_first_beat_is_failed_and_run_again(tmp_path, postgres_url):
    from engine.sweeps.runner import create_study
    from engine.sweeps.space import load_sweep

    base_file(tmp_path, "training.num_epochs=2")
    spec_file = sweep_file(
        tmp_path, "base: base.yaml\nstudy: orphan\nsampler: random\ntrials: 2\nheartbeat: 1\nparameters:\n  model.hidden_size: [8, 12]\n"
    )
    study = create_study(load_sweep(spec_file), optuna.storages.RDBStorage(postgres_url))
    orphan = study.ask()  # a worker killed between ask and its first beat: RUNNING, no heartbeat, Optuna never calls it stale
    command = ("--spec", str(spec_file), "--storage", postgres_url, "--sweeps-dir", str(tmp_path / "s"), "--workers", "1")
    done = run_sweep(*command, cwd=tmp_path, timeout=120)  # before the fix it waited for the orphan for ever
    assert done.returncode == 0, done.stderr
    trials = study.get_trials(deepcopy=False)
    assert trials[orphan.number].state == TrialState.FAIL and not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2  # the sweep reached its count instead of waiting for ever


def test_on_the_embedded_storage_a_trial_asked_by_a_worker_killed_before_naming_it_is_run_again(tmp_path):
    from engine.sweeps.runner import create_study
    from engine.sweeps.space import load_sweep

    base_file(tmp_path, "training.num_epochs=2")
    spec_file = sweep_file(
        tmp_path, "base: base.yaml\nstudy: orphan\nsampler: random\ntrials: 2\nparameters:\n  model.hidden_size: [8, 12]\n"
    )
    sweeps = tmp_path / "sweeps"
    study = create_study(load_sweep(spec_file), storage_for(None, sweeps / "orphan"))
    orphan = study.ask()  # asked under the ask lock, killed before it named its trial
    done = run_sweep("--spec", str(spec_file), "--sweeps-dir", str(sweeps), "--workers", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    trials = study.get_trials(deepcopy=False)
    assert trials[orphan.number].state == TrialState.FAIL and sum(t.state == TrialState.COMPLETE for t in trials) == 2


# ----- populations ---------------------------------------------------------------------------------
def test_trials_that_differ_in_seed_and_rate_train_as_a_population_with_their_solo_numbers(tmp_path):
    base_file(tmp_path, "training.num_epochs=3")
    spec = sweep_file(
        tmp_path,
        "base: base.yaml\nstudy: pop\nsampler: random\ntrials: 4\nparameters:\n"
        "  model.seed: [1, 2, 3]\n  training.learning_rate: {low: 1.0e-3, high: 1.0e-2, log: true}\n",
    )
    done = run_sweep("--spec", str(spec), "--workers", "1", "--sweeps-dir", str(tmp_path / "sweeps"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(tmp_path / "sweeps" / "pop")
    assert [r["state"] for r in rows] == ["complete"] * 4
    assert [r["population"] for r in rows] == ["4"] * 4
    for row in rows[:2]:  # each member's numbers are those of the same config trained alone
        folder = Path(row["run_dir"])
        alone = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "train", "--config", str(folder / "config.yaml"), "--runs-dir", str(tmp_path / "solo")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert alone.returncode == 0, alone.stderr
        solo = json.loads((Path(alone.stdout.strip().splitlines()[-1]) / "metrics.json").read_text())
        assert float(row["validation_mse"]) == pytest.approx(solo["validation_mse"], abs=1e-6)
        assert float(row["test_mse"]) == pytest.approx(solo["test"]["mse"], abs=1e-6)


def test_a_population_s_members_are_pruned_one_by_one(tmp_path):
    base_file(tmp_path, "training.num_epochs=8", "training.learning_rate=0.01")
    good, poor = "{training.learning_rate: 0.01}", "{training.learning_rate: 1.0e-7}"
    spec = sweep_file(
        tmp_path,
        f"base: base.yaml\nstudy: prunepop\npruning: median\ntrials: 6\nexperiments: [{good}, {good}, {good}, {poor}, {good}, {poor}]\n",
    )
    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"), "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = trials_csv(tmp_path / "sweeps" / "prunepop")
    assert [r["population"] for r in rows] == ["1", "1", "4", "4", "4", "4"]  # the pruner's two start-up trials first
    assert [r["state"] for r in rows] == ["complete", "complete", "complete", "pruned", "complete", "pruned"]
    for row in rows[2:]:
        metrics = json.loads((Path(row["run_dir"]) / "metrics.json").read_text())
        assert metrics["status"] == ("pruned" if row["state"] == "pruned" else "completed")
        assert (metrics["epochs_completed"] < 8) == (row["state"] == "pruned")


def test_population_one_trains_trials_one_at_a_time(tmp_path):
    base_file(tmp_path, "training.num_epochs=1")
    spec = sweep_file(tmp_path, "base: base.yaml\nstudy: one\ntrials: 2\nparameters:\n  model.seed: [1, 2]\n")
    done = run_sweep("--spec", str(spec), "--population", "1", "--sweeps-dir", str(tmp_path / "sweeps"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["population"] for r in trials_csv(tmp_path / "sweeps" / "one")] == ["1", "1"]
    bad = run_sweep("--spec", str(spec), "--population", "0", "--sweeps-dir", str(tmp_path / "other"), cwd=tmp_path, timeout=120)
    assert bad.returncode == 2 and "--population: 0 is not allowed" in bad.stderr


def test_members_too_big_to_gain_on_a_cpu_train_one_at_a_time(tmp_path):
    base_file(tmp_path, "training.num_epochs=1", "model.hidden_size=160")  # 107k weights: over the measured limit
    spec = sweep_file(tmp_path, "base: base.yaml\nstudy: big\ntrials: 2\nparameters:\n  model.seed: [1, 2]\n")
    done = run_sweep("--spec", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["population"] for r in trials_csv(tmp_path / "sweeps" / "big")] == ["1", "1"]


def test_a_trial_pruned_or_diverged_before_a_stop_keeps_its_outcome(tmp_path):
    """Ctrl-C during a population must not turn its already-pruned members into lost trials to redo."""
    import threading
    import types

    from engine.runs.run import Run
    from engine.sweeps.runner import Worker

    stopped = types.SimpleNamespace(stop=threading.Event())
    stopped.stop.set()
    study = optuna.create_study()
    for status, expected in (("pruned", TrialState.PRUNED), ("diverged", TrialState.FAIL), ("stopped", TrialState.FAIL)):
        run = Run.start(small_config(tmp_path, "training.num_epochs=1"), tmp_path / "runs")
        list(run.epochs())
        run.status = status
        trial = study.ask()
        outcome = Worker._conclude(stopped, trial, run, [])
        assert outcome.state == expected
        assert ("interrupted" in trial.user_attrs) == (status == "stopped")  # only a trial the stop cut short is redone


def test_with_repeats_trials_csv_shows_mean_std_and_n_and_the_ranking_marks_leaders_within_noise_of_the_best(tmp_path):
    from optuna.distributions import IntDistribution

    from engine.sweeps.runner import _csv, ranking_markdown, trial_rows

    base_file(tmp_path)
    spec = parse_sweep(
        "base: base.yaml\nstudy: seeds\nrepeats: 3\nparameters:\n  model.hidden_size: {low: 8, high: 64}\n", tmp_path / "s.yaml"
    )
    study = optuna.create_study()
    for hidden, values in [(8, [1.0, 1.2, 0.8]), (16, [1.1, 1.3, 0.9]), (32, [5.0, 5.1, 4.9])]:
        attrs = {"settings": {"model.hidden_size": hidden}, "validation_mse_values": values, "test_mse_values": [v + 1 for v in values]}
        attrs["test_mse"] = sum(values) / 3 + 1
        trial = optuna.trial.create_trial(
            params={"model.hidden_size": hidden},
            distributions={"model.hidden_size": IntDistribution(8, 64)},
            value=sum(values) / 3,
            user_attrs=attrs,
        )
        study.add_trial(trial)
    rows = trial_rows(study, spec)
    assert [r["vs_best"] for r in rows] == ["best", "within noise", "worse"]
    assert rows[0]["validation_mse_std"] == pytest.approx(0.2) and rows[0]["n"] == 3 and rows[0]["test_mse_std"] == pytest.approx(0.2)
    table = list(csv.DictReader(_csv(rows).splitlines()))
    assert {"validation_mse", "validation_mse_std", "test_mse", "test_mse_std", "n", "vs_best"} <= set(table[0])
    ranking = ranking_markdown(rows, spec)
    assert "| 1 | 0 | 8 | 1.000000 ± 0.2 | 2.000000 ± 0.2 | 3 | best |" in ranking
    assert "| 2 | 1 | 16 | 1.100000 ± 0.2 | 2.100000 ± 0.2 | 3 | within noise |" in ranking
    assert "| 3 | 2 | 32 | 5.000000 ± 0.1 | 6.000000 ± 0.1 | 3 | worse |" in ranking


def test_the_schedule_settings_are_sweep_parameters_and_milestones_an_experiment_setting(tmp_path):
    base_file(tmp_path, "training.num_epochs=20")
    text = """
base: base.yaml
fixed: {training.lr_warmup_epochs: 2, training.lr_milestones: [8]}
parameters:
  training.lr_schedule: [step, plateau]
  training.lr_gamma: {low: 0.1, high: 0.9}
  training.lr_patience: {low: 1, high: 4}
experiments:
  - {training.lr_schedule: step, training.lr_milestones: [5, 10], training.lr_gamma: 0.5}
"""
    spec = parse_sweep(text, tmp_path / "s.yaml")
    config = spec.trial_config(spec.experiments[0])
    assert config.training.lr_milestones == [5, 10] and config.training.lr_warmup_epochs == 2 and config.training.lr_gamma == 0.5
    assert spec.trial_config({"training.lr_schedule": "plateau", "training.lr_patience": 3}).training.lr_patience == 3
    assert spec.trial_config({"training.lr_schedule": "step"}).training.lr_milestones == [8]
    with pytest.raises(ConfigError) as caught:
        parse_sweep(text.replace("{low: 0.1, high: 0.9}", "[0.5, 0]"), tmp_path / "s.yaml")
    assert [p.key for p in caught.value.problems] == ["parameters.training.lr_gamma"]
