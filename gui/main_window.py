"""The main window: tabs for the experiment, training, results and runs; menus and shortcuts;
one training thread at a time; settings kept between sessions."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pyqtgraph as pg
import PySide6
from PySide6.QtCore import QSettings, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
)

from engine.background import BackgroundRun, TrainingProcess
from engine.checkpoints import CheckpointError
from engine.config import Config, ConfigError, load_config, save_config
from engine.events import EpochDone, RunEvaluated, RunFinished, RunJob, RunStarted
from engine.experiments import notes_for
from engine.legacy import import_checkpoint
from engine.report import write_report
from engine.runs import RunError, RunRecord, load_run, versions
from gui.config_form import ConfigForm
from gui.preview_panel import PreviewPanel
from gui.results_panel import ResultsPanel
from gui.run_graphs import export_graphs, export_report_figures
from gui.runs_panel import RunsPanel
from gui.sweeps_panel import SweepsPanel
from gui.training_panel import TrainingPanel
from gui.widgets import WheelGuard
from gui.worker import TrainingWorker, join_worker, start_worker

SETTINGS_VERSION = 1
MAX_RECENT = 8


def migrate_settings(settings: QSettings) -> None:
    """Settings carry a version; older layouts are upgraded here (none differ yet)."""
    version = int(settings.value("version", 0))
    if version < SETTINGS_VERSION:
        settings.setValue("version", SETTINGS_VERSION)


class MainWindow(QMainWindow):
    def __init__(self, presets_dir: Path, settings: QSettings | None = None, default_config: Path | None = None):
        super().__init__()
        self.presets_dir = presets_dir
        self.settings = settings or QSettings()
        migrate_settings(self.settings)
        QApplication.instance().installEventFilter(WheelGuard(self))  # removed with the window
        self.config_path: Path | None = None
        self.config_text: str | None = None  # the file's text, to keep its comments on save
        self.saved_config: Config | None = None
        self.config: Config | None = None
        self.thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.last_run_folder: Path | None = None
        self.error_box: QMessageBox | None = None
        self.spare: TrainingProcess | None = None  # started ahead, so Start skips the torch import
        self.closing = False

        self.form = ConfigForm()
        self.preview = PreviewPanel()
        self.training = TrainingPanel()
        self.results = ResultsPanel()
        self.runs = RunsPanel()
        self.sweeps = SweepsPanel(self.settings)
        experiment = QSplitter()
        experiment.addWidget(self.form)
        experiment.addWidget(self.preview)
        experiment.setSizes([420, 1000])
        self.tabs = QTabWidget()
        self.tabs.addTab(experiment, "Experiment")
        self.tabs.addTab(self.training, "Training")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.runs, "Runs")
        self.tabs.addTab(self.sweeps, "Sweeps")
        self.setCentralWidget(self.tabs)
        self.device_label = QLabel()
        self.statusBar().addPermanentWidget(self.device_label)

        self._build_actions()
        self.form.edited.connect(self.on_edited)
        self.runs.open_requested.connect(self.open_run)
        self.runs.config_requested.connect(lambda config: self.load_config_object(config, ask=True))
        self.runs.resume_requested.connect(self.resume_run)
        self.runs.message.connect(self.statusBar().showMessage)
        self.runs.report_requested.connect(self.write_report)
        self.sweeps.open_run.connect(lambda folder: self.open_run(load_run(folder)))
        self.sweeps.load_config.connect(lambda config: self.load_config_object(config, ask=True))
        self.sweeps.message.connect(self.statusBar().showMessage)
        self.sweeps.confirm_base = self.confirm_sweep_base
        self.results.exported.connect(self.statusBar().showMessage)
        self.training.exported.connect(self.statusBar().showMessage)
        self._restore(default_config)
        QTimer.singleShot(0, self._prepare_training_process)

    # ----- actions -------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
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
        help_menu.addAction(self._action("&About", self.about))
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.start_action, self.pause_action, self.stop_action):
            toolbar.addAction(action)
        self._set_running(False)

    def _restore(self, default_config: Path | None) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        self.runs.set_runs_dir(Path(str(self.settings.value("runs_dir", "runs"))))
        self.sweeps.sweeps_dir = Path(str(self.settings.value("sweeps_dir", self.runs.runs_dir.parent / "sweeps")))
        last = self.settings.value("last_config")
        candidate = Path(str(last)) if last else default_config
        if candidate is None or not candidate.exists() or not self.open_config(candidate):
            self.load_config_object(Config())
        self._refresh_recent()

    # ----- config --------------------------------------------------------------------------
    def open_config_dialog(self) -> None:
        if not self.keep_or_discard_edits():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open config", "", "YAML (*.yaml *.yml)")
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

    def load_config_object(self, config: Config, ask: bool = False) -> None:
        """Show ``config`` (a run's, say) as an untitled experiment; unchanged until edited."""
        if ask and not self.keep_or_discard_edits():
            return
        self.config_path, self.saved_config = None, config
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

    def confirm_sweep_base(self, base: Path) -> bool:
        """A sweep reads its base from disk: unsaved edits of that file are saved first, or it does not start."""
        if not self.has_unsaved_edits or self.config_path is None or base.resolve() != self.config_path.resolve():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"The sweep starts from {base.name} as it is on disk, and the editor has changes to it that are not saved. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        return answer == QMessageBox.StandardButton.Save and self.save()

    def on_edited(self, config: Config | None, errors: list[str]) -> None:
        self.config = config
        self.sweeps.current = config
        self.start_action.setEnabled(config is not None and self.thread is None)
        if config is not None:
            self.preview.set_config(config)
            self.statusBar().showMessage("")
        else:
            self.statusBar().showMessage(f"{len(errors)} invalid setting(s): {errors[0]}")
        self._update_title()

    def _update_title(self) -> None:
        name = self.config_path.name if self.config_path else "untitled"
        self.sweeps.base_path = self.config_path  # a sweep built in the window starts from the saved experiment
        self.setWindowModified(self.has_unsaved_edits)
        self.setWindowTitle(f"{name}[*] — LSTM Frequency Extraction Workbench")

    def save(self) -> bool:
        if self.config_path is None:
            return self.save_as()
        return self._save_to(self.config_path)

    def save_as(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save config", "config.yaml", "YAML (*.yaml *.yml)")
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
        value = self.settings.value("recent", [])
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
        self.form.setEnabled(not running)
        self.presets_menu.setEnabled(not running)

    def _prepare_training_process(self) -> None:
        """Start the next run's process now: it imports torch while the user edits."""
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
        if self.config is None or self.thread is not None:
            return
        started_from = self.config_path.name if self.config_path else "untitled"
        notes = notes_for(self.config, self.saved_config, started_from)
        config = copy.deepcopy(self.config)
        if config.training.num_threads == 0:  # leave a core for the GUI so it never waits on training
            config.training.num_threads = max(1, (os.cpu_count() or 2) - 1)
        self._launch(RunJob(config, self.runs.runs_dir, template=self.config_text, notes=notes, export_graphs=export_graphs))

    def resume_run(self, folder: Path) -> None:
        if self.thread is not None:
            return
        self._launch(RunJob(resume=folder, export_graphs=export_graphs))

    def _launch(self, job: RunJob) -> None:
        """Train in the ready process (the run's PNGs written there too), its events relayed by a thread."""
        run = BackgroundRun(job, worker=self._take_training_process())
        self.training.starting()
        self.worker = worker = TrainingWorker(run)
        worker.started.connect(self.on_started)
        worker.epoch_done.connect(self.on_epoch)
        worker.evaluated.connect(self.on_evaluated)
        worker.finished.connect(self.on_finished)
        self.thread = start_worker(worker)
        self.thread.finished.connect(self._thread_done)
        self._set_running(True)
        self.tabs.setCurrentWidget(self.training)

    def on_started(self, event: RunStarted) -> None:
        self.last_run_folder = event.folder
        self.runs.active_folder = event.folder
        self.training.start(event)
        self.device_label.setText(f"device: {event.device}   run: {event.folder.name}")

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
            self.open_run(load_run(self.last_run_folder), switch=event.status == "completed")

    def on_finished(self, event: RunFinished) -> None:
        self.runs.active_folder = None
        QTimer.singleShot(0, self._prepare_training_process)  # the next run's process, now that no training competes
        self.training.finished(event)
        if event.status in ("diverged", "failed"):  # non-modal: the window stays usable behind the message
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, f"Training {event.status}", event.message, parent=self)
            self.error_box.open()
        self.statusBar().showMessage(f"run {event.status}" + (f": {event.message}" if event.message else ""))
        self.runs.refresh()

    def _thread_done(self) -> None:
        if self.thread is None:  # already ended by shutdown()
            return
        join_worker(self.thread)
        self.thread, self.worker = None, None
        self._set_running(False)

    def import_checkpoint(self, path: str | None = None) -> Path | None:
        """A checkpoint of the user's own program as a run folder, evaluated on the editor's config."""
        if self.config is None or self.thread is not None:
            QMessageBox.information(self, "Import checkpoint", "Import needs a valid experiment in the editor and no run training.")
            return None
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a checkpoint trained with the experiment in the editor", "", "PyTorch (*.pt *.pth);;All files (*)"
            )
        if not path:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            run, _ = import_checkpoint(Path(path), self.config, self.runs.runs_dir, self.config_text)
            export_graphs(run.folder, run.config)
        except (CheckpointError, RunError) as exc:
            QMessageBox.warning(self, "Cannot import", str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.runs.refresh()
        self.open_run(load_run(run.folder))
        self.statusBar().showMessage(f"imported {path} as {run.folder}")
        return run.folder

    def write_report(self, folders: list[Path], out: str | None = None) -> Path | None:
        """The configuration-evolution record of ``folders`` (report.md and its PNGs) into a folder the user picks."""
        if not out:
            out = QFileDialog.getExistingDirectory(self, "Write the report into", str(self.runs.runs_dir))
        if not out:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            path = write_report(folders, Path(out), export_report_figures)
        except RunError as exc:
            QMessageBox.warning(self, "Cannot write the report", str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.statusBar().showMessage(f"report of {len(folders)} runs written to {path}")
        return path

    def open_run(self, record: RunRecord, switch: bool = True) -> None:
        self.results.show_run(record)
        self.statusBar().showMessage(f"showing run {record.folder}")
        if switch:
            self.tabs.setCurrentWidget(self.results)

    # ----- window --------------------------------------------------------------------------
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
        if self.thread is not None:
            answer = QMessageBox.question(self, "Training is running", "Stop the run (its last checkpoint is kept) and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.shutdown()
        self.settings.setValue("geometry", self.saveGeometry())
        event.accept()

    def shutdown(self) -> None:
        """Stop a running training and sweep, wait for them to end, and end the spare process."""
        self.closing = True
        self.sweeps.shutdown()
        if self.thread is not None:
            self.worker.control.request_stop()
            self._thread_done()
        spare = self._take_training_process()
        if spare is not None:
            spare.close()
