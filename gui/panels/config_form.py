"""The config editor: a form built from the engine's schema, one widget per key, the engine's
own validation messages shown at the field they name. The settings a first run changes come
first; the rest wait in closed sections, one per schema section."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias, TypeVar

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
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
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.config.schema import Config, ConfigError, ConfigProblem, config_from_dict, format_number, is_number, parse_value, schema_fields
from engine.runs.notes import name_number

EDITED_SECTIONS = ("data", "model", "training", "evaluation", "visualization")
BASIC_KEYS = ("data.frequencies", "model.hidden_size", "model.num_layers", "training.learning_rate", "training.num_epochs", "training.mode")
FOLDER_KEYS = {"data_dir", "runs_dir", "save_dir", "output_dir"}
INVALID_STYLE = "border: 2px solid #d55e00; background: #fff1ea;"
FIELD_ERROR_STYLE = "color: #b23c00; font-size: 11px;"


class NumberEdit(QLineEdit):
    """A number typed as a person writes it (1e-4, .0001, 4294967295); the engine judges it, so
    every value the schema allows can be entered and every other one is named at the field."""

    def __init__(self, integer: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.integer = integer
        self.shown: tuple[str, Any] = ("", "")  # the text set and the exact value behind it

    def setValue(self, value: float) -> None:  # noqa: N802 - the spin-box name callers know
        """Shown to four significant digits, as run names show it (a sampled 0.0016051911333587634 reads
        0.001605); the exact value is kept until the text is edited."""
        self.shown = (name_number(value), value)
        self.setText(self.shown[0])

    def value(self) -> Any:
        """The typed value: a number when it parses as one, else the text for the engine to refuse."""
        text = self.text().strip()
        if text == self.shown[0]:
            return self.shown[1]
        parsed = parse_value(text) if text else text
        return parsed if is_number(parsed) else text

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Up and Down step an integer by one, as a spin box would."""
        step = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}.get(event.key())
        value = self.value()
        if self.integer and step and isinstance(value, int):
            self.setValue(value + step)
            return
        super().keyPressEvent(event)


class ListEdit(QLineEdit):
    """A list of numbers typed with or without brackets (``50, 80``; empty for none); the engine judges it."""

    def setValue(self, value: list[Any]) -> None:  # noqa: N802 - the name NumberEdit's callers know
        self.setText(format_number(value)[1:-1])

    def value(self) -> Any:
        """The typed list, or the text when it does not read as one (for the engine to refuse)."""
        text = self.text().strip()
        parsed = parse_value(text if text.startswith("[") else f"[{text}]")
        return parsed if isinstance(parsed, list) else text


class FrequencySpin(QDoubleSpinBox):
    """A frequency in Hz, shown in its shortest form (3, 2.5), never padded to fixed decimals."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return format_number(round(value, self.decimals()))


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
        spin = FrequencySpin()
        spin.setDecimals(9)  # every frequency the schema allows above 0 shows and saves unrounded
        spin.setRange(1e-9, 1e9)
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
        assert row is not None  # add() puts every spin in a row of its own
        self.rows.removeWidget(row)
        row.deleteLater()
        if emit:
            self.changed.emit()


Editor: TypeAlias = QCheckBox | QComboBox | FrequencyListEditor | QLineEdit  # a setting's field (NumberEdit, ListEdit: line edits)
EditorKind = TypeVar("EditorKind", bound=QWidget)


def _form_layout(parent: QWidget) -> QFormLayout:
    """A label-and-field layout whose fields take the width they are given."""
    form = QFormLayout(parent)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


class CollapsibleSection(QWidget):
    """A titled group of rows, shown only once opened: settings a first run can leave alone."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.toggle.toggled.connect(self.set_open)
        self.body = QWidget()
        self.form = _form_layout(self.body)
        self.body.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)

    def set_open(self, open_: bool) -> None:
        self.toggle.setChecked(open_)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.body.setVisible(open_)


class FormScrollArea(QScrollArea):
    """Scrolls the form up and down only, never narrower than its fields need: a splitter or a
    small window would otherwise clip them behind a sideways scroll."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt's name
        super().setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # rows came or went (a frequency added): the width needed may differ
        return super().eventFilter(watched, event)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        if (widget := self.widget()) is not None:
            hint.setWidth(widget.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width())
        return hint


class ConfigForm(QWidget):
    """Emits ``edited`` on every change with the validated Config, or None and the messages."""

    edited = Signal(object, list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editors: dict[str, Editor] = {}
        self.labels: dict[str, QLabel] = {}
        self.field_errors: dict[str, QLabel] = {}
        self.help: dict[str, str] = {}
        self.modes: dict[str, str] = {}  # key -> the one training mode that reads it
        self.sections: dict[str, CollapsibleSection] = {}  # key -> the closed section that holds it
        self._marked: set[str] = set()  # keys whose fields show a problem now
        self._loading = False
        inner = QWidget()
        column = QVBoxLayout(inner)
        schema = {f"{section}.{f.name}": f for section in EDITED_SECTIONS for f in schema_fields(section)}
        basic = QGroupBox("Experiment")
        basic_rows = _form_layout(basic)
        for key in BASIC_KEYS:
            basic_rows.addRow(*self._make_row(key, schema[key]))
        column.addWidget(basic)
        for section in EDITED_SECTIONS:
            box = CollapsibleSection(f"{section.capitalize()}: more settings")
            for f in schema_fields(section):
                key = f"{section}.{f.name}"
                if key not in BASIC_KEYS:
                    box.form.addRow(*self._make_row(key, f))
                    self.sections[key] = box
            column.addWidget(box)
        column.addStretch(1)
        scroll = FormScrollArea()
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
        mode = self._editor("training.mode", QComboBox)
        mode.currentTextChanged.connect(self._follow_mode)
        self._follow_mode(mode.currentText())

    def _editor(self, key: str, kind: type[EditorKind]) -> EditorKind:
        """The field of ``key``, of the kind its setting's default made it."""
        editor = self.editors[key]
        assert isinstance(editor, kind), f"{key} is edited in a {type(editor).__name__}"
        return editor

    def _make_row(self, key: str, f: dataclasses.Field) -> tuple[QLabel, QWidget]:
        """Label, editor (with its unit, folder picker or hint) and a line for the field's own message."""
        meta = f.metadata
        editor = self._make_editor(f)
        editor.setObjectName(key)
        self.editors[key] = editor
        self.help[key] = f"{key}: {meta['help']}"
        label = QLabel(meta["label"])
        self.labels[key] = label
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(editor, 1)
        if f.name in FOLDER_KEYS:
            line.addWidget(self._picker(self._editor(key, QLineEdit)))
        if "unit" in meta and f.name != "frequencies":
            line.addWidget(QLabel(meta["unit"]))
        if key == "visualization.comparison_freq_idx":
            self.frequency_hint = QLabel()
            line.addWidget(self.frequency_hint)
        error = QLabel()
        error.setStyleSheet(FIELD_ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        self.field_errors[key] = error
        cell = QWidget()
        stack = QVBoxLayout(cell)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(1)
        stack.addLayout(line)
        stack.addWidget(error)
        if "mode" in meta:
            self.modes[key] = meta["mode"]
        if meta.get("superseded"):  # greyed: the run folder decides where these files go
            for widget in (label, editor):
                widget.setEnabled(False)
        for widget in (label, editor):
            widget.setToolTip(self.help[key])
        return label, cell

    def _make_editor(self, f: dataclasses.Field) -> Editor:
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.name == "frequencies":
            frequencies = FrequencyListEditor()
            frequencies.changed.connect(self._changed)
            return frequencies
        if isinstance(default, bool):
            check = QCheckBox()
            check.toggled.connect(self._changed)
            return check
        if "choices" in meta:
            choice = QComboBox()
            choice.addItems(list(meta["choices"]))
            choice.currentIndexChanged.connect(self._changed)
            return choice
        text: QLineEdit
        if is_number(default):
            text = NumberEdit(integer=isinstance(default, int))
        elif default is None:  # a list (its default is a factory)
            text = ListEdit()
        else:
            text = QLineEdit()
        text.textChanged.connect(self._changed)
        return text

    def _picker(self, editor: QLineEdit) -> QPushButton:
        button = QPushButton("…")
        button.setFixedWidth(32)
        button.setToolTip("Choose a folder")
        button.clicked.connect(lambda: self._pick_folder(editor))
        button.setEnabled(editor.isEnabled())
        return button

    def _pick_folder(self, editor: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", editor.text())
        if folder:
            editor.setText(folder)

    def _changed(self, *_: Any) -> None:
        if not self._loading:
            self._debounce.start()

    def _follow_mode(self, mode: str) -> None:
        """Fields that only the other training mode reads are disabled, with a tooltip saying so."""
        for key, only in self.modes.items():
            used = only == mode
            for widget in (self.labels[key], self.editors[key]):
                widget.setEnabled(used)
                widget.setToolTip(self.help[key] if used else f"Not used in {mode} mode (only in {only} mode).\n\n{self.help[key]}")

    def set_config(self, config: Config) -> None:
        """Show ``config`` in the form without emitting one edit per field."""
        self._loading = True
        try:
            values = config.to_dict()
            self._paths = config.paths
            for key, editor in self.editors.items():
                section, name = key.split(".")
                value = values[section][name]
                if isinstance(editor, QCheckBox):
                    editor.setChecked(value)
                elif isinstance(editor, QComboBox):
                    editor.setCurrentText(str(value))
                elif isinstance(editor, FrequencyListEditor):
                    editor.set_values(value)
                elif isinstance(editor, (NumberEdit, ListEdit)):
                    editor.setValue(value)
                else:
                    editor.setText(str(value))
        finally:
            self._loading = False
        self.validate()

    def raw(self) -> dict[str, dict[str, Any]]:
        """The form's values as a config document (numbers as typed, paths carried through)."""
        raw: dict[str, dict[str, Any]] = {section: {} for section in EDITED_SECTIONS}
        raw["paths"] = dataclasses.asdict(self._paths)
        for key, editor in self.editors.items():
            section, name = key.split(".")
            if isinstance(editor, QCheckBox):
                value: Any = editor.isChecked()
            elif isinstance(editor, QComboBox):
                value = editor.currentText()
            elif isinstance(editor, FrequencyListEditor):
                value = editor.values()
            elif isinstance(editor, (NumberEdit, ListEdit)):
                value = editor.value()
            else:
                value = editor.text().strip()
            raw[section][name] = value
        return raw

    def validate(self) -> Config | None:
        """Validate with the engine, show each problem at the field it names, and emit ``edited``."""
        problems: list[ConfigProblem] = []
        try:
            config = config_from_dict(self.raw())
        except ConfigError as exc:
            config, problems = None, exc.problems
        by_key: dict[str, list[str]] = {}
        for problem in problems:
            by_key.setdefault(problem.key, []).append(str(problem))
        for key in self._marked | set(by_key):  # restyling every field costs a repaint of the form
            messages = by_key.get(key, [])
            if messages and key in self.sections:
                self.sections[key].set_open(True)
            if key in self.editors:
                self.editors[key].setStyleSheet(INVALID_STYLE if messages else "")
                self.field_errors[key].setText("\n".join(messages))
                self.field_errors[key].setVisible(bool(messages))
        self._marked = set(by_key)
        self._show_selected_frequency()
        self.errors.setText("\n".join(f"⚠ {p}" for p in problems))
        self.edited.emit(config, [str(p) for p in problems])
        return config

    def _show_selected_frequency(self) -> None:
        """comparison_freq_idx with the frequency it picks: "→ f2 = 3 Hz"."""
        frequencies = self._editor("data.frequencies", FrequencyListEditor).values()
        index = self._editor("visualization.comparison_freq_idx", NumberEdit).value()
        if isinstance(index, int) and 0 <= index < len(frequencies):
            self.frequency_hint.setText(f"→ f{index + 1} = {frequencies[index]:g} Hz")
        else:
            self.frequency_hint.setText("")
