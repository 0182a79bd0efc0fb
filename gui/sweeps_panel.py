"""Sweeps: build a search space from the experiment in the editor (or open a sweep file), run it as
the sweep command in processes of its own, and watch its trials and figures as they finish.

The sweep runs as ``main.py sweep`` in a child process group, so its training never shares this
process; the panel reads the study's storage on a timer (a small file on one machine)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.config import SECTION_TYPES, Config, ConfigError, format_number, parse_value, schema_fields
from engine.experiments import ComparisonColumn
from engine.files import atomic_write_text
from engine.sweeps import SAMPLERS, SweepSpec, describe, load_sweep
from gui.runs_panel import NumberItem
from gui.sweep_figures import ImportanceFigure, ObjectiveFigure, ParallelCoordinatesFigure, SensitivityFigure
from gui.widgets import button_row

ROOT = Path(__file__).resolve().parent.parent
POLL_MS = 2000
RUN_DIR_ROLE = Qt.ItemDataRole.UserRole + 1  # a trials-table cell's run folder(s)
SPACE_HINT = "one per line:  key: [choice, choice]   or   key: low..high   (add  log  for a log scale)"
DEFAULT_SPACE = "model.hidden_size: [64, 128, 256]\ntraining.learning_rate: 1e-4..1e-2 log\n"
SPACE_SETTING = "sweeps/space"


def searchable_keys() -> list[str]:
    """The settings a search space can vary: numbers, and text with a fixed set of choices."""
    keys = []
    for section in SECTION_TYPES:
        for f in schema_fields(section):
            if isinstance(f.default, bool) or not (isinstance(f.default, (int, float)) or "choices" in f.metadata):
                continue
            keys.append(f"{section}.{f.name}")
    return keys


def space_line(key: str, value: Any, kind: str) -> str:
    """A line of the space editor around the editor's current value: choices, a range (half to twice),
    or a log range (a tenth to ten times)."""
    if kind == "choices" or not isinstance(value, (int, float)):
        return f"{key}: [{format_number(value)}]"
    low, high = (value / 10, value * 10) if kind == "log range" else (value / 2, value * 2)
    if isinstance(value, int):
        low, high = max(1, round(low)), max(2, round(high))
    else:  # 0.003 / 10 is 0.00030000000000000003: show the value a person would type
        low, high = float(f"{low:.6g}"), float(f"{high:.6g}")
    return f"{key}: {format_number(low)}..{format_number(high)}" + (" log" if kind == "log range" else "")


def space_lines(text: str) -> dict[str, Any]:
    """The space editor's lines as the sweep file's parameters: ``key: [a, b]`` or ``key: low..high [log]``."""
    parameters: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        rest = rest.strip()
        if not key.strip() or not rest:
            continue
        if ".." in rest and not rest.startswith("["):
            low, _, high = rest.replace(" log", "").partition("..")
            parameters[key.strip()] = {"low": parse_value(low.strip()), "high": parse_value(high.strip()), "log": rest.endswith(" log")}
        else:
            parameters[key.strip()] = parse_value(rest)
    return parameters


class SweepsPanel(QWidget):
    """A sweep's set-up, its live trials table and figures; Start/Stop run the sweep command."""

    open_run = Signal(object)  # Path of a trial's run folder
    load_config = Signal(object)  # Config of the best trial
    message = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.base_path: Path | None = None  # the editor's config file, the base of a sweep built here
        # set by the window: called with a sweep's base file before it starts; False cancels the start
        self.confirm_base: Callable[[Path], bool] = lambda base: True
        self.sweeps_dir = Path("sweeps")
        self.spec: SweepSpec | None = None
        self.spec_path: Path | None = None
        self.process: QProcess | None = None
        self.rows: list[dict[str, Any]] = []
        self.study_name = QLineEdit("sweep")
        self.sampler = QComboBox()
        self.sampler.addItems(SAMPLERS)
        self.trials = QSpinBox(minimum=1, maximum=10_000, value=12)
        self.epochs = QSpinBox(minimum=1, maximum=100_000, value=20)
        self.pruning = QCheckBox("prune poor trials (median)")
        cores = os.cpu_count() or 1
        self.workers = QSpinBox(minimum=1, maximum=cores * 4, value=max(1, cores - 1))  # a core left for the window
        self.workers.setToolTip("Worker processes; the default leaves one core to the window so it stays responsive")
        self._study: Any = None  # the open study, kept between refreshes: its storage reads only what is new
        kept = settings.value(SPACE_SETTING) if settings is not None else None  # the space as the user left it
        self.space = QPlainTextEdit(kept if isinstance(kept, str) else DEFAULT_SPACE)
        self.space.setToolTip(SPACE_HINT)
        self.space.textChanged.connect(self._keep_space)
        self.current: Config | None = None  # the experiment in the editor: where a picked setting's values start
        self.key_picker = QComboBox()
        self.key_picker.addItems(searchable_keys())
        self.key_picker.setCurrentText("model.hidden_size")
        self.kind = QComboBox()
        self.kind.addItems(["choices", "range", "log range"])
        self.summary = QLabel("Build a search space from the experiment in the editor, or open a sweep file.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.doubleClicked.connect(self._open_selected)
        self.table.verticalHeader().setVisible(False)
        self.objective = ObjectiveFigure()
        self.sensitivity = SensitivityFigure()
        self.parallel = ParallelCoordinatesFigure()
        self.importance = ImportanceFigure()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.setLayout(self._layout())
        self._set_running(False)

    def _keep_space(self) -> None:
        """Every edit of the space is kept at once: it is never lost by quitting, so never asked about."""
        if self.settings is not None:
            self.settings.setValue(SPACE_SETTING, self.space.toPlainText())

    def _layout(self) -> QVBoxLayout:
        form = QFormLayout()
        form.addRow("Study", self.study_name)
        form.addRow("Sampler", self.sampler)
        form.addRow("Trials", self.trials)
        form.addRow("Epochs per trial", self.epochs)
        form.addRow("", self.pruning)
        form.addRow("Workers", self.workers)
        pick = QHBoxLayout()
        pick.addWidget(self.key_picker, 1)
        pick.addWidget(self.kind)
        pick.addLayout(button_row([("Add to the space", self.add_picked)]))
        form.addRow("Setting", pick)
        form.addRow(QLabel("Search space (" + SPACE_HINT + ")"))
        form.addRow(self.space)
        self.buttons = button_row(
            [
                ("Use this space", self.build_from_form),
                ("Open sweep file…", self.open_sweep_file),
                ("Start", self.start),
                ("Stop", self.stop),
                ("Load best into the editor", self.load_best),
                *([("Open in optuna-dashboard", self.open_dashboard)] if dashboard_command() else []),
            ]
        )
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addLayout(self.buttons)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.table, 1)
        figures = QTabWidget()
        figures.addTab(self.objective, "Objective")
        figures.addTab(self.sensitivity, "Sensitivity")
        figures.addTab(self.parallel, "Parallel coordinates")
        figures.addTab(self.importance, "Importance")
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(figures)
        splitter.setSizes([650, 750])
        layout = QVBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        return layout

    def _buttons(self) -> dict[str, Any]:
        return {self.buttons.itemAt(k).widget().text(): self.buttons.itemAt(k).widget() for k in range(self.buttons.count() - 1)}

    def _set_running(self, running: bool) -> None:
        buttons = self._buttons()
        buttons["Start"].setEnabled(not running and self.spec is not None)
        buttons["Stop"].setEnabled(running)
        for name in ("Use this space", "Open sweep file…"):
            buttons[name].setEnabled(not running)

    # ----- the sweep file -------------------------------------------------------------------
    def add_picked(self) -> None:
        """The picked setting as a line of the space, starting from its value in the editor (edit it there)."""
        key = self.key_picker.currentText()
        section, _, name = key.partition(".")
        value = getattr(getattr(self.current or Config(), section), name)
        text = self.space.toPlainText().rstrip("\n")
        self.space.setPlainText((text + "\n" if text else "") + space_line(key, value, self.kind.currentText()) + "\n")

    def build_from_form(self) -> Path | None:
        """Write a sweep file beside the editor's config from the fields here; checked like any sweep file."""
        if self.base_path is None:
            QMessageBox.information(self, "Sweep", "Save the experiment in the editor to a file first: it is the sweep's base.")
            return None
        try:
            parameters = space_lines(self.space.toPlainText())
        except ValueError as exc:
            QMessageBox.warning(self, "Search space", str(exc))
            return None
        from ruamel.yaml import YAML  # the writer the configs use

        document = {
            "base": self.base_path.name,
            "study": self.study_name.text().strip(),
            "sampler": self.sampler.currentText(),
            "trials": self.trials.value(),
            "pruning": "median" if self.pruning.isChecked() else "none",
            "fixed": {"training.num_epochs": self.epochs.value()},
            "parameters": parameters,
        }
        path = self.base_path.with_name(f"sweep-{document['study'] or 'sweep'}.yaml")
        yaml = YAML()
        yaml.default_flow_style = None
        text = _dump(yaml, document)
        atomic_write_text(path, text)
        return path if self.open_sweep_file(str(path)) else None

    def open_sweep_file(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open a sweep file", str(self.base_path.parent if self.base_path else Path.cwd()), "YAML (*.yaml *.yml)"
            )
        if not path:
            return False
        try:
            self.spec = load_sweep(Path(path))
        except ConfigError as exc:
            self.spec = None
            self.summary.setText("<b>The sweep file has problems:</b><br>" + "<br>".join(exc.messages))
            self._set_running(False)
            return False
        self.spec_path, self._study = Path(path), None
        self.summary.setText(f"<b>{path}</b><br>" + "<br>".join(describe(self.spec)))
        self._set_running(False)
        self.refresh()
        return True

    # ----- running ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.spec is None or self.process is not None:
            return
        if self.spec.base_path and not self.confirm_base(Path(self.spec.base_path)):
            return
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.finished.connect(self._finished)
        workers = self.workers.value()
        threads = max(1, ((os.cpu_count() or 1) - 1) // workers)  # the cores but one, shared: the window keeps its own
        arguments = [str(ROOT / "main.py"), "sweep", "--spec", str(self.spec_path), "--workers", str(workers), "--threads", str(threads)]
        self.process.start(sys.executable, [*arguments, "--sweeps-dir", str(self.sweeps_dir)])
        self._set_running(True)
        self.timer.start()
        self.message.emit(f"sweep {self.spec.study} started with {self.workers.value()} worker(s)")

    def stop(self) -> None:
        """Ctrl-C for the sweep: its running trials end as stopped runs; Start continues it later."""
        if self.process is not None and self.process.processId():
            os.kill(self.process.processId(), signal.SIGINT)
            self.message.emit("stopping the sweep: its running trials end at the next optimizer step")

    def _finished(self) -> None:
        output = bytes(self.process.readAll()).decode(errors="replace").strip().splitlines()
        self.process = None
        self.timer.stop()
        self._set_running(False)
        self.refresh()
        self.message.emit(f"sweep ended: {output[-1] if output else 'no output'}")

    def shutdown(self) -> None:
        """Stop a running sweep and wait for it (its trials end as stopped runs)."""
        if self.process is not None:
            self.stop()
            self.process.waitForFinished(120_000)

    # ----- what the study holds -----------------------------------------------------------------
    def refresh(self) -> None:
        if self.spec is None:
            return
        from engine.sweep_runner import load_study, parameter_importance, storage_for, trial_rows

        folder = self.sweeps_dir / self.spec.study
        if not (folder / "study.journal").exists():
            return
        if self._study is None or self._study[0].study_name != self.spec.study:
            try:
                self._study = load_study(self.spec.study, storage_for(None, folder))
            except Exception as exc:  # a study being created, or another sweep's: say so, keep the last table
                self.message.emit(f"cannot read the study yet: {exc.__class__.__name__}")
                return
        study, spec = self._study
        self.rows = trial_rows(study, spec)
        self._fill_table()
        self.objective.set_rows(self.rows)
        if spec.parameters:
            self.sensitivity.set_rows(self.rows, spec.parameters)
            self.parallel.set_rows(self.rows, spec.parameters)
        if self.process is None:  # fANOVA fits a forest: once the sweep has ended, not on every tick
            self.importance.set_importance(parameter_importance(study, spec))

    def _fill_table(self) -> None:
        columns = [c for c in (self.rows[0] if self.rows else {}) if c != "run_dir"]
        self.table.setSortingEnabled(False)
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, column in enumerate(columns):
                value = row.get(column)
                if isinstance(value, float) or column in ("number",):
                    item = NumberItem(value, _column(column))
                else:
                    item = QTableWidgetItem("—" if value is None else format_number(value))
                item.setData(RUN_DIR_ROLE, row.get("run_dir", ""))
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()

    def _open_selected(self) -> None:
        items = self.table.selectedItems()
        run_dir = items[0].data(RUN_DIR_ROLE) if items else ""
        if run_dir:
            self.open_run.emit(Path(run_dir.split(";")[0]))

    def open_dashboard(self) -> None:
        """The study in optuna-dashboard (when installed), served from its journal file."""
        journal = self.sweeps_dir / self.spec.study / "study.journal" if self.spec else None
        if journal is not None and journal.exists():
            QProcess.startDetached(dashboard_command(), [str(journal)])
            self.message.emit(f"optuna-dashboard started on {journal}")

    def best_config(self) -> Config | None:
        done = [r for r in self.rows if r.get("validation_mse") is not None]
        if self.spec is None or not done:
            return None
        best = min(done, key=lambda r: r["validation_mse"])
        keys = [p.key for p in self.spec.parameters] + [k for e in self.spec.experiments for k in e]
        return self.spec.trial_config({k: best[k] for k in keys if best.get(k) is not None})

    def load_best(self) -> None:
        config = self.best_config()
        if config is None:
            self.message.emit("no finished trial yet")
            return
        self.load_config.emit(config)


def _column(name: str) -> ComparisonColumn:
    """How a trials-table number is shown: trial numbers whole, seconds to a tenth, MSEs as the Runs tab shows them."""
    return ComparisonColumn(name, digits={"number": 0, "seconds": 1}.get(name, 5))


def _dump(yaml: Any, document: dict[str, Any]) -> str:
    import io

    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def dashboard_command() -> str | None:
    """optuna-dashboard, when installed, to open a study in the browser."""
    return shutil.which("optuna-dashboard")
