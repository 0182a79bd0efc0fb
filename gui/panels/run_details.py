"""Beside the runs table: the selected run's name, tags and note (saved into its folder), and what
changed between two selected runs."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from engine.config.schema import config_changes, format_number
from engine.runs.notes import display_names, parse_tags
from engine.runs.run import RunError, RunRecord, save_notes


def diff_text(old: RunRecord, new: RunRecord) -> str:
    """``key: old → new`` for every setting that differs between two runs' configs."""
    if old.config is None or new.config is None:
        return "One of the runs has no readable config.yaml."
    changes = config_changes(old.config, new.config)
    head = " → ".join(display_names([old, new]))
    if not changes:
        return f"{head}\nsame settings"
    return head + "\n" + "\n".join(f"{key}: {format_number(a)} → {format_number(b)}" for key, a, b in changes)


class RunDetails(QWidget):
    """Edit one run's notes; with two runs selected, show their config diff instead."""

    saved = Signal(object)  # the Path of the run whose notes were written

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: RunRecord | None = None
        self.title = QLabel("Select a run to name it and note why it was made; select two to see what changed.")
        self.title.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setPlaceholderText("default: the settings it changed")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, separated by spaces or commas")
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Why this run: the change and the reason for it")
        self.save_button = QPushButton("Save notes")
        self.save_button.clicked.connect(self.save)
        self.diff = QPlainTextEdit()
        self.diff.setReadOnly(True)
        self.editor = QWidget()
        form = QFormLayout(self.editor)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name", self.name)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        form.addRow("", self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.editor)
        layout.addWidget(self.diff)
        self.show_records([])

    def show_records(self, records: list[RunRecord]) -> None:
        self.record = records[0] if len(records) == 1 else None
        self.editor.setVisible(self.record is not None)
        self.diff.setVisible(len(records) == 2)
        if self.record is not None:
            notes = self.record.notes
            self.title.setText(
                f"<b>{self.record.folder.name}</b>" + (f" — imported from {notes.imported_from}" if notes.imported_from else "")
            )
            self.name.setText(notes.name)
            self.tags.setText(" ".join(notes.tags))
            self.note.setPlainText(notes.note)
        elif len(records) == 2:
            self.title.setText("<b>Config diff</b> of the two selected runs, older → newer")
            self.diff.setPlainText(diff_text(*sorted(records, key=lambda r: r.folder.name)))
        else:
            self.title.setText("Select a run to name it and note why it was made; select two to see what changed.")

    @property
    def has_unsaved_notes(self) -> bool:
        if self.record is None:
            return False
        notes = self.record.notes
        return (self.name.text().strip(), self.note.toPlainText(), parse_tags(self.tags.text())) != (notes.name, notes.note, notes.tags)

    def save(self) -> None:
        if self.record is None:
            return
        notes = self.record.notes.edited(self.name.text(), self.note.toPlainText(), self.tags.text())
        try:
            save_notes(self.record.folder, notes)
        except RunError as exc:  # the edits stay in the fields, unsaved
            QMessageBox.warning(self, "Notes not saved", str(exc))
            return
        self.saved.emit(self.record.folder)
