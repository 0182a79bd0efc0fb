"""A read-only table (or two-level tree) of prepared rows for a Qt view: every cell's text, the value it
sorts by, its alignment, colour and tooltip are worked out before the rows reach the model, so filling
a view is one model reset and drawing it asks only for what is on screen. The Runs tab shows its groups
of runs with it (a group's runs under it), the Sweeps tab its trials (flat).

Sorting is done here, in Python over the prepared values: numbers by value with missing numbers last
in either order, text case-insensitively; a group's runs are sorted among themselves."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QHeaderView, QStyle, QTableView, QTreeView

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a cell's sort value: its number (NaN: missing), or None where it sorts by its text
PAYLOAD_ROLE = Qt.ItemDataRole.UserRole + 1  # a row's payload, the same in every column
_ROOT = QModelIndex()  # the invisible root, as a default argument
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
ROWS_MEASURED = 40  # rows a view's own resize to contents measures (beside those on screen): never every row
_DISPLAY, _ALIGN, _FONT, _FOREGROUND, _TIP = (
    int(Qt.ItemDataRole.DisplayRole),
    int(Qt.ItemDataRole.TextAlignmentRole),
    int(Qt.ItemDataRole.FontRole),
    int(Qt.ItemDataRole.ForegroundRole),
    int(Qt.ItemDataRole.ToolTipRole),
)
_ANSWERED = frozenset({_DISPLAY, _ALIGN, _FONT, _FOREGROUND, _TIP, int(SORT_ROLE), int(PAYLOAD_ROLE)})  # any other role: nothing


@dataclass(eq=False)
class Row:
    """One row: ``texts`` per column; ``values`` per column a float to sort by (NaN or infinity: a missing
    number, sorted last) or None to sort by the text; ``right`` the columns aligned right; the columns
    coloured (``colours``, "#rrggbb") and with tooltips (``tips``); the whole row ``bold``; ``payload``
    whatever the panel needs back from a row; ``children`` the rows under it (one level)."""

    texts: list[str]
    values: list[float | None]
    right: frozenset[int] = frozenset()
    payload: Any = None
    bold: bool = False
    colours: dict[int, str] = field(default_factory=dict)
    tips: dict[int, str] = field(default_factory=dict)
    children: list[Row] = field(default_factory=list)
    key: int = -1  # its place among the model's top-level rows as given (set by the model)


def number(value: float | None) -> float:
    """A sort value for a number that may be missing."""
    return math.nan if value is None else float(value)


def _missing(value: float | None) -> bool:
    return value is not None and (math.isnan(value) or value == math.inf)


def sorted_rows(rows: Sequence[Row], column: int, order: Qt.SortOrder) -> list[Row]:
    """``rows`` by ``column``: numbers by value before text (case-insensitive), missing numbers last either way; stable."""
    if column < 0:
        return list(rows)
    present = [r for r in rows if column < len(r.values) and not _missing(r.values[column])]
    missing = [r for r in rows if not (column < len(r.values) and not _missing(r.values[column]))]

    def key(row: Row) -> tuple[int, float, str]:
        value = row.values[column]
        return (0, value, "") if value is not None else (1, 0.0, row.texts[column].lower())

    return sorted(present, key=key, reverse=order == Qt.SortOrder.DescendingOrder) + missing


class RowsModel(QAbstractItemModel):
    """Prepared rows for a QTreeView (top-level rows and their children) or a QTableView (top-level rows only)."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self._titles: list[str] = []
        self._rows: list[Row] = []  # top-level rows in the order shown
        self._by_key: list[Row] = []  # top-level rows in the order given: a child's index names its parent by key
        self._position: list[int] = []  # a top-level row's place in the order shown, by key
        self._sort = (-1, Qt.SortOrder.AscendingOrder)
        bold = QFont()
        bold.setBold(True)
        self._bold = bold
        self._brushes: dict[str, QBrush] = {}

    # ----- filling ------------------------------------------------------------------------------
    def set_rows(self, titles: list[str], rows: list[Row], column: int | None = None, order: Qt.SortOrder | None = None) -> None:
        """Show ``rows`` under ``titles``, sorted by ``column`` in ``order`` (default: as last sorted): one reset."""
        if column is not None:
            self._sort = (column, self._sort[1] if order is None else order)
        for key, row in enumerate(rows):
            row.key = key
        sort_column, sort_order = self._sort
        self.beginResetModel()
        self._titles = list(titles)
        self._by_key = list(rows)
        self._rows = sorted_rows(rows, sort_column, sort_order)
        for row in self._rows:
            if row.children:
                row.children = sorted_rows(row.children, sort_column, sort_order)
        self._position = [0] * len(rows)
        for position, row in enumerate(self._rows):
            self._position[row.key] = position
        self.endResetModel()

    def titles(self) -> list[str]:
        return list(self._titles)

    def rows(self) -> list[Row]:
        """The top-level rows in the order shown."""
        return list(self._rows)

    def row(self, index: Index) -> Row:
        """The row of a valid index."""
        parent_key = index.internalId()
        return self._rows[index.row()] if parent_key == 0 else self._by_key[parent_key - 1].children[index.row()]

    def index_of(self, top: int, child: int | None = None, column: int = 0) -> QModelIndex:
        """The index of the ``top``-th row shown (of its ``child``-th row, where given)."""
        if child is None:
            return self.createIndex(top, column, 0)
        return self.createIndex(child, column, self._rows[top].key + 1)

    def place(self, index: Index) -> tuple[int, int]:
        """Where a row is shown: (its group's place, 0 for the group itself, else 1 + its place in the group)."""
        parent_key = index.internalId()
        return (index.row(), 0) if parent_key == 0 else (self._position[parent_key - 1], index.row() + 1)

    # ----- QAbstractItemModel -------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = _ROOT) -> QModelIndex:
        if column < 0 or column >= len(self._titles) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._rows) else QModelIndex()
        if parent.internalId() != 0 or parent.row() >= len(self._rows):
            return QModelIndex()
        top = self._rows[parent.row()]
        return self.createIndex(row, column, top.key + 1) if row < len(top.children) else QModelIndex()

    def parent(self, index: Index = _ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(self._position[index.internalId() - 1], 0, 0)

    def rowCount(self, parent: Index = _ROOT) -> int:  # noqa: N802 - Qt's name
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        return len(self._rows[parent.row()].children)

    def columnCount(self, parent: Index = _ROOT) -> int:  # noqa: N802 - Qt's name
        return len(self._titles)

    def hasChildren(self, parent: Index = _ROOT) -> bool:  # noqa: N802 - Qt's name
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:  # noqa: N802 - Qt's name
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._titles):
            return self._titles[section]
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role not in _ANSWERED or not index.isValid():  # a view asks for a dozen roles a cell it draws: most have no answer
            return None
        row, column = self.row(index), index.column()
        if role == _DISPLAY:
            return row.texts[column]
        if role == _ALIGN:
            return RIGHT if column in row.right else None
        if role == _FONT:
            return self._bold if row.bold else None
        if role == _FOREGROUND:
            colour = row.colours.get(column)
            return None if colour is None else self._brush(colour)
        if role == _TIP:
            return row.tips.get(column)
        if role == SORT_ROLE:
            return row.values[column]
        if role == PAYLOAD_ROLE:
            return row.payload
        return None

    def _brush(self, colour: str) -> QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = QBrush(QColor(colour))
        return brush

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Rows (and each group's runs) by ``column``; selection and expanded groups follow their rows."""
        self._sort = (column, order)
        rows = sorted_rows(self._rows, column, order)
        children = [sorted_rows(r.children, column, order) for r in rows]
        same = [r.key for r in rows] == [r.key for r in self._rows] and all(
            all(a is b for a, b in zip(new, row.children, strict=True)) for new, row in zip(children, rows, strict=True)
        )
        if same:  # already in this order: nothing moves, nothing to tell the view
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        kept = [(self.row(i), i.column(), i.internalId()) for i in before]
        self._rows = rows
        for row, ordered in zip(rows, children, strict=True):
            row.children = ordered
        for position, row in enumerate(self._rows):
            self._position[row.key] = position
        child_place = {id(child): k for row in rows for k, child in enumerate(row.children)}
        after = [
            self.createIndex(child_place[id(row)] if parent_key else self._position[row.key], column_of, parent_key)
            for row, column_of, parent_key in kept
        ]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()


def fit_columns(
    view: QTreeView | QTableView, model: RowsModel, expanded: Callable[[int], bool] = lambda top: False, widest: int = 3
) -> None:
    """Each column as wide as its title and its widest text among the rows shown (a group's runs where
    ``expanded(its place)``), measuring only each column's ``widest`` longest texts: a view's own
    resizeColumnToContents asks the model for a dozen roles of every cell it measures."""
    header: QHeaderView = view.header() if isinstance(view, QTreeView) else view.horizontalHeader()
    shown: list[tuple[Row, int]] = []  # each row shown and its depth
    for top, row in enumerate(model._rows):
        shown.append((row, 0))
        if row.children and expanded(top):
            shown += [(child, 1) for child in row.children]
    if not shown:
        return
    plain = view.fontMetrics()
    bold_font = QFont(view.font())
    bold_font.setBold(True)
    bold = QFontMetrics(bold_font)
    margin = 2 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1) + 2
    indent = view.indentation() if isinstance(view, QTreeView) else 0
    root = 1 if isinstance(view, QTreeView) and view.rootIsDecorated() else 0
    lengths = list(zip(*[[len(text) for text in row.texts] for row, _ in shown], strict=True))
    for column, length in enumerate(lengths):
        width = 0
        for k in heapq.nlargest(widest, range(len(shown)), key=length.__getitem__):
            row, depth = shown[k]
            text = (bold if row.bold else plain).horizontalAdvance(row.texts[column])
            width = max(width, text + (indent * (depth + root) if column == 0 else 0))
        header.resizeSection(column, max(width + margin, header.sectionSizeHint(column)))
