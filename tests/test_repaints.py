"""A figure is painted once per change, and a tab switch paints the page it shows once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from gui.plots.figures import SignalFigure, color
from gui.widgets import PageTabs
from tests.test_figures import signal_set


class PaintCounter(QObject):
    """Counts the paint events each watched widget receives."""

    def __init__(self) -> None:
        super().__init__()
        self.paints: Counter[QObject] = Counter()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.paints[watched] += 1
        return False


def page_with_figure() -> tuple[QWidget, SignalFigure, QLabel]:
    page = QWidget()
    figure = SignalFigure()
    figure.set_data(signal_set([1.0, 3.0]), slice(0, 100), 0)
    label = QLabel("a label beside the figure")
    column = QVBoxLayout(page)
    column.addWidget(label)
    column.addWidget(figure)
    return page, figure, label


def settle() -> None:
    """Deliver everything posted, as the event loop would before the window next waits."""
    for _ in range(5):
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()


def paints_on_showing_again(qtbot, tabs: QTabWidget, change_while_hidden: bool) -> tuple[int, int]:
    """(figure, label) paints when the figure's tab is shown again, the figure changed meanwhile or not."""
    qtbot.addWidget(tabs)
    page, figure, label = page_with_figure()
    tabs.addTab(page, "figure")
    tabs.addTab(QLabel("another page"), "other")
    tabs.resize(800, 600)
    tabs.show()
    qtbot.waitExposed(tabs)
    for index in (1, 0):  # a first round lays the figure out and ranges its plots
        tabs.setCurrentIndex(index)
        settle()
    counter = PaintCounter()
    for widget in (figure.viewport(), label):
        widget.installEventFilter(counter)
    tabs.setCurrentIndex(1)
    settle()
    counter.paints.clear()
    if change_while_hidden:
        figure.set_data(signal_set([2.0, 5.0]), slice(0, 150), 1)
    tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: counter.paints[label] >= 1)
    settle()
    return counter.paints[figure.viewport()], counter.paints[label]


def test_a_figure_shown_again_unchanged_is_painted_once(qtbot):
    """Its scene stays active while hidden: being shown does not mark every plot item for a second paint."""
    assert paints_on_showing_again(qtbot, QTabWidget(), change_while_hidden=False) == (1, 1)


def test_a_page_whose_figure_changed_while_hidden_is_painted_fewer_times_than_qt_alone_paints_it(qtbot):
    """The figure's pending changes flush the window at once; the page's deferred updates, delivered
    as it is shown, join that paint instead of causing another."""
    _, folded = paints_on_showing_again(qtbot, PageTabs(), change_while_hidden=True)
    _, plain = paints_on_showing_again(qtbot, QTabWidget(), change_while_hidden=True)
    assert folded < plain


def test_a_figure_given_new_data_is_painted_once(qtbot):
    """Its plots take their new ranges, and its axes their new ticks, before the paint, not during it
    (which painted the figure a second time for the axes)."""
    page, figure, _ = page_with_figure()
    qtbot.addWidget(page)
    page.resize(800, 600)
    page.show()
    qtbot.waitExposed(page)
    settle()
    counter = PaintCounter()
    figure.viewport().installEventFilter(counter)
    first = signal_set([1.0, 3.0])
    for scale in (0.5, 0.8, 0.6, 1.0):  # new values, as after an edit of the data: new ranges, new ticks
        signals = replace(first, mixture=first.mixture * scale, targets=first.targets * scale, components=first.components * scale)
        counter.paints.clear()
        figure.set_data(signals, slice(0, 100), 1)
        qtbot.waitUntil(lambda: counter.paints[figure.viewport()] >= 1)
        settle()
        assert counter.paints[figure.viewport()] == 1


def test_the_previews_legend_shows_the_selected_components_colour_after_a_change(qtbot):
    """A legend's samples are painted anew with their curves' new pens, not left as first painted."""
    page, figure, _ = page_with_figure()
    qtbot.addWidget(page)
    page.resize(800, 700)
    page.show()
    qtbot.waitExposed(page)
    settle()  # painted with the first component's colour
    for _ in figure.data_steps(signal_set([1.0, 3.0]), slice(0, 100), 1):
        settle()  # a paint between steps, as the window's event loop gives them
    settle()
    sample = figure.noisy_plot.legend.items[0][0]
    box = figure.mapFromScene(sample.sceneBoundingRect()).boundingRect().translated(figure.viewport().mapTo(page, QPoint()))
    shown = page.screen().grabWindow(page.winId(), box.x(), box.y(), box.width(), box.height()).toImage()  # as on screen
    wanted = QColor(color(1))

    def near(pixel: QColor) -> bool:
        return abs(pixel.red() - wanted.red()) + abs(pixel.green() - wanted.green()) + abs(pixel.blue() - wanted.blue()) < 60

    assert any(near(shown.pixelColor(x, y)) for x in range(shown.width()) for y in range(shown.height()))
