"""Screenshots of the real app under Xvfb (1440x900), one per tab: run with docs/screenshots.sh.

Opens the window on the user's config, trains a short run so the live and results tabs have
content, and grabs the X screen with xwd after each tab switch. Run folders given as a third
argument (a folder of runs) are copied in first, so the Runs tab has runs to compare."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gui.app import RESOURCES, create_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")


def grab(name: str) -> None:
    xwd = OUT / f"{name}.xwd"
    subprocess.run(["xwd", "-root", "-silent", "-out", str(xwd)], check=True)
    subprocess.run(["/usr/bin/convert", str(xwd), str(OUT / f"{name}.png")], check=True)
    xwd.unlink()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[3]:
        for run in Path(sys.argv[3]).iterdir():
            shutil.copytree(run, OUT / "runs" / run.name, dirs_exist_ok=True)
    app = create_app([])
    settings = QSettings(str(OUT / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(OUT / "runs"))
    window = MainWindow(RESOURCES / "presets", settings, default_config=ROOT / "config.yaml")
    window.open_config(ROOT / "config.yaml")
    window.setGeometry(0, 0, 1440, 900)
    window.show()
    window.form.editors["training.num_epochs"].setValue(int(sys.argv[2]) if len(sys.argv) > 2 else 8)
    steps = []

    def later(ms: int, action) -> None:
        steps.append((ms, action))

    later(1500, lambda: grab("1-experiment"))
    later(10, lambda: window.form.editors["model.hidden_size"].setText("0"))
    later(1200, lambda: grab("1b-experiment-invalid-field"))
    later(10, lambda: window.form.editors["model.hidden_size"].setText("128"))
    later(800, window.start_training)
    later(150, lambda: grab("2a-training-starting"))

    def wait_for_epochs() -> None:
        if len(window.training.history) < 3:
            QTimer.singleShot(100, wait_for_epochs)
            return
        QTimer.singleShot(600, lambda: grab("2b-training-live"))

    later(10, wait_for_epochs)

    def wait_for_training() -> None:
        if window.thread is not None:
            QTimer.singleShot(500, wait_for_training)
            return
        window.tabs.setCurrentIndex(1)
        QTimer.singleShot(800, after_training)

    def after_training() -> None:
        grab("2-training")
        window.tabs.setCurrentIndex(2)
        QTimer.singleShot(800, lambda: (grab("3-results"), window.results.tabs.setCurrentIndex(3)))
        QTimer.singleShot(1800, lambda: (grab("3b-results-graph2"), window.results.tabs.setCurrentIndex(5)))
        QTimer.singleShot(2800, lambda: (grab("3c-results-error-distribution"), window.results.tabs.setCurrentIndex(7)))
        QTimer.singleShot(3800, lambda: (grab("3d-results-train-vs-test"), window.tabs.setCurrentIndex(3), compare_runs()))
        QTimer.singleShot(5000, lambda: (grab("4-runs"), window.shutdown(), app.exit(0)))

    def compare_runs() -> None:
        """All groups listed by test MSE, the test MSE of all overlaid, then the first two groups overlaid."""
        runs = window.runs
        runs.metric.setCurrentText("test MSE")
        runs.table.sortItems(runs.titles().index("test MSE"), Qt.SortOrder.AscendingOrder)
        runs.table.selectAll()
        QTimer.singleShot(
            400,
            lambda: (
                runs.table.clearSelection(),
                [runs.table.topLevelItem(k).setSelected(True) for k in range(min(2, runs.table.topLevelItemCount()))],
            ),
        )

    def run_steps(i: int = 0) -> None:
        if i < len(steps):
            ms, action = steps[i]
            QTimer.singleShot(ms, lambda: (action(), run_steps(i + 1)))
        else:
            QTimer.singleShot(4000, wait_for_training)

    run_steps()
    app.exec()


if __name__ == "__main__":
    main()
