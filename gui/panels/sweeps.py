"""Sweeps: build a search space from the experiment in the editor (or open a sweep file), run it as
the sweep command in processes of its own, and watch its trials and figures as they finish.

The sweep runs as ``main.py sweep`` in a child process group, so its training never shares this
process; the panel reads the study's storage on a timer (a small file on one machine)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.comparison import ComparisonColumn
from engine.config.schema import SECTION_TYPES, Config, ConfigError, format_number, parse_value, schema_fields
from engine.process.child_call import call_in_child
from engine.storage.files import atomic_write_text
from engine.sweeps.space import SAMPLERS, SweepSpec, describe, load_sweep
from gui.panels.runs import shown
from gui.plots.sweep_figures import ImportanceFigure, ObjectiveFigure, ParallelCoordinatesFigure, SensitivityFigure
from gui.table_model import PAYLOAD_ROLE, ROWS_MEASURED, Row, RowsModel, fit_columns, number
from gui.tasks import Steps, Tasks, TaskState
from gui.widgets import PageTabs, button_row, push_button

ROOT = Path(__file__).resolve().parents[2]  # the checkout holding main.py


def headless_command(arguments: list[str]) -> tuple[str, list[str]]:
    """(program, arguments) that run this workbench's command line: a frozen bundle is itself the
    program (its main.py is built in, not shipped); from source, this Python runs main.py."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(arguments)
    return sys.executable, [str(ROOT / "main.py"), *arguments]


POLL_MS = 2000
RUN_DIR_ROLE = PAYLOAD_ROLE  # a trials-table row's run folder(s), ";" between them
SPACE_HINT = "one per line:  key: [choice, choice]   or   key: low..high   (add  log  for a log scale)"
DEFAULT_SPACE = "model.hidden_size: [64, 128, 256]\ntraining.learning_rate: 1e-4..1e-2 log\n"
SWEEP_FILE = "sweep file"  # the background task reading a chosen sweep file
LAST_SWEEP = "sweeps/last"  # the sweep file last opened or built, shown again at the next start


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

    def __init__(
        self,
        settings: QSettings | None = None,
        tasks: Tasks | None = None,
        parent: QWidget | None = None,
        confirm_base: Callable[[Path], Path | None] = lambda base: base,
    ):
        super().__init__(parent)
        self.settings = settings
        self.tasks = tasks or Tasks(self)  # the window's, shared by its panels and ended when it closes
        self.drawing = Steps(self)  # the table and each figure in an event-loop turn of its own
        self.base_path: Path | None = None  # the editor's config file, the base of a sweep built here
        # called with a sweep's base file before it starts, answers the file to start from (the same,
        # or the edits saved as a new one), or None to cancel the start
        self.confirm_base = confirm_base
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
        self._read_again = False  # asked for while one was under way: read once more when it ends
        self.space = QPlainTextEdit(DEFAULT_SPACE)
        self.space.setToolTip(SPACE_HINT)
        self.current: Config | None = None  # the experiment in the editor: where a picked setting's values start
        self.key_picker = QComboBox()
        self.key_picker.addItems(searchable_keys())
        self.key_picker.setCurrentText("model.hidden_size")
        self.kind = QComboBox()
        self.kind.addItems(["choices", "range", "log range"])
        self.summary = QLabel("Build a search space from the experiment in the editor, or open a sweep file.")
        self.summary.setWordWrap(True)
        self.model = RowsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.doubleClicked.connect(self._open_selected)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setResizeContentsPrecision(ROWS_MEASURED)
        self.objective = ObjectiveFigure()
        self.sensitivity = SensitivityFigure()
        self.parallel = ParallelCoordinatesFigure()
        self.importance = ImportanceFigure()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.setLayout(self._layout())
        self._set_running(False)
        for key, read, write, changed in (
            ("study", self.study_name.text, self.study_name.setText, self.study_name.textChanged),
            ("sampler", self.sampler.currentText, self.sampler.setCurrentText, self.sampler.currentTextChanged),
            ("trials", self.trials.value, self.trials.setValue, self.trials.valueChanged),
            ("epochs", self.epochs.value, self.epochs.setValue, self.epochs.valueChanged),
            ("pruning", self.pruning.isChecked, self.pruning.setChecked, self.pruning.toggled),
            ("space", self.space.toPlainText, self.space.setPlainText, self.space.textChanged),
        ):
            self._keep(f"sweeps/{key}", read, write, changed)
        last = settings.value(LAST_SWEEP) if settings is not None else None
        if isinstance(last, str) and Path(last).is_file() and self.open_sweep_file(last, read=False):
            QTimer.singleShot(0, self.refresh)  # once the window has set the sweeps folder

    def _keep(self, key: str, read: Callable[[], Any], write: Callable[[Any], None], changed: Any) -> None:
        """A set-up field as it was left, and every edit of it kept at once: never lost by quitting, so never asked about."""
        if self.settings is None:
            return
        write(self.settings.value(key, read(), type=type(read())))
        changed.connect(lambda *_: self.settings.setValue(key, read()))

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
        self.use_button = push_button("Use this space", self.build_from_form)
        self.open_button = push_button("Open sweep file…", self.choose_sweep_file)
        self.start_button = push_button("Start", self.start)
        self.stop_button = push_button("Stop", self.stop)
        self.buttons = button_row(
            [
                self.use_button,
                self.open_button,
                self.start_button,
                self.stop_button,
                ("Load best into the editor", self.load_best),
                *([("Open in optuna-dashboard", self.open_dashboard)] if dashboard_command() else []),
            ]
        )
        setup = QWidget()
        setup.setLayout(form)
        scroll = QScrollArea()  # on a small screen the set-up scrolls; the buttons and the trials stay in view
        scroll.setWidget(setup)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(setup.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        trials = QWidget()
        trials_layout = QVBoxLayout(trials)
        trials_layout.setContentsMargins(0, 0, 0, 0)
        trials_layout.addLayout(self.buttons)
        trials_layout.addWidget(self.summary)
        trials_layout.addWidget(self.table, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(scroll)
        left.addWidget(trials)
        left.setSizes([500, 400])
        figures = PageTabs()
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

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and self.spec is not None)
        self.stop_button.setEnabled(running)
        for button in (self.use_button, self.open_button):
            button.setEnabled(not running)

    def set_sweeps_dir(self, folder: Path) -> None:
        """Where sweeps are written and their studies read."""
        self.sweeps_dir = Path(folder)

    def set_experiment(self, config: Config | None, base_path: Path | None) -> None:
        """The experiment in the editor (where a picked setting's values start) and its saved file (the base of a sweep built here)."""
        self.current, self.base_path = config, base_path

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

    def choose_sweep_file(self, path: str | None = None) -> None:
        """A sweep file (asked for where ``path`` is None) read and checked in the background, then shown
        with its study's trials: parsing it and its base config held the window 50-70 ms."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open a sweep file", str(self.base_path.parent if self.base_path else Path.cwd()), "YAML (*.yaml *.yml)"
            )
        if not path:
            return
        chosen = Path(path)
        self.summary.setText(f"<b>{chosen}</b><br>reading…")
        self.tasks.start(SWEEP_FILE, lambda state: load_sweep(chosen), lambda spec: self._show_spec(chosen, spec), self._refuse)

    def open_sweep_file(self, path: str, read: bool = True) -> bool:
        """A sweep file checked and described, and its study's trials read (unless ``read`` is False)."""
        self.tasks.cancel(SWEEP_FILE)  # one chosen earlier and still being read must not replace this one
        try:
            spec = load_sweep(Path(path))
        except ConfigError as exc:
            self._refuse(exc)
            return False
        self._show_spec(Path(path), spec, read)
        return True

    def _refuse(self, error: BaseException) -> None:
        """A sweep file that cannot be used: its problems (or why it cannot be read) in place of its description."""
        self.spec = None
        problems = error.messages if isinstance(error, ConfigError) else [f"{error.__class__.__name__}: {error}"]
        self.summary.setText("<b>The sweep file has problems:</b><br>" + "<br>".join(problems))
        self._set_running(False)

    def _show_spec(self, path: Path, spec: SweepSpec, read: bool = True) -> None:
        self.spec, self.spec_path, self._study, self.rows = spec, path, None, []
        self.summary.setText(f"<b>{path}</b><br>" + "<br>".join(describe(spec)))
        if self.settings is not None:
            self.settings.setValue(LAST_SWEEP, str(path.resolve()))
        self._set_running(False)
        self._show_rows(spec)  # the last sweep's trials go
        if read:
            self.refresh()

    def _rebase(self, base: Path) -> bool:
        """The sweep file again beside ``base`` (the edits saved as a new file), with that file as its base."""
        from ruamel.yaml import YAML  # round trip: the sweep file's comments stay

        spec_path = self.spec_path
        assert spec_path is not None  # a sweep is open: start() rebases only its file
        yaml = YAML()
        document = yaml.load(spec_path.read_text(encoding="utf-8"))
        document["base"] = base.name
        path = base.with_name(f"{spec_path.stem}-{base.stem}.yaml")
        atomic_write_text(path, _dump(yaml, document))
        return self.open_sweep_file(str(path))

    # ----- running ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.spec is None or self.process is not None:
            return
        if self.spec.base_path:
            base = self.confirm_base(Path(self.spec.base_path))
            if base is None or (base.resolve() != Path(self.spec.base_path).resolve() and not self._rebase(base)):
                return
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.finished.connect(self._finished)
        workers = self.workers.value()
        threads = max(1, ((os.cpu_count() or 1) - 1) // workers)  # the cores but one, shared: the window keeps its own
        sweep = ["sweep", "--spec", str(self.spec_path), "--workers", str(workers), "--threads", str(threads)]
        program, arguments = headless_command([*sweep, "--sweeps-dir", str(self.sweeps_dir)])
        self.process.start(program, arguments)
        self._set_running(True)
        self.timer.start()
        self.message.emit(f"sweep {self.spec.study} started with {self.workers.value()} worker(s)")

    def stop(self) -> None:
        """Ctrl-C for the sweep: its running trials end as stopped runs; Start continues it later."""
        if self.process is not None and self.process.processId():
            os.kill(self.process.processId(), signal.SIGINT)
            self.message.emit("stopping the sweep: its running trials end at the next optimizer step")

    def _finished(self) -> None:
        assert self.process is not None  # connected to this process's finished signal
        output = bytes(self.process.readAll().data()).decode(errors="replace").strip().splitlines()
        self.process = None
        self.timer.stop()
        self._set_running(False)
        self.refresh()
        self.message.emit(f"sweep ended: {output[-1] if output else 'no output'}")

    def shutdown(self) -> None:
        """Stop a running sweep and wait for it (its trials end as stopped runs) and for a read of its study."""
        if self.process is not None:
            self.stop()
            self.process.waitForFinished(120_000)
        self.tasks.shutdown()

    # ----- what the study holds -----------------------------------------------------------------
    @property
    def reading(self) -> bool:
        """A read of the study is under way on a background task."""
        return self.tasks.running("study")

    def refresh(self) -> None:
        """Read the study's trials on a background task (optuna's import and a journal of many trials
        take seconds); the table and figures follow when it is read."""
        if self.spec is None:
            return
        folder = self.sweeps_dir / self.spec.study
        if not (folder / "study.journal").exists():
            return
        if self.reading:  # the kept study is read by one task at a time
            self._read_again = True
            return
        name = self.spec.study
        kept = self._study if self._study is not None and self._study[0].study_name == name else None
        with_importance = self.process is None  # fANOVA fits a forest: once the sweep has ended, not on every tick
        self.tasks.start(
            "study",
            lambda state: read_study(state, name, folder, kept, with_importance),
            lambda read: self._show_study(name, read),
            lambda exc: self._show_study(name, None, exc),
        )

    def _show_study(self, name: str, read: Any, error: BaseException | None = None) -> None:
        if self.spec is not None and name == self.spec.study:
            if read is None:  # a study being created, or another sweep's: say so, keep the last table
                self.message.emit(f"cannot read the study yet: {error.__class__.__name__}")
            else:
                self._study, self.rows, importance = read
                self._show_rows(self._study[1], importance)
        if self._read_again:
            self._read_again = False
            self.refresh()

    def _show_rows(self, spec: SweepSpec, importance: Any = None) -> None:
        """The table and figures from ``self.rows``, one per event-loop turn (all at once held the window 20-40 ms
        for 300 trials); the importance bars where ``importance`` was estimated."""
        self.drawing.start(self._rows_steps(spec, importance))

    def _rows_steps(self, spec: SweepSpec, importance: Any) -> Iterator[None]:
        self._fill_table()
        yield
        self.objective.set_rows(self.rows)
        if spec.parameters:
            yield
            self.sensitivity.set_rows(self.rows, spec.parameters)
            yield
            self.parallel.set_rows(self.rows, spec.parameters)
        if importance is not None:
            yield
            self.importance.set_importance(importance)

    def _fill_table(self) -> None:
        """The trials in the table: their rows prepared here, shown in one reset, sorted as the table was (by column title)."""
        columns = [c for c in (self.rows[0] if self.rows else {}) if c != "run_dir"]
        header = self.table.horizontalHeader()
        sorted_by, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        titles = self.model.titles()
        title = titles[sorted_by] if 0 <= sorted_by < len(titles) else "number"
        column = columns.index(title) if title in columns else 0
        self.model.set_rows(columns, trial_rows_shown(self.rows, columns), column, order)
        self.table.sortByColumn(column, order)  # the indicator: the rows are sorted so already
        fit_columns(self.table, self.model)

    def _open_selected(self) -> None:
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda index: index.row())
        run_dir = rows[0].data(RUN_DIR_ROLE) if rows else ""
        if run_dir:
            self.open_run.emit(Path(run_dir.split(";")[0]))

    def open_dashboard(self) -> None:
        """The study in optuna-dashboard (when installed), served from its journal file."""
        journal = self.sweeps_dir / self.spec.study / "study.journal" if self.spec else None
        command = dashboard_command()
        if journal is not None and journal.exists() and command is not None:
            QProcess.startDetached(command, [str(journal)])
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


def read_study(state: TaskState, name: str, folder: Path, kept: Any, with_importance: bool) -> tuple[Any, list[dict[str, Any]], Any]:
    """A background task: the study (the one kept reads only what is new), its rows, and its importances,
    estimated in a child process (a forest fitted in this one would starve the window of the interpreter)."""
    from engine.sweeps.runner import load_study, storage_for, study_importance, trial_rows

    study, spec = kept or load_study(name, storage_for(None, folder))
    rows = trial_rows(study, spec)
    if not with_importance:
        return (study, spec), rows, None
    state.set_progress(None, f"Estimating the importances of {name}'s settings")
    return (study, spec), rows, call_in_child(study_importance, name, folder, cancelled=state.is_cancelled)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def trial_rows_shown(rows: list[dict[str, Any]], columns: list[str]) -> list[Row]:
    """The trials table's rows: MSEs and seconds as the Runs tab shows numbers, settings as written;
    a column holding numbers sorts by value (a trial without one last), any other by its text."""
    numeric = {c for c in columns if c == "number" or any(_is_number(row.get(c)) for row in rows)}
    shown_as = {c: _column(c) for c in columns}
    right = frozenset(c for c, column in enumerate(columns) if column in numeric)
    made = []
    for row in rows:
        texts: list[str] = []
        values: list[float | None] = []
        for column in columns:
            value = row.get(column)
            if isinstance(value, float) or column == "number":
                texts.append(shown(value, shown_as[column]))
            else:
                texts.append("—" if value is None else format_number(value))
            values.append(number(value if _is_number(value) else None) if column in numeric else None)
        made.append(Row(texts, values, right=right, payload=row.get("run_dir", "")))
    return made


def _column(name: str) -> ComparisonColumn:
    """How a trials-table number is shown: trial numbers whole, seconds to a tenth, MSEs as the Runs tab shows them."""
    return ComparisonColumn(name, digits={"number": 0, "seconds": 1}.get(name, 5), mse="mse" in name)


def _dump(yaml: Any, document: dict[str, Any]) -> str:
    import io

    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def dashboard_command() -> str | None:
    """optuna-dashboard, when installed, to open a study in the browser."""
    return shutil.which("optuna-dashboard")
