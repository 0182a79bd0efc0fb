"""How long does the window's event loop stall while a CPU training runs in it?

    python -m benchmarks.gui_responsiveness [--seconds 40] [--config config.yaml] [--sweep]
    python -m benchmarks.gui_responsiveness --actions [--runs 300] [--trials 300]

Opens the real window (offscreen unless a display is set), starts the config's training, and
ticks a precise 10 ms QTimer; each tick's lateness (actual gap minus 10 ms) is a stall of the
event loop. Every 25th tick switches tab and types into a form field, as a user would. Ticks
count from the end of the first epoch (start-up compiles and allocates). Prints p50, p99 and the
maximum lateness; the targets are p99 < 20 ms and max < 50 ms. With ``--sweep`` the window runs a
sweep from its Sweeps tab instead (the config as base, 3 epochs a trial, one worker per core), and
ticks count from the first trial the tab shows (it reads the study on its own timer).

With ``--actions`` nothing trains: a runs folder holds ``--runs`` copies of one small finished run,
listed once before the window opens (which builds the folder's index, as any earlier session's listing
would; that first listing's seconds are printed too), and a sweep ``--trials`` finished trials; once
the window has been open 2 s, it does, one after another, what reads or writes them: open the Runs
tab (a click on it: one read of the folder), write a report of five runs, import a plain PyTorch
checkpoint, read the sweep with its importances, and redraw the signal preview after an edit. Each
action's ticks (from its start until its result is shown and the window has been idle 0.3 s) are summarised on their own
line, with the seconds it took; the Runs tab's line is the time it takes to open.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer

from gui.app import RESOURCES, SOURCE_ROOT, create_app, freeze_startup_heap
from gui.main_window import MainWindow

TICK_S = 0.010
STARTUP_S = 2  # with --actions: the window is left to open this long before the first action
QUIET_S = 0.3  # with --actions: an action ends once its result is in and the ticks have come on time this long
QUIET_TICKS = round(QUIET_S / TICK_S)
QUIET_LATE_S = 0.005  # "on time": at most this late


def start_sweep(window: MainWindow, config: Path, folder: Path) -> None:
    """A sweep of the config's hidden size and learning rate, built and started in the Sweeps tab."""
    base = folder / "config.yaml"
    base.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    window.open_config(base)
    sweeps = window.sweeps
    sweeps.sweeps_dir = folder / "sweeps"
    sweeps.trials.setValue(1000)
    sweeps.epochs.setValue(3)
    sweeps.space.setPlainText("model.hidden_size: [64, 128]\ntraining.learning_rate: 1e-4..1e-2 log\n")
    sweeps.build_from_form()
    sweeps.start()


def measure(config: Path, seconds: float, sweep: bool = False) -> np.ndarray:
    """Lateness of every tick after the first epoch (or the first trial shown), in seconds."""
    app = create_app([])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("runs_dir", str(Path(tmp) / "runs"))
        window = MainWindow(RESOURCES / "presets", settings, default_config=config)
        window.resize(1440, 900)
        window.show()
        freeze_startup_heap()  # as the app does once its window is up
        if sweep:
            start_sweep(window, config, Path(tmp))
        else:
            window.form.editors["training.num_epochs"].setValue(100_000)
            while window.config is None or window.config.training.num_epochs != 100_000:  # the form validates after a pause
                app.processEvents()
            window.start_training()
        lateness: list[float] = []
        state = {"last": time.perf_counter(), "ticks": 0}
        editor = window.form.editors["visualization.time_window"]

        def tick() -> None:
            now = time.perf_counter()
            if window.sweeps.rows if sweep else len(window.training.history):  # the first epoch (or trial) is in
                lateness.append(now - state["last"] - TICK_S)
            state["last"] = now
            state["ticks"] += 1
            if state["ticks"] % 25 == 0:  # a user switching tabs and typing while it trains
                window.tabs.setCurrentIndex(state["ticks"] // 25 % window.tabs.count())
                editor.setValue(editor.value() % 2000 + 1)

        timer = QTimer(interval=round(TICK_S * 1000))
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(tick)
        timer.start()

        def finish() -> None:
            timer.stop()
            window.shutdown()  # before quit: Qt 6 closes the windows, and a running one would ask
            window.saved_config = window.config  # nor ask about the epoch count the benchmark edited
            app.quit()

        QTimer.singleShot(round(seconds * 1000), finish)
        app.exec()
    return np.array(lateness)


def finished_runs(folder: Path, count: int) -> tuple[Path, Path, float]:
    """A runs folder of ``count`` copies of one small finished run (as a long project's folder holds), that
    run, and the seconds its first listing took: it leaves the folder's index, as an earlier session would."""
    import torch

    from engine.config.schema import apply_overrides, load_config
    from engine.runs.run import Run, load_runs
    from engine.training.checkpoints import load_checkpoint

    small = ["data.sampling_rate=100", "data.duration=2", "training.num_epochs=3", "model.hidden_size=16", "training.device=cpu"]
    config = apply_overrides(load_config(SOURCE_ROOT / "config.yaml"), [*small, f"data.data_dir={folder / 'data'}"])
    run = Run.start(config, runs_dir=folder / "first")
    list(run.epochs())
    run.finish()
    runs = folder / "runs"
    for k in range(count):
        shutil.copytree(run.folder, runs / f"20260101-{k:06d}-interleaved")
    weights = load_checkpoint(run.folder / "checkpoints" / "best.pt").model
    torch.save({"model_state_dict": {k.replace("head.", "fc."): v for k, v in weights.items()}}, folder / "plain.pt")
    began = time.perf_counter()
    load_runs(runs)
    return runs, run.folder, time.perf_counter() - began


def finished_sweep(window: MainWindow, base: Path, folder: Path, trials: int) -> Path | None:
    """A sweep file whose study already holds ``trials`` finished trials (none trained: the tab only reads them)."""
    import optuna

    from engine.sweeps.runner import create_study, storage_for

    sweeps = window.sweeps
    sweeps.base_path, sweeps.sweeps_dir = base, folder / "sweeps"
    sweeps.study_name.setText("many")
    sweeps.trials.setValue(trials)
    sweeps.space.setPlainText("model.hidden_size: [8, 16, 32]\ntraining.learning_rate: 1e-4..1e-2 log\n")
    spec_file = sweeps.build_from_form()
    assert sweeps.spec is not None and spec_file is not None
    study = create_study(sweeps.spec, storage_for(None, sweeps.sweeps_dir / "many"))
    rng = np.random.default_rng(0)
    distributions = {
        "model.hidden_size": optuna.distributions.CategoricalDistribution([8, 16, 32]),
        "training.learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
    }
    for _ in range(trials):
        params = {"model.hidden_size": int(rng.choice([8, 16, 32])), "training.learning_rate": float(10 ** rng.uniform(-4, -2))}
        attrs = {"settings": params, "test_mse": float(rng.uniform(0.01, 0.5)), "seconds": 10.0}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, value=float(rng.uniform(0.01, 0.5)), user_attrs=attrs)
        )
    return spec_file


def measure_actions(run_count: int, trial_count: int) -> list[tuple[str, float, np.ndarray]]:
    """(action, seconds to its result, lateness of every tick meanwhile) for each action in turn."""
    _app = create_app([])  # held: the window needs its application alive
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs, first, first_listing = finished_runs(folder, run_count)
        print(f"the folder's first listing, which builds its index: {first_listing:.2f} s (no window; once per folder)")
        settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("runs_dir", str(runs))
        window = MainWindow(RESOURCES / "presets", settings, default_config=first / "config.yaml")
        window.resize(1440, 900)
        window.show()
        base = folder / "experiment.yaml"
        shutil.copy(first / "config.yaml", base)
        window.open_config(base)
        spec_file = finished_sweep(window, base, folder, trial_count)
        freeze_startup_heap()  # as the app does once its window is up
        settle = QEventLoop()  # the window's start-up (polishing every widget, its first paint) is not an action's
        QTimer.singleShot(STARTUP_S * 1000, settle.quit)
        settle.exec()
        lateness: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lateness.append(now - last[0] - TICK_S)
            last[0] = now

        timer = QTimer(interval=round(TICK_S * 1000))
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(tick)

        def act(name: str, start, done_signal, kind: str | None = None) -> None:
            loop = QEventLoop()
            quit_on = (lambda k: loop.quit() if k == kind else None) if kind else (lambda *_: loop.quit())
            done_signal.connect(quit_on)
            QTimer.singleShot(120_000, loop.quit)
            lateness.clear()
            last[0] = began = time.perf_counter()
            start()
            loop.exec()
            seconds = time.perf_counter() - began
            quiet = QTimer(interval=QUIET_S * 1000)  # what the result's arrival costs the frames after it: until
            quiet.timeout.connect(lambda: loop.quit() if max(lateness[-QUIET_TICKS:]) < QUIET_LATE_S else None)
            quiet.start()  # the window has been idle QUIET_S (it may still be drawing the result), at most 10 s more
            QTimer.singleShot(10_000, loop.quit)
            loop.exec()
            quiet.stop()
            done_signal.disconnect(quit_on)
            results.append((name, seconds, np.array(lateness)))

        timer.start()
        edit = window.form.editors["data.duration"]

        def open_runs_tab() -> None:
            window.runs.refresh_when_shown()  # the folder changed since its last listing (a run ended, an import)
            window.tabs.setCurrentWidget(window.runs)  # and is read again as its tab is shown

        def read_sweep() -> None:
            window.tabs.setCurrentWidget(window.sweeps)
            window.sweeps.choose_sweep_file(str(spec_file))

        def edit_data() -> None:
            window.tabs.setCurrentIndex(0)
            edit.setValue(edit.value() + 1)

        act(f"open the Runs tab ({run_count} runs)", open_runs_tab, window.runs.loaded)
        folders = [r.folder for r in window.runs.records[:5]]
        act("write a report of 5 runs", lambda: window.write_report(folders, str(folder / "report")), window.tasks.ended, "report")
        act("import a plain checkpoint", lambda: window.import_checkpoint(str(folder / "plain.pt")), window.tasks.ended, "import")
        act(f"read a sweep of {trial_count} trials", read_sweep, window.tasks.ended, "study")
        act("redraw the preview after an edit", edit_data, window.preview.drawn)
        timer.stop()
        window.shutdown()
        window.saved_config = window.config
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--config", type=Path, default=SOURCE_ROOT / "config.yaml")
    parser.add_argument("--sweep", action="store_true", help="run a sweep from the Sweeps tab instead of one training")
    parser.add_argument("--actions", action="store_true", help="no training: the window's reads and writes of a large runs folder")
    parser.add_argument("--runs", type=int, default=300, help="with --actions: run folders present")
    parser.add_argument("--trials", type=int, default=300, help="with --actions: finished trials of the sweep read")
    args = parser.parse_args()
    if args.actions:
        print(f"platform {os.environ['QT_QPA_PLATFORM']}, {os.cpu_count()} cores; ticks of 10 ms (targets: p99 < 20, max < 50 ms)")
        for name, seconds, late in measure_actions(args.runs, args.trials):
            p50, p99 = np.percentile(late * 1000, [50, 99])
            print(
                f"{name}: {seconds:.2f} s, {late.size} ticks, lateness p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {late.max() * 1000:.1f} ms"
            )
        return
    late = measure(args.config.resolve(), args.seconds, args.sweep) * 1000
    if late.size == 0:
        raise SystemExit("no epoch finished in time: give it more --seconds")
    p50, p99 = np.percentile(late, [50, 99])
    what = "a sweep's first trial shown" if args.sweep else "the first epoch"
    print(f"platform {os.environ['QT_QPA_PLATFORM']}, {os.cpu_count()} cores, {late.size} ticks of 10 ms after {what}")
    print(f"event-loop lateness: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {late.max():.1f} ms (targets: p99 < 20, max < 50)")


if __name__ == "__main__":
    main()
