"""The config editor: a form built from the engine's schema, one widget per key, the engine's
own validation messages shown at the field they name."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.config import Config, ConfigError, config_from_dict, schema_fields

EDITED_SECTIONS = ("data", "model", "training", "evaluation", "visualization")
FOLDER_KEYS = {"data_dir", "runs_dir", "save_dir", "output_dir"}
INVALID_STYLE = "border: 2px solid #d55e00; background: #fff1ea;"


class FrequencyListEditor(QWidget):
    """The frequency list: one spin box (Hz) per frequency, a remove button each, and Add."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.spins: list[QDoubleSpinBox] = []
        self.rows = QVBoxLayout(self)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(2)
        self.add_button = QPushButton("+ Add frequency")
        self.add_button.clicked.connect(lambda: self.add(self.values()[-1] + 2 if self.spins else 1.0))
        self.rows.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def values(self) -> list[float]:
        return [spin.value() for spin in self.spins]

    def set_values(self, values: list[float]) -> None:
        while self.spins:
            self._remove(self.spins[-1], emit=False)
        for value in values:
            self.add(value, emit=False)

    def add(self, value: float, emit: bool = True) -> None:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        spin = QDoubleSpinBox()
        spin.setRange(0.001, 1e6)
        spin.setDecimals(3)
        spin.setSuffix(" Hz")
        spin.setValue(value)
        spin.valueChanged.connect(self.changed)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove this frequency")
        remove.clicked.connect(lambda: self._remove(spin))
        line.addWidget(spin, 1)
        line.addWidget(remove)
        self.spins.append(spin)
        self.rows.insertWidget(self.rows.count() - 1, row)
        if emit:
            self.changed.emit()

    def _remove(self, spin: QDoubleSpinBox, emit: bool = True) -> None:
        self.spins.remove(spin)
        row = spin.parentWidget()
        self.rows.removeWidget(row)
        row.deleteLater()
        if emit:
            self.changed.emit()


def _float_decimals(f: dataclasses.Field) -> int:
    return 6 if f.metadata.get("min", 1) < 0.01 or f.name in ("learning_rate",) else 3


class ConfigForm(QWidget):
    """Emits ``edited`` on every change with the validated Config, or None and the messages."""

    edited = Signal(object, list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        self._loading = False
        inner = QWidget()
        column = QVBoxLayout(inner)
        for section in EDITED_SECTIONS:
            box = QGroupBox(section.capitalize())
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for f in schema_fields(section):
                key = f"{section}.{f.name}"
                editor = self._make_editor(f)
                editor.setToolTip(f.metadata.get("help", ""))
                editor.setObjectName(key)
                self.editors[key] = editor
                label = QLabel(f.name.replace("_", " "))
                label.setToolTip(f.metadata.get("help", ""))
                form.addRow(label, self._with_picker(editor) if f.name in FOLDER_KEYS else editor)
            column.addWidget(box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #b23c00;")
        self.errors.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.errors)
        self._paths = Config().paths
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self.validate)

    def _make_editor(self, f: dataclasses.Field) -> QWidget:
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.name == "frequencies":
            editor = FrequencyListEditor()
            editor.changed.connect(self._changed)
        elif "choices" in meta:
            editor = QComboBox()
            editor.addItems(list(meta["choices"]))
            editor.currentIndexChanged.connect(self._changed)
        elif isinstance(default, bool) or default is None or isinstance(default, str):
            editor = QLineEdit()
            editor.textChanged.connect(self._changed)
        elif isinstance(default, int):
            editor = QSpinBox()
            editor.setRange(int(meta.get("min", -(2**31))), int(min(meta.get("max", 2**31 - 1), 2**31 - 1)))
            editor.setKeyboardTracking(True)
            editor.valueChanged.connect(self._changed)
        else:
            editor = QDoubleSpinBox()
            editor.setDecimals(_float_decimals(f))
            editor.setRange(float(meta.get("min", -1e9)), float(meta.get("max", 1e9)))
            editor.setSingleStep(10 ** -editor.decimals() * 10 if editor.decimals() > 3 else 0.1)
            editor.valueChanged.connect(self._changed)
        return editor

    def _with_picker(self, editor: QLineEdit) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(editor, 1)
        button = QPushButton("…")
        button.setFixedWidth(32)
        button.setToolTip("Choose a folder")
        button.clicked.connect(lambda: self._pick_folder(editor))
        layout.addWidget(button)
        return row

    def _pick_folder(self, editor: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", editor.text())
        if folder:
            editor.setText(folder)

    def _changed(self, *_: Any) -> None:
        if not self._loading:
            self._debounce.start()

    def set_config(self, config: Config) -> None:
        """Show ``config`` in the form without emitting one edit per field."""
        self._loading = True
        try:
            values = config.to_dict()
            self._paths = config.paths
            for key, editor in self.editors.items():
                section, name = key.split(".")
                value = values[section][name]
                if isinstance(editor, QComboBox):
                    editor.setCurrentText(str(value))
                elif isinstance(editor, FrequencyListEditor):
                    editor.set_values(value)
                elif isinstance(editor, QLineEdit):
                    editor.setText(str(value))
                else:
                    editor.setValue(value)
        finally:
            self._loading = False
        self.validate()

    def raw(self) -> dict[str, dict[str, Any]]:
        """The form's values as a config document (text lists parsed, paths carried through)."""
        raw: dict[str, dict[str, Any]] = {section: {} for section in EDITED_SECTIONS}
        raw["paths"] = dataclasses.asdict(self._paths)
        for key, editor in self.editors.items():
            section, name = key.split(".")
            if isinstance(editor, QComboBox):
                value: Any = editor.currentText()
            elif isinstance(editor, FrequencyListEditor):
                value = editor.values()
            elif isinstance(editor, QLineEdit):
                value = editor.text().strip()
            else:
                value = editor.value()
            raw[section][name] = value
        return raw

    def validate(self) -> Config | None:
        """Validate with the engine, mark each named field, and emit ``edited``."""
        for editor in self.editors.values():
            editor.setStyleSheet("")
            editor.setToolTip(editor.toolTip().split("\n\n⚠")[0])
        try:
            config = config_from_dict(self.raw())
        except ConfigError as exc:
            for message in exc.messages:
                key = message.split(":")[0].split(" ")[0]
                editor = self.editors.get(key)
                if editor is not None:
                    editor.setStyleSheet(INVALID_STYLE)
                    editor.setToolTip(editor.toolTip() + "\n\n⚠ " + message)
            self.errors.setText("\n".join(f"⚠ {m}" for m in exc.messages))
            self.edited.emit(None, exc.messages)
            return None
        self.errors.setText("")
        self.edited.emit(config, [])
        return config
