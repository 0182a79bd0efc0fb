"""The figures module: legends, tick placement, empty views, the loss figure's validation curve and best-epoch marker."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest

from engine.config.schema import Config
from engine.runs.metrics import Extraction, RunMetrics
from engine.signals.dataset import SignalSet
from engine.training.history import History
from gui.plots.figures import ComparisonFigure, CurveFigure, GridFigure, LossFigure, PerFrequencyFigure, SignalFigure, figures_for_record
from tests.conftest import history_of, scored_metrics


@pytest.fixture
def make(qtbot):
    """Build a figure and let qtbot close it after the test."""

    def build(cls, *args):
        figure = cls(*args)
        qtbot.addWidget(figure)
        return figure

    return build


def signal_set(frequencies: list[float]) -> SignalSet:
    t = np.arange(200) / 100.0
    targets = np.array([np.sin(2 * np.pi * f * t) for f in frequencies])
    return SignalSet(frequencies=tuple(frequencies), t=t, mixture=targets.mean(axis=0), targets=targets, components=targets)


def legend_labels(legend: pg.LegendItem) -> list[str]:
    return [label.text for _, label in legend.items]


def legends(figure) -> list[pg.LegendItem]:
    return [item for item in figure.scene().items() if isinstance(item, pg.LegendItem)]


def test_every_legend_sits_under_its_plot_and_covers_no_data(make, qtbot):
    grid = make(GridFigure)
    grid.set_targets(np.arange(10.0), np.zeros((2, 10)), [1.0, 3.0])
    loss = make(LossFigure)
    loss.show_history(history_of([0.4, 0.3], [0.5, 0.35]))
    figures = [make(ComparisonFigure), loss, make(PerFrequencyFigure), make(SignalFigure), grid]
    found = []
    for figure in figures:
        figure.resize(900, 600)
        figure.show()
        qtbot.waitExposed(figure)
        views = [item for item in figure.scene().items() if isinstance(item, pg.ViewBox)]
        for legend in legends(figure):
            found.append(legend)
            box = legend.sceneBoundingRect()
            assert not any(box.intersects(view.sceneBoundingRect()) for view in views), type(figure).__name__
    assert len(found) == 1 + 1 + 1 + 2 + 2


def test_preview_legend_names_the_current_frequencies_when_their_count_is_unchanged(make):
    figure = make(SignalFigure)
    figure.set_data(signal_set([1, 3, 5, 7]), slice(0, 100), 0)
    figure.set_data(signal_set([2, 3, 5, 7]), slice(0, 100), 0)
    labels = legend_labels(figure.time_plot.legend)
    assert "2 Hz" in labels and "1 Hz" not in labels
    assert labels == ["S", "2 Hz", "3 Hz", "5 Hz", "7 Hz"]


def test_the_preview_is_given_its_data_a_plot_per_step(make):
    """Each step leaves the plots after it as they were: a window running a step per turn paints one plot at a time."""
    figure = make(SignalFigure)
    figure.set_data(signal_set([1, 3, 5, 7]), slice(0, 100), 0)
    spectrum = figure.fft.yData.copy()
    steps = figure.data_steps(signal_set([2, 3, 5, 7]), slice(0, 150), 1)
    next(steps)
    assert figure.mixture.xData.size == 150 and figure.clean.xData.size == 100 and (figure.fft.yData == spectrum).all()
    next(steps)
    assert figure.clean.xData.size == 150 and (figure.fft.yData == spectrum).all()
    assert next(steps, "ended") == "ended"
    assert not np.array_equal(figure.fft.yData, spectrum)


def test_a_plots_context_menu_is_made_at_its_first_right_click(make, qtbot):
    """Not made with the figure (a fifth of its making), but there when asked for, with pyqtgraph's view options."""
    from PySide6.QtCore import Qt

    figure = make(LossFigure)
    figure.resize(800, 500)
    figure.show()
    qtbot.waitExposed(figure)
    view = figure.plot.vb
    assert view.menu is None
    centre = figure.mapFromScene(view.sceneBoundingRect().center())
    qtbot.mouseClick(figure.viewport(), Qt.MouseButton.RightButton, pos=centre)
    qtbot.waitUntil(lambda: view.menu is not None and view.menu.isVisible())
    assert "View All" in [action.text() for action in view.menu.actions()]
    view.menu.hide()


def test_epoch_axis_ticks_only_integers_wall_time_ticks_normally(make):
    figure = make(LossFigure)
    history = history_of([0.5, 0.3, 0.2], [0.6, 0.4, 0.3], wall=[0.4, 0.9, 1.3])
    figure.show_history(history)
    axis = figure.plot.getAxis("bottom")
    for size in (150, 400, 1200):
        values = [v for _, level in axis.tickValues(0.9, 3.1, size) for v in level]
        assert {1.0, 2.0, 3.0} <= set(values)
        assert all(float(v).is_integer() for v in values)
    figure.show_history(history, wall_time=True)
    assert any(not float(v).is_integer() for _, level in axis.tickValues(0.0, 1.5, 400) for v in level)
    assert "per epoch" in figure.plot.titleLabel.text


@pytest.mark.parametrize("low, high", [(0.03, 0.05), (0.031, 0.039), (0.011, 0.019), (0.2, 0.26), (2e-5, 9e-5)])
def test_log_axis_labels_at_least_two_real_values_in_a_narrow_range(make, low, high):
    figure = make(LossFigure)
    values = np.linspace(low, high, 3)
    figure.show_history(history_of(values, values[::-1]))
    axis = figure.plot.getAxis("left")
    assert axis.logMode
    lo, hi = np.log10(low), np.log10(high)
    spacing, top_level = axis.tickValues(lo, hi, 300)[0]  # the first level is always labelled
    shown = [v for v in top_level if lo <= v <= hi]
    assert len(shown) >= 2
    for value, text in zip(shown, axis.tickStrings(shown, 1.0, spacing), strict=True):
        assert float(text) == pytest.approx(10.0**value, rel=1e-6)  # the value itself, not an exponent


def test_empty_curve_figure_shows_an_epoch_span_then_auto_ranges_on_data(make):
    def spans(figure, x: tuple[float, float], y: tuple[float, float]) -> bool:
        """The view covers x and y, with no more than a small margin."""
        ranges = zip(figure.plot.vb.viewRange(), (x, y), strict=True)
        return all(lo <= a < b <= hi and (hi - lo) < 1.1 * (b - a) for (lo, hi), (a, b) in ranges)

    figure = make(CurveFigure, "Training loss of the selected runs")
    assert spans(figure, (1, 10), (-4, 0))  # log y: the view holds log10(MSE), 1e-4 to 1
    assert not figure.legend.isVisible()  # no blank legend card before there are curves
    loss = make(LossFigure)
    loss.set_epoch_span(25)
    assert spans(loss, (1, 25), (-4, 0))
    loss.show_history(history_of([0.5, 0.3], [0.6, 0.4]))
    assert all(loss.plot.vb.autoRangeEnabled()) and loss.legend.isVisible()
    loss.show_history(History((1.0,)))  # a new run starts
    assert spans(loss, (1, 25), (-4, 0))
    loss.plot.setLogMode(y=False)  # toggled while empty: a linear empty view, not the log one
    assert spans(loss, (1, 25), (0, 1))


def test_loss_figure_shows_validation_and_the_best_epoch_marker(make, tmp_path):
    figure = make(LossFigure)
    x = np.arange(1.0, 5.0)
    figure.show_history(history_of(x / 10, x / 8, validation=np.array([0.5, 0.4, 0.3, 0.35])))
    assert legend_labels(figure.legend) == ["train loss", "validation MSE", "test MSE"]  # test drawn last, on top
    assert figure.best.isVisible() and figure.best.value() == 3.0
    assert "best.pt: epoch 3" in figure.best.label.toPlainText()
    header, first = figure.csv_text().splitlines()[:2]
    assert header == "epoch,train loss,validation MSE,test MSE"
    assert first.split(",")[2] == "0.5"
    before = figure.best.pen.widthF()
    figure.export(tmp_path / "loss.png", 200)
    figure.export(tmp_path / "loss.svg", 200)
    assert figure.best.pen.widthF() == before  # export widened it for the file, then gave it back
    assert "stroke-dasharray" in (tmp_path / "loss.svg").read_text()  # the dashed marker is in the file
    figure.show_history(history_of(x / 10, x / 8))  # no validation: best.pt chosen by training loss
    assert legend_labels(figure.legend) == ["train loss", "test MSE"] and figure.best.value() == 1.0
    assert "validation" not in figure.csv_text()


def test_exported_loss_curve_has_validation_and_the_best_epoch(qtbot):
    history = history_of([0.5, 0.3, 0.2], [0.6, 0.4, 0.5], validation=np.array([0.55, 0.35, 0.45]))
    reference = {"zero_output_mse": 0.5, "known_model_mse": 0.0012}
    metrics = RunMetrics.from_json({"best_epoch": 2, "reference": reference})
    record = SimpleNamespace(history=history, metrics=metrics, predictions=lambda: None)
    (loss,) = list(figures_for_record(record, Config()))
    qtbot.addWidget(loss)
    assert "validation MSE" in legend_labels(loss.legend)
    assert legend_labels(loss.legend)[-2:] == ["outputs zeros", "known-model estimator"]
    assert [item.yData.tolist() for item, _ in loss.levels] == [[0.5, 0.5], [0.0012, 0.0012]]
    assert [item.xData.tolist() for item, _ in loss.levels] == [[1.0, 3.0]] * 2  # across the epochs drawn
    assert loss.best.isVisible() and loss.best.value() == 2.0
    (loss,) = list(figures_for_record(SimpleNamespace(history=None, metrics=RunMetrics(), predictions=lambda: None), Config()))
    qtbot.addWidget(loss)
    assert "validation MSE" not in legend_labels(loss.legend) and not loss.best.isVisible()


def test_the_error_analysis_figures_show_the_test_errors_and_the_train_test_gap(qtbot):
    from gui.plots.figures import ErrorDistributionFigure, ErrorOverTimeFigure, figure_plan, finished_figures, plan_steps

    rng = np.random.default_rng(1)
    t = np.arange(400) / 100.0
    targets = np.vstack([np.sin(2 * np.pi * f * t) for f in (1.0, 3.0)])
    outputs = targets + rng.normal(0.2, 0.05, targets.shape)
    predictions = {"frequencies": np.array([1.0, 3.0]), "t": t, "mixture": targets.mean(axis=0), "targets": targets, "outputs": outputs}
    metrics = scored_metrics(
        0.045,
        [0.044, 0.05],
        train={"mse": 0.04, "per_frequency": [{"frequency_hz": 1.0, "mse": 0.04}, {"frequency_hz": 3.0, "mse": 0.05}]},
        generalization_gap_per_frequency=[{"frequency_hz": 1.0, "gap": 0.1}, {"frequency_hz": 3.0, "gap": 0.0}],
    )
    figures = list(finished_figures(plan_steps(figure_plan(None, predictions, 0, 100, 100.0, metrics))))
    for figure in figures:
        qtbot.addWidget(figure)
    stems = [f.file_stem for f in figures]
    assert stems[-3:] == ["error_distribution", "error_over_time", "train_vs_test"]
    distribution = next(f for f in figures if isinstance(f, ErrorDistributionFigure))
    bias = float(re.search(r"mean ([+-][\d.]+)", distribution.panels[0][0].titleLabel.text).group(1))
    assert bias == pytest.approx(np.mean(outputs[0] - targets[0]), abs=1e-3)  # the bias shows in the title
    x, density = distribution.panels[1][1].getData()
    assert 0.1 < x[np.argmax(density)] < 0.3
    over_time = next(f for f in figures if isinstance(f, ErrorOverTimeFigure))
    assert len(over_time.curves) == 2 and "moving mean over 0.4 s" in over_time.plot.titleLabel.text  # a tenth of 4 s, under 1 period
    bars = figures[-1]
    ticks = [label for _, label in bars.plot.getAxis("bottom")._tickLevels[0]]
    assert ticks == ["1 Hz (gap 10.0%)", "3 Hz (gap 0.0%)"]
    without_metrics = list(finished_figures(plan_steps(figure_plan(None, predictions, 0, 100, 100.0, RunMetrics()))))
    assert len(without_metrics) == len(figures) - 1  # no metrics: no bars


def test_a_figure_of_several_panels_is_built_a_panel_per_step(qtbot):
    from gui.plots.figures import PanelsFigure, figure_plan, finished_figures, plan_steps

    t = np.arange(400) / 100.0
    frequencies = (1.0, 3.0, 5.0)
    targets = np.vstack([np.sin(2 * np.pi * f * t) for f in frequencies])
    predictions = {"frequencies": np.array(frequencies), "t": t, "mixture": targets.mean(axis=0), "targets": targets, "outputs": targets}
    steps = list(plan_steps(figure_plan(None, predictions, 0, 100, 100.0, RunMetrics())))
    figures = [step for step in steps if step is not None]
    for figure in figures:
        qtbot.addWidget(figure)
    panelled = [f for f in figures if isinstance(f, PanelsFigure)]
    assert len(panelled) == 3 and all(len(f.panels) == len(frequencies) for f in panelled)
    for figure in panelled:  # its panels' steps come right before it
        at = next(k for k, step in enumerate(steps) if step is figure)
        assert steps[at - len(frequencies) : at] == [None] * len(frequencies)
    again = finished_figures(plan_steps(figure_plan(None, predictions, 0, 100, 100.0, RunMetrics())))
    assert [f.file_stem for f in figures] == [f.file_stem for f in again]


def test_the_extraction_figure_shows_model_and_known_model_per_draw_beside_the_spec_test_and_zeros(make):
    from gui.plots.figures import ExtractionFigure

    figure = make(ExtractionFigure)
    shifted = Extraction(3, 0.0133, 0.0007, (), (0.2, 0.7, 0.4), (0.03, 0.01, 0.0), (0.001, 0.0004, 0.0006))
    figure.set_metrics(shifted, 0.002, 0.5)
    assert figure.model.xData.tolist() == [0.2, 0.7, 0.4]
    assert figure.model.yData[:2].tolist() == [0.03, 0.01] and np.isnan(figure.model.yData[2])  # a log axis cannot show 0
    assert figure.known.yData.tolist() == [0.001, 0.0004, 0.0006] and figure.known.xData.tolist() == [0.2, 0.7, 0.4]
    assert figure.spec_test.xData.tolist() == [0.0] and figure.spec_test.yData.tolist() == [0.002]
    assert figure.zeros.yData.tolist() == [0.5, 0.5]
    assert legend_labels(figure.plot.legend)[-2:] == ["known-model estimator, same draws", "outputs zeros"]


def test_an_empty_chart_says_so_instead_of_showing_made_up_ticks(make):
    from engine.analysis.comparison import RunSeries
    from gui.plots.figures import RunsFigure
    from gui.plots.sweep_figures import ObjectiveFigure

    def blank(plot) -> bool:
        note_shown = any(isinstance(i, pg.LabelItem) and i.isVisible() and i.text for i in plot.vb.childItems())
        return note_shown and not plot.getAxis("left").style["showValues"] and not plot.getAxis("bottom").style["showValues"]

    runs, objective = make(RunsFigure), make(ObjectiveFigure)
    objective.set_rows([])
    assert blank(runs.plot) and blank(objective.plot)
    runs.show_runs([RunSeries("a", np.array([1.0, 2.0]), np.array([0.3, 0.2]))], "test MSE")
    objective.set_rows([{"number": 0, "validation_mse": 0.1}])
    assert not blank(runs.plot) and not blank(objective.plot)
    runs.show_runs([], "test MSE")
    assert blank(runs.plot)


def test_small_multiples_name_their_shared_x_axis_once_under_each_column(make):
    from engine.sweeps.space import Parameter
    from gui.plots.sweep_figures import SensitivityFigure

    grid = make(GridFigure)
    grid.set_targets(np.arange(10.0), np.zeros((4, 10)), [1.0, 3.0, 5.0, 7.0])
    shown = [plot.getAxis("bottom").label.isVisible() for plot, *_ in grid.panels]
    assert shown == [False, False, True, True]  # a 2 x 2 grid: the bottom row names time (s)
    sensitivity = make(SensitivityFigure)
    parameters = tuple(Parameter(key, choices=(1, 2)) for key in ("model.hidden_size", "training.batch_size", "model.num_layers"))
    sensitivity.set_rows([], parameters)
    assert all(plot.getAxis("bottom").label.isVisible() for plot, _ in sensitivity.panels)  # each its own parameter


def test_an_overlay_of_many_runs_keeps_its_plot_and_names_how_many_the_legend_leaves_out(make, qtbot):
    from engine.analysis.comparison import RunSeries
    from gui.plots.figures import RunsFigure

    figure = make(RunsFigure)
    series = [RunSeries(f"trial {k}", np.array([1.0, 2.0]), np.array([0.3, 0.2 + k / 100])) for k in range(30)]
    figure.show_runs(series, "test MSE", levels=[("outputs zeros", 0.5)])
    figure.resize(700, 450)
    figure.show()
    qtbot.waitExposed(figure)
    labels = legend_labels(figure.legend)
    assert labels[:8] == [f"trial {k}" for k in range(8)] and "+ 22 more runs, not named here" in labels and labels[-1] == "outputs zeros"
    qtbot.waitUntil(lambda: figure.plot.vb.height() > 450 / 2)  # the curves keep most of the height


def test_a_curve_scored_every_few_epochs_is_drawn_through_its_scored_epochs(make):
    figure = make(LossFigure)
    epochs = np.arange(1.0, 8.0)
    test = np.where(np.isin(epochs, [1, 3, 6, 7]), epochs / 10, np.nan)  # NaN: an epoch between scorings
    figure.show_history(history_of(epochs / 20, test, validation=test * 2))
    curves = {name: smooth for (raw, smooth), name in zip(figure.curves, ["train loss", "validation MSE", "test MSE"], strict=True)}
    x, y = curves["test MSE"].xData, curves["test MSE"].yData  # as given, before the log axis transforms them
    assert list(x) == [1.0, 3.0, 6.0, 7.0] and np.allclose(y, [0.1, 0.3, 0.6, 0.7])  # one connected line, no gaps
    assert list(curves["train loss"].xData) == list(epochs)
    assert figure.csv_text().splitlines()[2].split(",")[3] == ""  # the CSV keeps the unscored epoch as an empty cell


@pytest.mark.parametrize("cls", [LossFigure, PerFrequencyFigure])
def test_one_epoch_is_framed_around_its_point_drawn_as_a_symbol_until_the_curve_has_many(make, qtbot, cls):
    figure = make(cls)
    figure.resize(600, 400)
    figure.show()
    qtbot.waitExposed(figure)
    figure.set_epoch_span(50)  # the empty view before epoch 1 spans the run's 50 epochs
    figure.set_levels([("outputs zeros", 0.5)])

    def framed(x: float, y: float) -> bool:
        (x_lo, x_hi), (y_lo, y_hi) = figure.plot.vb.viewRange()
        return x_lo < x < x_hi and x_hi - x_lo <= 2 * max(abs(x), 1) and y_lo < np.log10(y) < y_hi

    figure.show_history(history_of([0.4], [0.3]))
    qtbot.waitUntil(lambda: framed(1, 0.3))
    assert all(smooth.opts["symbol"] is not None for _, smooth in figure.curves)  # a lone point is drawn, not an empty line
    assert all(level.xData[1] > level.xData[0] for level, _ in figure.levels)  # the reference line crosses the view
    figure.show_history(history_of([0.4], [0.3], wall=[12.5]), wall_time=True)
    qtbot.waitUntil(lambda: framed(12.5, 0.3))
    figure.show_history(history_of([0.4, 0.35], [0.3, 0.25]))
    assert all(figure.plot.vb.autoRangeEnabled())  # from two epochs on the view follows the data again
    qtbot.waitUntil(lambda: framed(1.5, 0.3) and figure.plot.vb.viewRange()[0][1] < 2.5)
    many = np.linspace(0.5, 0.1, 200)
    figure.show_history(history_of(many, many))
    assert all(smooth.opts["symbol"] is None for _, smooth in figure.curves)  # symbols would blot out a long curve
