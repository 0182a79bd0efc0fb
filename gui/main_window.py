"""The main window: tabs for the experiment, training, results and runs; menus and shortcuts;
one training thread at a time; slow reads and writes on background tasks, their progress in the
status bar; settings kept between sessions."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, cast

import pyqtgraph as pg
import PySide6
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, QSettings, QSize, Qt, QThread, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.analysis.report import write_report
from engine.config.schema import Config, ConfigError, load_config, save_config
from engine.process.child_call import call_in_child
from engine.process.events import EpochDone, RunEvaluated, RunFinished, RunJob, RunStarted
from engine.process.training_process import BackgroundRun, TrainingProcess
from engine.runs.checkpoint_import import import_checkpoint
from engine.runs.notes import notes_for
from engine.runs.repeats import repeat_configs
from engine.runs.run import RunError, RunRecord, load_run, versions
from engine.runs.status import RunStatus
from engine.training.checkpoints import CheckpointError
from gui.app import user_guide
from gui.panels.config_form import ConfigForm
from gui.panels.preview import PreviewPanel
from gui.panels.results import ResultsPanel
from gui.panels.runs import RunsPanel
from gui.panels.sweeps import SweepsPanel
from gui.panels.training import TrainingPanel
from gui.plots.run_graphs import export_graphs, export_report_figures
from gui.tasks import Tasks, TaskState
from gui.widgets import PageTabs, WheelGuard
from gui.worker import TrainingWorker, join_worker, start_worker

SETTINGS_VERSION = 1
MAX_RECENT = 8
DEFAULT_SIZE = QSize(1440, 900)
FRAME_ALLOWANCE = QSize(16, 48)  # a window manager's borders and title bar, unknown until the window is shown


def migrate_settings(settings: QSettings) -> None:
    """Settings carry a version; older layouts are upgraded here (none differ yet)."""
    version = int(cast(Any, settings.value("version", 0)))  # PySide6 types a stored value as object
    if version < SETTINGS_VERSION:
        settings.setValue("version", SETTINGS_VERSION)


def imported_run(state: TaskState, path: Path, config: Config, runs_dir: Path, template: str | None) -> RunRecord:
    """A background task: their checkpoint evaluated into a run folder, its graphs drawn in a child process."""
    state.set_progress(None, f"Importing {path.name}: evaluating it")
    run, _ = import_checkpoint(path, config, runs_dir, template)
    state.set_progress(None, f"Importing {path.name}: drawing its graphs")
    call_in_child(export_graphs, run.folder, run.config, cancelled=state.is_cancelled)
    return load_run(run.folder)


def written_report(state: TaskState, folders: list[Path], out: Path) -> Path:
    """A background task: the report of ``folders`` written into ``out``, its figures drawn in a child process."""
    state.set_progress(None, f"Writing the report of {len(folders)} runs")
    return write_report(
        folders, out, lambda records, folder, dpi: call_in_child(export_report_figures, records, folder, dpi, cancelled=state.is_cancelled)
    )


def open_path(path: Path) -> None:
    """A file or folder in the desktop's own application for it (a file manager, an editor, a browser)."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def fitted(area: QRect) -> QRect:
    """The default window size, shrunk to the screen's free area with room for the frame, centred in it."""
    rect = QRect(QPoint(), DEFAULT_SIZE.boundedTo(area.size() - FRAME_ALLOWANCE))
    rect.moveCenter(area.center())
    return rect


class OutcomeBar(QWidget):
    """What an action produced, with Open for the file or folder it wrote, in the row of the tabs: in
    view on every tab, unlike a status bar message that the next one replaces, and never taller than
    the tabs, so its coming and going never moves or resizes a page (a resized figure is laid out and
    ticked anew). The message is cut in the middle where the row is too short; its tooltip holds it all."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet("OutcomeBar { background: palette(alternate-base); border-radius: 3px; }")
        self.path: Path | None = None
        self.message = ""
        self.text = QLabel()
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # as wide as the row allows
        self.open_button = QToolButton()
        self.open_button.setText("Open")
        self.open_button.clicked.connect(lambda: self.path is not None and open_path(self.path))
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this message")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.close_button)
        self.hide()

    def say(self, text: str, path: Path | None = None) -> None:
        self.message = text
        self.text.setToolTip(text)
        self.path = path
        self.open_button.setVisible(path is not None)
        self.open_button.setToolTip(f"Open {path}" if path else "")
        self.show()
        self.updateGeometry()  # the tab row gives the bar the width of its new message, as far as it reaches
        if (tabs := self.parentWidget()) is not None:  # placed now, never painted a moment where it was
            QCoreApplication.sendPostedEvents(tabs, QEvent.Type.LayoutRequest)
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """Wide enough for the whole message, as far as the room beside the tabs reaches (the tab
        widget places its corner at the width asked, even past its own left edge)."""
        hint = super().sizeHint()
        wanted = hint.width() + self.text.fontMetrics().horizontalAdvance(self.message) + 8
        tabs = self.parentWidget()
        if isinstance(tabs, QTabWidget):
            wanted = min(wanted, tabs.width() - tabs.tabBar().sizeHint().width() - 16)
        return QSize(max(wanted, self.minimumSizeHint().width()), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.text.width(), 0)
        self.text.setText(self.text.fontMetrics().elidedText(self.message, Qt.TextElideMode.ElideMiddle, width))


class MainWindow(QMainWindow):
    def __init__(self, presets_dir: Path, settings: QSettings | None = None, default_config: Path | None = None):
        super().__init__()
        self.presets_dir = presets_dir
        self.settings = settings or QSettings()
        migrate_settings(self.settings)
        app = QApplication.instance()
        assert app is not None  # a window is made inside its application
        app.installEventFilter(WheelGuard(self))  # removed with the window
        self.config_path: Path | None = None
        self.config_text: str | None = None  # the file's text, to keep its comments on save
        self.saved_config: Config | None = None
        self.config: Config | None = None
        self.training_thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.last_run_folder: Path | None = None
        self.error_box: QMessageBox | None = None
        self.spare: TrainingProcess | None = None  # started ahead, so Start skips the torch import
        self.queued: list[RunJob] = []  # repeats of the started experiment that train after the current one
        self.repeat_count = 1
        self.closing = False
        self.tasks = Tasks(self)  # every panel's background reads and writes, ended when the window closes

        self.form = ConfigForm()
        self.preview = PreviewPanel(self.tasks)
        self.training = TrainingPanel()
        self.results = ResultsPanel()
        self.runs = RunsPanel(self.tasks)
        self.sweeps = SweepsPanel(self.settings, self.tasks, confirm_base=self.confirm_sweep_base)
        experiment = QSplitter()
        experiment.addWidget(self.form)
        experiment.addWidget(self.preview)
        experiment.setSizes([420, 1000])
        self.tabs = PageTabs()
        self.tabs.addTab(experiment, "Experiment")
        self.tabs.addTab(self.training, "Training")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.runs, "Runs")
        self.tabs.addTab(self.sweeps, "Sweeps")
        self.notice = OutcomeBar()
        self.tabs.setCornerWidget(self.notice, Qt.Corner.TopRightCorner)
        self.setCentralWidget(self.tabs)
        self.fitted_once = False
        self.device_label = QLabel()
        self.task_label = QLabel()
        self.task_progress = QProgressBar()
        self.task_progress.setMaximumWidth(160)
        for widget in (self.task_label, self.task_progress, self.device_label):
            self.statusBar().addPermanentWidget(widget)
        self.tasks.progress.connect(self._task_progress)
        self.tasks.ended.connect(self._task_ended)
        self._task_ended()

        self._build_actions()
        self.form.edited.connect(self.on_edited)
        self.runs.open_requested.connect(self.open_run)
        self.runs.config_requested.connect(lambda config: self.load_config_object(config, ask=True))
        self.runs.resume_requested.connect(self.resume_run)
        self.runs.message.connect(self.statusBar().showMessage)
        self.runs.report_requested.connect(self.write_report)
        self.sweeps.open_run.connect(self.open_folder)
        self.sweeps.load_config.connect(lambda config: self.load_config_object(config, ask=True, unsaved=True))
        self.sweeps.message.connect(self.statusBar().showMessage)
        self.results.exported.connect(self.say)
        self.training.exported.connect(self.say)
        self._restore(default_config)
        QTimer.singleShot(0, self._prepare_training_process)

    # ----- actions -------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self._action("&Open config…", self.open_config_dialog, QKeySequence.StandardKey.Open))
        file_menu.addAction(self._action("&Save config", self.save, QKeySequence.StandardKey.Save))
        file_menu.addAction(self._action("Save config &as…", self.save_as, QKeySequence.StandardKey.SaveAs))
        self.presets_menu = file_menu.addMenu("&Presets")
        for path in sorted(self.presets_dir.glob("*.yaml")):
            self.presets_menu.addAction(self._action(path.stem, lambda _=False, p=path: self.open_config(p, as_template=True, ask=True)))
        self.recent_menu = file_menu.addMenu("&Recent")
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Import checkpoint…", self.import_checkpoint))
        file_menu.addAction(self._action("Choose runs &folder…", self.choose_runs_dir))
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        run_menu = self.menuBar().addMenu("&Run")
        self.start_action = self._action("&Start training", self.start_training, "Ctrl+R")
        self.pause_action = self._action("&Pause", self.toggle_pause, "Ctrl+P")
        self.stop_action = self._action("S&top", self.stop_training, "Ctrl+.")
        for action in (self.start_action, self.pause_action, self.stop_action):
            run_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&User guide", self.open_user_guide, QKeySequence.StandardKey.HelpContents))
        help_menu.addAction(self._action("&Keyboard shortcuts", self.show_shortcuts))
        help_menu.addAction(self._action("Where &runs are kept", self.show_folders))
        help_menu.addSeparator()
        help_menu.addAction(self._action("&About", self.about))
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.start_action, self.pause_action, self.stop_action):
            toolbar.addAction(action)
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 99)
        self.repeats.setPrefix("repeats ")
        self.repeats.setToolTip(
            "Start trains this many model seeds of the experiment (model.seed, model.seed + 1, …), one after another; "
            "the Runs tab shows them as one group, with each number's mean and spread"
        )
        toolbar.insertWidget(self.pause_action, self.repeats)
        self._set_running(False)

    def _restore(self, default_config: Path | None) -> None:
        geometry = self.settings.value("geometry")
        area = self.screen().availableGeometry()
        if geometry is None or not self.restoreGeometry(geometry) or not area.contains(self.frameGeometry()):
            self.setGeometry(fitted(area))  # first start, or a size saved on a larger screen
        self.runs.set_runs_dir(Path(str(self.settings.value("runs_dir", "runs"))))
        self.sweeps.set_sweeps_dir(Path(str(self.settings.value("sweeps_dir", self.runs.runs_dir.parent / "sweeps"))))
        last = self.settings.value("last_config")
        candidate = Path(str(last)) if last else default_config
        if candidate is None or not candidate.exists() or not self.open_config(candidate):
            self.load_config_object(Config())
        self._refresh_recent()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Once shown, the frame is known: a window whose frame still crosses the free area is fitted again."""
        super().showEvent(event)
        if not self.fitted_once:
            self.fitted_once = True
            QTimer.singleShot(0, self._keep_frame_in_view)

    def _keep_frame_in_view(self) -> None:
        area, frame = self.screen().availableGeometry(), self.frameGeometry()
        if area.contains(frame) or self.isMaximized() or self.isFullScreen():
            return
        extra = frame.size() - self.size()  # the frame's borders and title bar
        inner = fitted(area).size().boundedTo(area.size() - extra)
        self.resize(inner)
        self.move(
            area.x() + (area.width() - inner.width() - extra.width()) // 2,
            area.y() + (area.height() - inner.height() - extra.height()) // 2,
        )

    # ----- config --------------------------------------------------------------------------
    def config_folder(self) -> str:
        """Where Open and Save As start: the folder of the config last opened or saved, not of the last export."""
        last = self.config_path or self.settings.value("last_config")
        return str(Path(str(last)).parent) if last else str(Path.cwd())

    def open_config_dialog(self) -> None:
        if not self.keep_or_discard_edits():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open config", self.config_folder(), "YAML (*.yaml *.yml)")
        if path:
            self.open_config(Path(path))

    def open_config(self, path: Path, as_template: bool = False, ask: bool = False) -> bool:
        """Load a YAML file; a preset opens as an untitled copy so the shipped file stays intact."""
        if ask and not self.keep_or_discard_edits():
            return False
        try:
            config = load_config(path)
        except ConfigError as exc:
            QMessageBox.warning(self, "Cannot open config", "\n".join(exc.messages))
            return False
        self.config_text = path.read_text(encoding="utf-8")
        self.config_path = None if as_template else path
        self.saved_config = config
        if not as_template:
            self._remember(path)
        self.form.set_config(config)
        return True

    def load_config_object(self, config: Config, ask: bool = False, unsaved: bool = False) -> None:
        """Show ``config`` (a run's, say) as an untitled experiment; unchanged until edited, or ``unsaved``
        where it is in no file yet (a sweep's best trial), so quitting asks before it is lost."""
        if ask and not self.keep_or_discard_edits():
            return
        self.config_path, self.saved_config = None, None if unsaved else config
        self.form.set_config(config)

    @property
    def has_unsaved_edits(self) -> bool:
        return self.config is None or self.config != self.saved_config

    def keep_or_discard_edits(self) -> bool:
        """Before unsaved edits would be replaced: Save, Discard or Cancel. True when it may go on."""
        if not self.has_unsaved_edits:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"The experiment ({self.config_path.name if self.config_path else 'untitled'}) has changes that are not saved. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def confirm_sweep_base(self, base: Path) -> Path | None:
        """The file a sweep should start from, read from disk: with unsaved edits of ``base`` in the editor,
        they are saved over it, saved as a new file (the sweep's base then), or left out; None cancels."""
        if not self.has_unsaved_edits or self.config_path is None or base.resolve() != self.config_path.resolve():
            return base
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved changes",
            f"The sweep starts from {base.name} as it is on disk, and the editor has changes to it that are not saved.",
            parent=self,
        )
        box.setInformativeText(f"Save them into {base.name}, save them as a new file to sweep from, or sweep {base.name} as saved?")
        save = box.addButton(QMessageBox.StandardButton.Save)
        save_as = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        as_saved = box.addButton("Run the file as saved", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save_as)  # the edits kept, the file they came from left as it is
        box.exec()
        clicked = box.clickedButton()
        if clicked is as_saved or (clicked is save and self.save()):
            return base
        return self.config_path if clicked is save_as and self.save_as() else None

    def on_edited(self, config: Config | None, errors: list[str]) -> None:
        self.config = config
        self.start_action.setEnabled(config is not None and self.training_thread is None)
        if config is not None:
            self.preview.set_config(config)
            self.statusBar().showMessage("")
        else:
            self.statusBar().showMessage(f"{len(errors)} invalid setting(s): {errors[0]}")
        self._update_title()

    def _update_title(self) -> None:
        name = self.config_path.name if self.config_path else "untitled"
        self.sweeps.set_experiment(self.config, self.config_path)  # a sweep built in the window starts from the saved file
        self.setWindowModified(self.has_unsaved_edits)
        self.setWindowTitle(f"{name}[*] — LSTM Frequency Extraction Workbench")

    def save(self) -> bool:
        if self.config_path is None:
            return self.save_as()
        return self._save_to(self.config_path)

    def save_as(self, path: str | None = None) -> bool:
        if not path:
            name = self.config_path.name if self.config_path else "config.yaml"
            path, _ = QFileDialog.getSaveFileName(self, "Save config", str(Path(self.config_folder()) / name), "YAML (*.yaml *.yml)")
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        if self.config is None:
            QMessageBox.warning(self, "Cannot save", "Fix the marked settings first.")
            return False
        try:
            save_config(self.config, path, keep_comments_from=self.config_text)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.config_text = path.read_text(encoding="utf-8")
        self.config_path, self.saved_config = path, self.config
        self._remember(path)
        self._update_title()
        self.statusBar().showMessage(f"saved {path}")
        return True

    def _remember(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_config", str(path.resolve()))
        self._refresh_recent()

    def _recent(self) -> list[str]:
        value = cast(Any, self.settings.value("recent", []))  # PySide6 types a stored value as object
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for item in self._recent():
            self.recent_menu.addAction(self._action(item, lambda _=False, p=item: self.open_config(Path(p), ask=True)))

    def choose_runs_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.runs.runs_dir))
        if folder:
            self.settings.setValue("runs_dir", folder)
            self.runs.set_runs_dir(Path(folder))

    # ----- training ------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.start_action.setEnabled(not running and self.config is not None)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.pause_action.setText("&Pause")
        self.repeats.setEnabled(not running)
        self.form.setEnabled(not running)
        self.presets_menu.setEnabled(not running)

    def _prepare_training_process(self) -> None:
        """Start the next run's process now: it imports torch while the form is edited."""
        if self.spare is None and not self.closing:
            spare = TrainingProcess()
            try:
                spare.start()
            except Exception:  # no spare: Start will make its own process and say so if it cannot
                return
            self.spare = spare

    def _take_training_process(self) -> TrainingProcess | None:
        spare, self.spare = self.spare, None
        return spare

    def start_training(self) -> None:
        if self.config is None or self.training_thread is not None:
            return
        started_from = self.config_path.name if self.config_path else "untitled"
        config = copy.deepcopy(self.config)
        if config.training.num_threads == 0:  # leave a core for the GUI so it never waits on training
            config.training.num_threads = max(1, (os.cpu_count() or 2) - 1)
        try:
            configs = repeat_configs(config, self.repeats.value())
        except ConfigError as exc:
            QMessageBox.warning(self, "Cannot start", str(exc))
            return
        jobs = [
            RunJob(
                c,
                self.runs.runs_dir,
                template=self.config_text,
                notes=notes_for(c, self.saved_config, started_from),
                export_graphs=export_graphs,
            )
            for c in configs
        ]
        self.queued, self.repeat_count = jobs[1:], len(jobs)  # the repeats start one after another
        self._launch(jobs[0])

    def resume_run(self, folder: Path) -> None:
        if self.training_thread is not None:
            return
        self._launch(RunJob(resume=folder, export_graphs=export_graphs))

    def _launch(self, job: RunJob) -> None:
        """Train in the ready process (the run's PNGs written there too), its events relayed by a thread."""
        run = BackgroundRun(job, worker=self._take_training_process())
        self.last_run_folder = None  # set when the run starts: a run that never starts has no folder to open
        self.training.starting()
        self.worker = worker = TrainingWorker(run)
        worker.started.connect(self.on_started)
        worker.epoch_done.connect(self.on_epoch)
        worker.evaluated.connect(self.on_evaluated)
        worker.finished.connect(self.on_finished)
        self.training_thread = start_worker(worker)
        self.training_thread.finished.connect(self._thread_done)
        self._set_running(True)
        self.tabs.setCurrentWidget(self.training)

    def on_started(self, event: RunStarted) -> None:
        self.last_run_folder = event.folder
        self.runs.set_training(event.folder)
        self.training.start(event)
        repeat = f"   repeat {self.repeat_count - len(self.queued)} of {self.repeat_count}" if self.repeat_count > 1 else ""
        self.device_label.setText(f"device: {event.device}   run: {event.folder.name}{repeat}")

    def on_epoch(self, event: EpochDone) -> None:
        self.training.add_epoch(event.report, event.predictions)

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        control = self.worker.control
        if control.paused:
            control.resume()
            self.pause_action.setText("&Pause")
        else:
            control.pause()
            self.pause_action.setText("&Resume")
        self.training.set_paused(control.paused)

    def stop_training(self) -> None:
        self.queued = []  # Stop ends the repeats not yet started too
        if self.worker is not None:
            self.worker.control.request_stop()
            self.pause_action.setEnabled(False)
            self.stop_action.setEnabled(False)
            self.training.stopping()

    def on_evaluated(self, event: RunEvaluated) -> None:
        """The run's numbers exist: show them now; its graphs are written after, in the training process."""
        self.pause_action.setEnabled(False)
        self.stop_action.setEnabled(False)
        self.training.evaluated(event)
        if self.last_run_folder is not None:
            self.open_run(load_run(self.last_run_folder), switch=event.status == RunStatus.COMPLETED and not self.queued)

    def on_finished(self, event: RunFinished) -> None:
        self.runs.set_training(None)
        if event.status != RunStatus.COMPLETED:  # the next repeats would likely end the same way
            self.queued = []
        QTimer.singleShot(0, self._prepare_training_process)  # the next run's process, now that no training competes
        self.training.finished(event)
        if event.status in (RunStatus.DIVERGED, RunStatus.FAILED):  # non-modal: the window stays usable behind the message
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, f"Training {event.status}", event.message, parent=self)
            self.error_box.open()
        folder = self.last_run_folder
        run = f"run {folder.name}" if folder else "run"
        self.say(f"{run} {event.status}" + (f": {event.message}" if event.message else ""), folder)
        self.runs.refresh_when_shown()

    def _thread_done(self) -> None:
        if self.training_thread is None:  # already ended by shutdown()
            return
        join_worker(self.training_thread)
        self.training_thread, self.worker = None, None
        self._set_running(False)
        if self.queued and not self.closing:
            self._launch(self.queued.pop(0))

    def import_checkpoint(self, path: str | None = None) -> None:
        """A plain PyTorch checkpoint as a run folder, evaluated on the editor's config in the background,
        then opened."""
        if self.config is None or self.training_thread is not None or self.tasks.running("import"):
            QMessageBox.information(
                self, "Import checkpoint", "Import needs a valid experiment in the editor, no run training and no other import."
            )
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a checkpoint trained with the experiment in the editor", "", "PyTorch (*.pt *.pth);;All files (*)"
            )
        if not path:
            return
        source, config, runs_dir, template = Path(path), self.config, self.runs.runs_dir, self.config_text
        self.tasks.start(
            "import",
            lambda state: imported_run(state, source, config, runs_dir, template),
            lambda record: self._imported(source, record),
            lambda exc: self._warn("Cannot import", exc, (CheckpointError, RunError)),
        )

    def _imported(self, source: Path, record: RunRecord) -> None:
        self.open_run(record)  # first: the Results tab in front, the Runs tab reads the folder once shown again
        self.runs.refresh_when_shown()
        self.say(f"imported {source} as {record.folder}", record.folder)

    def write_report(self, folders: list[Path], out: str | None = None) -> None:
        """The configuration-evolution record of ``folders`` (report.md and its PNGs), written into a chosen
        folder in the background."""
        if not out:
            out = QFileDialog.getExistingDirectory(self, "Write the report into", str(self.runs.runs_dir))
        if not out:
            return
        into = Path(out)
        self.tasks.start(
            "report",
            lambda state: written_report(state, folders, into),
            lambda path: self.say(f"report of {len(folders)} runs written to {path}", path),
            lambda exc: self._warn("Cannot write the report", exc, (RunError,)),
        )

    def _warn(self, title: str, exc: BaseException, expected: tuple[type[BaseException], ...]) -> None:
        """A task's failure in a message box: an expected one in its own words, any other with its type."""
        QMessageBox.warning(self, title, str(exc) if isinstance(exc, expected) else f"{exc.__class__.__name__}: {exc}")

    def open_folder(self, folder: Path) -> None:
        """A run folder read in the background, then shown in the Results tab."""
        self.tasks.start("open", lambda state: load_run(folder), self.open_run)

    def open_run(self, record: RunRecord, switch: bool = True) -> None:
        self.results.show_run(record)
        self.statusBar().showMessage(f"showing run {record.folder}")
        if switch:
            self.tabs.setCurrentWidget(self.results)

    # ----- window --------------------------------------------------------------------------
    def _task_progress(self, kind: str, fraction: float | None, text: str) -> None:
        """A background task's progress in the status bar: its words and a bar (moving where its length is unknown)."""
        self.task_label.setText(text)
        self.task_progress.setRange(0, 0 if fraction is None else 1000)
        self.task_progress.setValue(0 if fraction is None else round(fraction * 1000))
        self.task_label.show()
        self.task_progress.show()

    def _task_ended(self, kind: str = "") -> None:
        if not self.tasks.running():
            self.task_label.hide()
            self.task_progress.hide()

    def say(self, text: str, path: Path | None = None) -> None:
        """An outcome in the bar beside the tabs (with Open for ``path``) and in the status bar."""
        self.notice.say(text, path)
        self.statusBar().showMessage(text)

    def open_user_guide(self) -> None:
        guide = user_guide()
        if guide is None:
            QMessageBox.information(self, "User guide", "This installation has no local copy of the user guide.")
            return
        open_path(guide)

    def menu_actions(self, menu: QMenu | None = None) -> list[QAction]:
        """The menus' actions in the order the menus show them, submenus' included."""
        actions = []
        for action in (menu or self.menuBar()).actions():
            submenu = action.menu()  # PySide6 types it QObject: a menu's action opens a QMenu
            actions += self.menu_actions(submenu) if isinstance(submenu, QMenu) else [action]
        return actions

    def show_shortcuts(self) -> None:
        """The menus' actions that have a key, as the actions themselves define them."""
        keyed = [a for a in self.menu_actions() if not a.shortcut().isEmpty()]
        table = QTableWidget(len(keyed), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)  # every row in view, none cut
        for row, action in enumerate(keyed):
            table.setItem(row, 0, QTableWidgetItem(action.text().replace("&", "")))
            table.setItem(row, 1, QTableWidgetItem(action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._show_dialog("Keyboard shortcuts", table)

    def show_folders(self) -> None:
        """Where runs and sweeps are written, each with Open; File › Choose runs folder changes the first."""
        grid = QGridLayout()
        for row, (name, folder) in enumerate((("Runs", self.runs.runs_dir), ("Sweeps", self.sweeps.sweeps_dir))):
            folder = folder.resolve()
            path = QLabel(str(folder))
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            button = QPushButton("Open")
            button.setEnabled(folder.is_dir())
            button.setToolTip(f"Open {folder}" if folder.is_dir() else "Not made yet: the first one written makes it")
            button.clicked.connect(lambda _=False, f=folder: open_path(f))
            grid.addWidget(QLabel(f"<b>{name}</b>"), row, 0)
            grid.addWidget(path, row, 1)
            grid.addWidget(button, row, 2)
        grid.addWidget(QLabel("File › Choose runs folder… changes where new runs go."), 2, 0, 1, 3)
        body = QWidget()
        body.setLayout(grid)
        self._show_dialog("Where runs are kept", body)

    def _show_dialog(self, title: str, body: QWidget) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        dialog.setMinimumWidth(360)  # the title in full
        layout = QVBoxLayout(dialog)
        layout.addWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.exec()

    def about(self) -> None:
        v = versions()
        QMessageBox.about(
            self,
            "About",
            f"<b>LSTM Frequency Extraction Workbench</b> {v['workbench']}<br>"
            f"Python {v['python']} · PySide6 {PySide6.__version__} · pyqtgraph {pg.__version__}<br>"
            f"torch {v['torch']} · numpy {v['numpy']}",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.keep_or_discard_edits():
            event.ignore()
            return
        if self.training_thread is not None:
            answer = QMessageBox.question(self, "Training is running", "Stop the run (its last checkpoint is kept) and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.shutdown()
        self.settings.setValue("geometry", self.saveGeometry())
        event.accept()

    def shutdown(self) -> None:
        """Stop a running training, sweep and background tasks, wait for them to end, and end the spare process."""
        self.closing = True
        self.sweeps.shutdown()
        self.tasks.shutdown()
        if self.training_thread is not None:
            assert self.worker is not None  # a training thread runs its worker
            self.worker.control.request_stop()
            self._thread_done()
        spare = self._take_training_process()
        if spare is not None:
            spare.close()
