"""Effects over repeats: grouping by configuration, Welch's interval, verdicts, seeds to resolve, run order, table export."""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from scipy import stats

from engine.analysis.effects import Verdict, by_start, effect, group_runs, seeds_to_resolve, steps_of, summarize, welch_interval
from engine.analysis.tables import table_csv, table_latex
from engine.config.schema import apply_overrides
from engine.runs.notes import RunNotes
from tests.conftest import scored_metrics, small_config


def record(folder: str, config, test: float = 0.1, per: tuple[float, float] = (0.1, 0.2), note: str = ""):
    metrics = scored_metrics(test, list(per))
    notes = RunNotes(name=folder, note=note)
    return SimpleNamespace(folder=Path(folder), config=config, metrics=metrics, notes=notes, name=folder)


def test_runs_that_differ_only_in_seeds_or_how_they_ran_are_one_group_and_any_other_setting_splits_it(tmp_path):
    base = small_config(tmp_path)
    seeds = [
        apply_overrides(
            base, [f"model.seed={k}", f"data.train_seed={10 + k}", f"data.test_seed={20 + k}", f"data.validation_seed={30 + k}"]
        )
        for k in range(3)
    ]
    executed = apply_overrides(
        base,
        [
            *["training.num_threads=3", "training.device=auto", "training.score_every=5", "visualization.dpi=100", "paths.metrics=x.json"],
            *[f"training.runs_dir={tmp_path / 'elsewhere'}", f"data.data_dir={tmp_path / 'other'}"],
        ],
    )
    wide = apply_overrides(base, ["model.hidden_size=32"])
    records = [record("a", base), *[record(f"s{k}", c) for k, c in enumerate(seeds)], record("x", executed), record("w", wide)]
    groups = group_runs(records)
    assert [[r.folder.name for r in g.runs] for g in groups] == [["a", "s0", "s1", "s2", "x"], ["w"]]
    for change in ["training.learning_rate=0.01", "training.num_epochs=4", "data.amp_max=1.3", "training.patience=2"]:
        assert len(group_runs([record("a", base), record("b", apply_overrides(base, [change]))])) == 2, change


def test_the_record_groups_neighbours_only_so_a_return_to_an_earlier_configuration_is_a_step_of_its_own(tmp_path):
    base = small_config(tmp_path)
    wide = apply_overrides(base, ["model.hidden_size=32"])
    runs = [record("a1", base), record("a2", apply_overrides(base, ["model.seed=1"])), record("w", wide), record("a3", base)]
    steps = steps_of(runs)
    assert [[r.folder.name for r in s.group.runs] for s in steps] == [["a1", "a2"], ["w"], ["a3"]]
    assert steps[0].test_mse() is None and steps[1].changes == [("model.hidden_size", 16, 32)]
    assert steps[2].changes == [("model.hidden_size", 32, 16)]


def test_execution_settings_are_never_reported_as_a_change(tmp_path):
    base = small_config(tmp_path)
    window = apply_overrides(base, ["training.num_threads=1", "model.seed=3"])
    other = apply_overrides(window, ["training.num_threads=0", "model.hidden_size=8"])
    steps = steps_of([record("a", window), record("b", other)])
    assert steps[1].changes == [("model.hidden_size", 16, 8)]


def test_the_interval_is_welchs_textbook_computation():
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0]
    mean_a, mean_b = 2.0, 5.0
    var_a, var_b = 1.0, 20.0 / 3.0  # sample variances: sum of squared deviations / (n - 1)
    se2 = var_a / 3 + var_b / 4  # = 2
    nu = se2**2 / ((var_a / 3) ** 2 / 2 + (var_b / 4) ** 2 / 3)  # Welch-Satterthwaite: 216 / 53
    assert nu == pytest.approx(216 / 53)
    half = stats.t.ppf(0.975, nu) * math.sqrt(se2)
    delta, low, high = welch_interval(summarize(a), summarize(b))
    assert delta == pytest.approx(mean_b - mean_a)
    assert (low, high) == pytest.approx((3.0 - half, 3.0 + half))
    e = effect(a, b)
    assert e.delta_pct == pytest.approx(150.0)
    assert e.ci95 == pytest.approx((3.0 - half, 3.0 + half))
    assert e.verdict is Verdict.WITHIN_NOISE


@pytest.mark.parametrize(
    ("before", "after", "word"),
    [
        ([10.0, 11.0, 12.0], [1.0, 2.0, 3.0], Verdict.BETTER),
        ([1.0, 2.0, 3.0], [10.0, 11.0, 12.0], Verdict.WORSE),
        ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0], Verdict.WITHIN_NOISE),
        ([1.0], [10.0, 11.0, 12.0], Verdict.CANNOT_TELL),
        ([1.0, 2.0], [3.0], Verdict.CANNOT_TELL),
    ],
)
def test_each_verdict(before, after, word):
    assert effect(before, after).verdict is word
    assert effect(before, after).to_dict()["verdict"] == word.value


def test_seeds_to_resolve_uses_the_pooled_variance_and_rounds_up():
    a, b = summarize([1.0, 2.0, 3.0]), summarize([2.0, 4.0, 6.0, 8.0])
    pooled = (2 * 1.0 + 3 * 20.0 / 3.0) / 5  # 4.4
    expected = math.ceil(2 * (1.96 + 0.84) ** 2 * pooled / 3.0**2)
    assert expected == 8
    assert seeds_to_resolve(a, b) == expected
    assert effect([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0]).seeds_needed == 8
    assert effect([1.0], [1.5, 2.5]).seeds_needed == math.ceil(2 * 2.8**2 * 0.5 / 1.0)  # one side's spread stands for both
    assert seeds_to_resolve(summarize([1.0]), summarize([2.0])) is None  # no spread known
    assert effect([10.0, 11.0, 12.0], [1.0, 2.0, 3.0]).seeds_needed is None  # resolved already


def test_a_group_summarises_test_mse_overall_and_per_frequency(tmp_path):
    base = small_config(tmp_path)
    runs = [record("a", base, 0.1, (0.1, 0.3)), record("b", apply_overrides(base, ["model.seed=1"]), 0.3, (0.2, 0.5))]
    (group,) = group_runs(runs)
    assert group.test_mse().to_dict() == pytest.approx({"n": 2, "mean": 0.2, "std": math.sqrt(0.02)})
    assert group.test_mse_at(3.0).mean == pytest.approx(0.4) and group.metric("test MSE 1 Hz").mean == pytest.approx(0.15)
    single = summarize([0.1])
    assert (single.n, single.mean, single.std) == (1, 0.1, None)


def test_runs_are_ordered_by_when_they_started_oldest_first(tmp_path):
    names = ["20261205-101500-interleaved", "20261205-090000-streams-3", "20261205-090000-streams", "20261205-090000-streams-2"]
    odd = tmp_path / "renamed"
    odd.mkdir()
    (odd / "config.yaml").write_text("{}")
    os.utime(odd / "config.yaml", (0, 0))
    folders = [tmp_path / n for n in names] + [odd]
    assert [p.name for p in by_start(folders)] == [
        "renamed",
        "20261205-090000-streams",
        "20261205-090000-streams-2",
        "20261205-090000-streams-3",
        "20261205-101500-interleaved",
    ]
    assert [r.folder for r in by_start([record(str(f), None) for f in folders])] == [Path(str(f)) for f in by_start(folders)]


def test_any_table_renders_as_csv_and_booktabs_latex():
    header = ["run", "test MSE", "note"]
    rows = [["a_1", 0.5, "50% & more"], ["b", None, 'say "hi", #2']]
    assert table_csv(header, rows) == 'run,test MSE,note\na_1,0.5,50% & more\nb,,"say ""hi"", #2"\n'
    tex = table_latex(header, rows)
    assert tex.splitlines()[:3] == [r"\begin{tabular}{lrl}", r"\toprule", r"run & test MSE & note \\"]
    assert r"a\_1 & 0.5 & 50\% \& more \\" in tex and r"\midrule" in tex and tex.rstrip().endswith(r"\end{tabular}")
    assert r'say "hi", \#2' in tex
    assert r"a\_1 & 0.3333 & x $\pm$ y \\" in table_latex(header, [["a_1", 1 / 3, "x ± y"]], significant=4)


def test_the_overlay_numbers_each_curve_by_its_place_groups_of_repeats_included(tmp_path):
    from engine.analysis.comparison import run_series
    from tests.conftest import history_of

    base = small_config(tmp_path)
    runs = [
        record("a0", base),
        record("a1", apply_overrides(base, ["model.seed=1"])),
        record("w", apply_overrides(base, ["model.hidden_size=8"])),
    ]
    for k, r in enumerate(runs):
        r.history = history_of([0.5, 0.4], [0.5, 0.3 + k / 10])
    names = [s.name for s in run_series(runs, "test MSE", merge_seeds=True, numbered=True)]
    assert names == ["1. a0 (2 seeds)", "2. w"]
