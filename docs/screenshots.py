"""Screenshots of the real app under Xvfb with openbox, one or more per tab: run with ``docs/screenshots.sh tabs``.

Arguments: the folder the PNGs go to, a work folder (its runs/ holds the runs the Runs tab compares,
trained beforehand by the shell script; the window's settings go there too) and the epochs of the
run trained here. The window opens the repo's config.yaml at the size the app picks for the screen,
trains two seeds of it so the live, results and runs tabs have content, and grabs the X screen
after each step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gui.app import RESOURCES, create_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
MOST_BYTES = 400_000  # above this a screenshot is stored with a 256-colour palette


def grab(name: str, out: Path = OUT) -> None:
    """The whole X screen, window manager's frame included, as ``out/name.png``."""
    png = out / f"{name}.png"
    subprocess.run(["import", "-silent", "-window", "root", f"PNG24:{png}"], check=True)
    if png.stat().st_size > MOST_BYTES:
        subprocess.run(["/usr/bin/convert", str(png), "+dither", "-colors", "256", f"PNG8:{png}"], check=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(sys.argv[2])
    app = create_app([])
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("runs_dir", str(work / "runs"))
    window = MainWindow(RESOURCES / "presets", settings, default_config=ROOT / "config.yaml")
    window.open_config(ROOT / "config.yaml")
    window.show()
    window.form.editors["training.num_epochs"].setValue(int(sys.argv[3]) if len(sys.argv) > 3 else 8)
    window.repeats.setValue(2)
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
        if window.training_thread is not None or window.queued:
            QTimer.singleShot(500, wait_for_training)
            return
        window.tabs.setCurrentWidget(window.training)
        QTimer.singleShot(800, after_training)

    def results_tab(title: str) -> None:
        tabs = window.results.tabs
        tabs.setCurrentIndex(next(k for k in range(tabs.count()) if tabs.tabText(k) == title))

    def after_training() -> None:
        grab("2-training")
        window.tabs.setCurrentWidget(window.results)
        shots = [
            ("3-results", lambda: results_tab("Graph 2")),
            ("3b-results-graph2", lambda: results_tab("Error distribution")),
            ("3c-results-error-distribution", lambda: results_tab("Train vs test")),
            ("3d-results-train-vs-test", lambda: (window.tabs.setCurrentWidget(window.runs), compare_runs())),
            ("4-runs", group_with_baseline),
            ("4-runs-grouped", overlay_against_baseline),
            ("4b-runs-overlay-baseline", lambda: (window.shutdown(), app.exit(0))),
        ]
        for k, (name, then) in enumerate(shots):
            QTimer.singleShot(800 + 1200 * k, lambda name=name, then=then: (grab(name), then()))

    def select_rows(*rows) -> None:
        """Only ``rows`` (indexes of the Runs table's model) selected, as ctrl-clicks would."""
        table = window.runs.table
        table.clearSelection()
        for row in rows:
            table.selectionModel().select(row, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    def when_shown(action) -> None:
        """``action`` once the Runs table shows its filters and baseline (worked out in the background)."""
        if window.runs.updating:
            QTimer.singleShot(50, lambda: when_shown(action))
        else:
            action()

    def compare_runs() -> None:
        """All groups listed by test MSE, the test MSE of all overlaid, then the first two groups overlaid."""
        runs = window.runs
        runs.metric_choice.setCurrentText("test MSE")
        runs.table.sortByColumn(runs.titles().index("test MSE"), Qt.SortOrder.AscendingOrder)
        runs.table.selectAll()
        QTimer.singleShot(400, lambda: select_rows(*[runs.model.index(k, 0) for k in range(min(2, runs.model.rowCount()))]))

    def groups() -> tuple:
        """The group trained here and the other one, from the runs folder (indexes of the Runs table's model)."""
        runs = window.runs
        tops = [runs.model.index(k, 0) for k in range(runs.model.rowCount())]
        mine = next(t for t in tops if window.last_run_folder in runs._folders(t))
        return mine, next(t for t in tops if t != mine)

    def group_with_baseline() -> None:
        """Every run under its group, the group trained here pinned as the baseline."""
        runs, (mine, _) = window.runs, groups()
        select_rows(mine)
        runs.pin_baseline()
        when_shown(lambda: (runs.table.expandAll(), runs.table.clearSelection()))

    def overlay_against_baseline() -> None:
        """The other group selected: its test MSE overlaid on the baseline's."""
        mine, other = groups()
        window.runs.table.setExpanded(mine, False)
        select_rows(other)

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
