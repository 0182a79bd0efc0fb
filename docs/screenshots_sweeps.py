"""Screenshots of the Sweeps tab during and after a sweep, from the real app under Xvfb with openbox:
run with ``docs/screenshots.sh tabs``. The repo's config.yaml (3 epochs a trial) is the base; the
space is hidden size and learning rate, 8 trials, 2 workers. Arguments: the folder the PNGs go to,
and a work folder for the sweep's config, settings, runs and studies."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs.screenshots import grab  # noqa: E402
from gui.app import RESOURCES, create_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")


def main() -> None:
    work = Path(sys.argv[2]) / "sweep"
    work.mkdir(parents=True)
    base = work / "config.yaml"
    shutil.copy(ROOT / "config.yaml", base)
    app = create_app([])
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(work / "runs"))
    window = MainWindow(RESOURCES / "presets", settings)
    window.open_config(base)
    window.show()
    sweeps = window.sweeps
    sweeps.study_name.setText("hidden-and-lr")
    sweeps.trials.setValue(8)
    sweeps.epochs.setValue(3)
    sweeps.workers.setValue(2)
    sweeps.space.setPlainText("model.hidden_size: [64, 128, 256]\ntraining.learning_rate: 1e-4..1e-2 log\n")
    window.tabs.setCurrentWidget(sweeps)

    def started() -> None:
        sweeps.build_from_form()
        sweeps.start()
        QTimer.singleShot(500, wait_for_some)

    def wait_for_some() -> None:
        if sum(r["state"] == "complete" for r in sweeps.rows) < 3:
            QTimer.singleShot(500, wait_for_some)
            return
        grab("5a-sweeps-running")
        QTimer.singleShot(500, wait_for_end)

    def wait_for_end() -> None:
        if sweeps.process is not None:
            QTimer.singleShot(500, wait_for_end)
            return
        sweeps.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        QTimer.singleShot(800, lambda: (grab("5b-sweeps-done"), window.shutdown(), app.exit(0)))

    QTimer.singleShot(1500, started)
    app.exec()


if __name__ == "__main__":
    main()
