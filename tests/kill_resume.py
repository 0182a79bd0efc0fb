"""SIGKILL the headless trainer at random moments, check every file it left, resume, compare weights:
the routine tests/test_reliability.py runs a few times and benchmarks/kill_resume.py many times.

A kill survives when every file in the run folder is a complete old or new version, no epoch
recorded before the kill is lost, and ``train --resume`` ends with weights bit-identical to an
uninterrupted run."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from engine.runs.integrity import damaged_files
from engine.training.checkpoints import load_checkpoint
from engine.training.history import History

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 60


def train_command(runs_dir: Path, data_dir: Path, *extra: str) -> list[str]:
    """A small single-threaded experiment (deterministic across processes) through the real CLI."""
    settings = {
        "data.sampling_rate": 100,
        "data.duration": 2.0,
        "data.data_dir": data_dir,
        "model.hidden_size": 16,
        "training.num_epochs": EPOCHS,
        "training.batch_size": 16,
        "training.learning_rate": 0.003,
        "training.num_threads": 1,
        "training.device": "cpu",
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    command = [sys.executable, str(ROOT / "main.py"), "train", "--config", str(ROOT / "config.yaml"), "--no-graphs"]
    return [*command, "--runs-dir", str(runs_dir), *sets, *extra]


def wait_for(condition, timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (the subprocess gives no other signal to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.005)


def only_run_folder(runs_dir: Path) -> Path | None:
    folders = [p for p in runs_dir.glob("*") if (p / "checkpoints" / "last.pt").exists()]
    return folders[0] if folders else None


def final_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(folder / "checkpoints" / "last.pt").model


def start_training(runs: Path, data_dir: Path) -> subprocess.Popen:
    """Start the CLI and return once its run folder holds a first last.pt."""
    process = subprocess.Popen(train_command(runs, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: only_run_folder(runs) is not None or process.poll() is not None, what="the run folder")
    return process


def reference_run(work: Path) -> tuple[Path, float]:
    """One uninterrupted run: the weights every resumed run must end with, and how long it trained."""
    process = start_training(work / "reference", work / "data")
    started = time.monotonic()
    wait_for(lambda: (only_run_folder(work / "reference") / "metrics.json").exists() or process.poll() is not None, what="metrics")
    seconds = time.monotonic() - started
    if process.wait(timeout=600) != 0:
        raise RuntimeError("the uninterrupted reference run failed")
    return only_run_folder(work / "reference"), seconds


def kill_and_resume(work: Path, reference: Path, seconds: float, rng: random.Random, index: int) -> tuple[bool, str]:
    """One kill at a random moment of the training; (survived, what happened)."""
    runs = work / f"killed-{index}"
    process = start_training(runs, work / "data")
    time.sleep(rng.uniform(0.0, seconds))  # the random kill moment, not a synchronisation
    process.send_signal(signal.SIGKILL)
    process.wait()
    folder = only_run_folder(runs)
    if process.returncode != -signal.SIGKILL:
        return True, f"kill {index}: the run had already finished; not counted as a kill"
    recorded = len(History.read(folder / "history.csv") or ())
    problems = damaged_files(folder)
    saved_epoch = load_checkpoint(folder / "checkpoints" / "last.pt").epoch if not problems else -1
    resumed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--resume", str(folder), "--no-graphs"], capture_output=True, timeout=600
    )
    expected = final_weights(reference)
    if resumed.returncode == 0:
        got = final_weights(folder)
        same = all(torch.equal(value, got[key]) for key, value in expected.items())
    else:
        same = False
    survived = not problems and saved_epoch >= recorded and same
    detail = f"kill {index}: {recorded} epochs recorded, last.pt at epoch {saved_epoch}, resume rc {resumed.returncode}, "
    detail += "weights identical" if same else "weights DIFFER"
    return survived, detail + "".join(f"; damaged {p}" for p in problems)


def kill_campaign(work: Path, kills: int, seed: int) -> tuple[int, int, list[str]]:
    """(survived, tried, details) over ``kills`` random kill moments."""
    rng = random.Random(seed)
    reference, seconds = reference_run(work)
    survived = tried = 0
    details = []
    for index in range(kills):
        ok, detail = kill_and_resume(work, reference, seconds, rng, index)
        details.append(detail)
        if "not counted" in detail:
            continue
        tried += 1
        survived += ok
    return survived, tried, details
