"""The column-wise History: one shape for every curve, its CSV form, its checkpoint form and its migration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.schema import format_number
from engine.runs.run import Run
from engine.training.history import EpochReport, History
from tests.conftest import history_of, small_config

finite = st.floats(min_value=1e-12, max_value=1e3, allow_nan=False)


def report(epoch: int, frequencies: int, values: list[float], validation: float | None) -> EpochReport:
    per = tuple(values[2 : 2 + frequencies])
    return EpochReport(epoch, 99, values[0], values[1], per, validation, values[-3], values[-2], values[-1], 0.0, False)


@settings(max_examples=60, deadline=None)
@given(
    frequencies=st.lists(st.floats(min_value=1e-3, max_value=1e4, allow_nan=False), min_size=1, max_size=6, unique=True),
    rows=st.lists(st.tuples(st.lists(finite, min_size=11, max_size=11), st.one_of(st.none(), finite)), max_size=8),
)
def test_the_csv_form_reads_back_every_number_and_frequency_exactly(frequencies, rows):
    history = History.of([report(k + 1, len(frequencies), values, validation) for k, (values, validation) in enumerate(rows)], frequencies)
    back = History.from_csv(history.to_csv())
    assert back == history
    assert back.frequencies == tuple(frequencies)
    assert History.from_payload(history.to_payload(), frequencies) == history


def test_appending_leaves_what_an_earlier_holder_saw_alone():
    empty = History((1.0, 3.0))
    one = empty.appended(report(1, 2, [0.5, 0.4, 0.3, 0.2, 1e-3, 0.1, 0.1], 0.45))
    assert len(empty) == 0 and len(one) == 1
    assert one.per_frequency(1).tolist() == [0.2] and one.validation_mse.tolist() == [0.45]


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        History((1.0,), epoch=[1, 2], train_loss=[0.1])


def test_best_epoch_is_the_first_lowest_validation_else_training_loss():
    rows = [[0.5, 0.4, 0.4, 1e-3, 0.1, 0.1], [0.3, 0.3, 0.3, 1e-3, 0.1, 0.2], [0.2, 0.3, 0.3, 1e-3, 0.1, 0.3]]
    with_validation = History.of([report(k + 1, 1, r, v) for k, (r, v) in enumerate(zip(rows, [0.4, 0.2, 0.2], strict=True))], [1.0])
    assert with_validation.best_index() == 1
    without = History.of([report(k + 1, 1, r, None) for k, r in enumerate(rows)], [1.0])
    assert without.best_index() == 2 and History((1.0,)).best_index() is None
    assert without.time_to(0.35) == 0.2 and without.time_to(0.01) is None


def test_a_checkpoint_from_before_history_migrates_its_row_wise_history():
    rows = [report(k + 1, 2, [0.5 / (k + 1), 0.4, 0.3, 0.2, 1e-3, 0.1, 0.1 * (k + 1)], None).__dict__ for k in range(3)]
    migrated = History.from_payload([dict(row, test_mse_per_frequency=list(row["test_mse_per_frequency"])) for row in rows], [1.0, 3.0])
    assert migrated.epoch.tolist() == [1, 2, 3] and math.isnan(migrated.validation_mse[0])
    assert migrated.train_loss.tolist() == [0.5, 0.25, 0.5 / 3]


def test_frequency_labels_are_short_and_exact():
    assert [format_number(f) for f in (1.0, 2.5, 0.1 + 0.2)] == ["1", "2.5", "0.30000000000000004"]


def test_a_resumed_run_keeps_its_whole_history_in_one_shape(tmp_path):
    config = small_config(tmp_path, "training.num_epochs=4")
    run = Run.start(config)
    for report_ in run.epochs():
        if report_.epoch == 2:
            break
    resumed = Run.resume(run.folder)
    assert resumed.session.history.epoch.tolist() == [1, 2]
    list(resumed.epochs())
    history = History.read(run.folder / "history.csv")
    assert history == resumed.session.history and history.epoch.tolist() == [1, 2, 3, 4]
    assert np.all(np.diff(history.wall_seconds) > 0)


def test_the_latest_test_mse_is_the_latest_scored_epochs():
    history = history_of([0.5, 0.4, 0.3], [0.2, math.nan, math.nan])
    assert history.latest_test_mse() == (1, 0.2)
    assert history_of([0.5], [math.nan]).latest_test_mse() is None
