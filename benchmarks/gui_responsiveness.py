"""How long does the window's event loop stall while a CPU training runs in it?

    python -m benchmarks.gui_responsiveness [--seconds 40] [--config config.yaml] [--sweep]

Opens the real window (offscreen unless a display is set), starts the config's training, and
ticks a precise 10 ms QTimer; each tick's lateness (actual gap minus 10 ms) is a stall of the
event loop. Every 25th tick switches tab and types into a form field, as a user would. Ticks
count from the end of the first epoch (start-up compiles and allocates). Prints p50, p99 and the
maximum lateness; the targets are p99 < 20 ms and max < 50 ms. With ``--sweep`` the window runs a
sweep from its Sweeps tab instead (the config as base, 3 epochs a trial, one worker per core), and
ticks count from the first trial the tab shows (it reads the study on its own timer).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

from PySide6.QtCore import QSettings, Qt, QTimer

from gui.app import RESOURCES, SOURCE_ROOT, create_app
from gui.main_window import MainWindow

TICK_S = 0.010


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--config", type=Path, default=SOURCE_ROOT / "config.yaml")
    parser.add_argument("--sweep", action="store_true", help="run a sweep from the Sweeps tab instead of one training")
    args = parser.parse_args()
    late = measure(args.config.resolve(), args.seconds, args.sweep) * 1000
    if late.size == 0:
        raise SystemExit("no epoch finished in time: give it more --seconds")
    p50, p99 = np.percentile(late, [50, 99])
    what = "a sweep's first trial shown" if args.sweep else "the first epoch"
    print(f"platform {os.environ['QT_QPA_PLATFORM']}, {os.cpu_count()} cores, {late.size} ticks of 10 ms after {what}")
    print(f"event-loop lateness: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {late.max():.1f} ms (targets: p99 < 20, max < 50)")


if __name__ == "__main__":
    main()
