"""The model options: a GRU cell, attention over the last K top states, a bidirectional (non-causal) cell."""

from __future__ import annotations

import copy

import pytest
import torch
from PySide6.QtWidgets import QCheckBox

from engine.analysis.comparison import compare
from engine.analysis.report import _ranking, _results
from engine.config.schema import NON_CAUSAL, ConfigError, config_from_dict, dump_config, non_causal_reason, parse_yaml
from engine.runs.run import Run, RunRecord
from engine.training.checkpoints import Checkpoint, CheckpointError, load_checkpoint, model_from_checkpoint
from engine.training.evaluation import _run
from engine.training.interleaved import InterleavedTrainer, StepwiseTrainer
from engine.training.model import FrequencyLSTM, parameter_count
from engine.training.trainer import TrainingControl, cohort_problem
from gui.panels.config_form import ConfigForm
from gui.panels.results import ResultsPanel
from tests.conftest import scored_metrics, small_config

CAUSAL_OPTIONS = [
    {"cell": "gru"},
    {"attention_window": 4},
    {"cell": "gru", "attention_window": 3, "num_layers": 2},
    {"attention_window": 1},
]


@pytest.mark.parametrize("options", CAUSAL_OPTIONS)
def test_a_window_in_one_call_equals_one_step_at_a_time(options):
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8, **options).eval()
    x = torch.randn(3, 30, 5)
    with torch.no_grad():
        whole, after = model(x[:, :20], model.zero_state(3))
        whole2, _ = model(x[:, 20:], after)  # a second window from the carried state, buffer included
        state, steps = model.zero_state(3), []
        for t in range(30):
            out, state = model(x[:, t : t + 1], state)
            steps.append(out)
    torch.testing.assert_close(torch.cat([whole, whole2], dim=1), torch.cat(steps, dim=1), atol=1e-5, rtol=0)


def test_the_gru_model_is_torch_s_gru_and_a_linear_head():
    torch.manual_seed(1)
    model = FrequencyLSTM(5, 8, num_layers=2, cell="gru").eval()
    gru, head = torch.nn.GRU(5, 8, 2, batch_first=True), torch.nn.Linear(8, 1)
    gru.load_state_dict(model.gru.state_dict())
    head.load_state_dict(model.head.state_dict())
    x, h0 = torch.randn(4, 25, 5), torch.randn(2, 4, 8)
    with torch.no_grad():
        out, (h,) = model(x, (h0,))
        reference, h_ref = gru(x, h0)
    torch.testing.assert_close(out, head(reference).squeeze(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=0)
    assert set(model.state_dict()) == {f"gru.{k}" for k in gru.state_dict()} | {"head.weight", "head.bias"}


@pytest.mark.parametrize("options", [*CAUSAL_OPTIONS, {"bidirectional": True, "num_layers": 2}])
def test_parameter_count_counts_every_option_s_weights(tmp_path, options):
    config = small_config(
        tmp_path,
        *(f"model.{k}={str(v).lower()}" for k, v in options.items()),
        *(["training.mode=streams"] if options.get("bidirectional") else []),
    )
    model = FrequencyLSTM.from_config(config.model)
    assert parameter_count(config.model) == sum(p.numel() for p in model.parameters())


def test_attention_is_causal_a_later_input_changes_no_earlier_output():
    torch.manual_seed(2)
    model = FrequencyLSTM(5, 8, attention_window=6).eval()
    x = torch.randn(2, 20, 5)
    changed = x.clone()
    changed[:, 12] += 1.0
    with torch.no_grad():
        before = model(x, model.zero_state(2))[0]
        after = model(changed, model.zero_state(2))[0]
    assert torch.equal(before[:, :12], after[:, :12])
    assert not torch.allclose(before[:, 12], after[:, 12])


def test_a_bidirectional_model_sees_the_future_and_is_labelled_non_causal(tmp_path):
    torch.manual_seed(3)
    model = FrequencyLSTM(5, 8, bidirectional=True).eval()
    x = torch.randn(2, 20, 5)
    changed = x.clone()
    changed[:, 15] += 1.0
    with torch.no_grad():
        before, after = model(x, model.zero_state(2))[0], model(changed, model.zero_state(2))[0]
        assert not torch.allclose(before[:, :15], after[:, :15])
        whole = model(torch.randn(2, 5000, 5), model.zero_state(2))
        assert whole[0].shape == (2, 5000)
    config = small_config(tmp_path, "training.mode=streams", "model.bidirectional=true")
    assert not config.model.is_causal and "non-causal reference (sees the future)" in non_causal_reason(config)
    assert non_causal_reason(small_config(tmp_path)) is None
    assert config_from_dict(parse_yaml(dump_config(config))).model.bidirectional is True


def test_evaluation_reads_a_bidirectional_model_in_the_windows_it_was_trained_on(tmp_path, monkeypatch):
    """Training runs the backward direction from each TBPTT window's end; evaluation must too, or the
    backward direction runs thousands of steps it never learned."""
    torch.manual_seed(4)
    config = small_config(tmp_path, "training.mode=streams", "model.bidirectional=true", "training.tbptt_steps=10")
    model = FrequencyLSTM.for_run(config).eval()
    x = torch.randn(3, 30, 5)
    changed = x.clone()
    changed[:, 25] += 1.0
    monkeypatch.setattr("engine.training.evaluation.WINDOW_VALUES", 16)  # would cut a causal model's call into windows of one step
    with torch.no_grad():
        before, after = _run(model, x), _run(model, changed)
        torch.testing.assert_close(before[:, :20], after[:, :20])  # the windows before the change never read it
        assert not torch.allclose(before[:, 20:25], after[:, 20:25])  # its own window reads it backwards
        first, state = model(x[:, :10], model.zero_state(3))
        second, _ = model(x[:, 10:20], model.carried(state))
        torch.testing.assert_close(before[:, :20], torch.cat([first, second], dim=1))


def test_bidirectional_is_refused_in_the_interleaved_traversal_naming_the_keys(tmp_path):
    with pytest.raises(ConfigError) as refused:
        small_config(tmp_path, "model.bidirectional=true")
    (line,) = refused.value.messages
    assert line.startswith("model.bidirectional:") and "training.mode streams" in line
    with pytest.raises(ConfigError, match=r"model\.attention_window"):
        small_config(tmp_path, "training.mode=streams", "model.bidirectional=true", "model.attention_window=4")


@pytest.mark.parametrize("option", ["model.cell=gru", "model.attention_window=4"])
def test_a_population_refuses_gru_and_attention_so_repeats_train_in_turn(tmp_path, option):
    problem = cohort_problem([small_config(tmp_path, option)])
    assert problem is not None and "one after another" in problem and option.split("=")[0] in problem


def test_the_stepwise_path_trains_a_plain_lstm_as_the_fast_path_does():
    torch.manual_seed(5)
    model = FrequencyLSTM(5, 8)
    twin = copy.deepcopy(model)
    x, y = torch.randn(70, 5), torch.randn(70)  # four batches of 16 and a last one of 6
    fast = InterleavedTrainer(model, 16, 1e-2, 0.5)
    stepwise = StepwiseTrainer(twin, 16, 1e-2, 0.5)
    for _ in range(2):
        torch.testing.assert_close(fast.train_epoch(x, y, lambda: True), stepwise.train_epoch(x, y, lambda: True), atol=1e-5, rtol=1e-5)
    for (name, value), other in zip(model.state_dict().items(), twin.state_dict().values(), strict=True):
        torch.testing.assert_close(value, other, atol=1e-5, rtol=1e-4, msg=name)


def final_weights(run: Run) -> dict[str, torch.Tensor]:
    return load_checkpoint(run.folder / "checkpoints" / "last.pt").model


OPTIONS = [
    ("interleaved", "model.cell=gru"),
    ("interleaved", "model.attention_window=3"),
    ("streams", "model.cell=gru"),
    ("streams", "model.attention_window=3"),
    ("streams", "model.bidirectional=true"),
]


@pytest.mark.parametrize(("mode", "option"), OPTIONS)
def test_each_option_trains_saves_loads_and_resumes_exactly(tmp_path, mode, option):
    config = small_config(
        tmp_path, f"training.mode={mode}", option, "model.hidden_size=8", "data.duration=1.0", "training.num_epochs=2", "model.num_layers=2"
    )
    whole = Run.start(config)
    assert len(list(whole.epochs())) == 2
    metrics = whole.finish()
    assert metrics.test_mse < 10
    loaded_config, model = model_from_checkpoint(load_checkpoint(whole.folder / "checkpoints" / "best.pt"))
    assert loaded_config == config and type(model.rnn).__name__ == ("GRU" if "gru" in option else "LSTM")

    control = TrainingControl()
    first = Run.start(config)
    for report in first.epochs(control):
        if report.epoch == 1:
            control.request_stop()
    first.finish()
    resumed = Run.resume(first.folder)
    assert [r.epoch for r in resumed.epochs()] == [2]
    resumed.finish()
    for key, value in final_weights(whole).items():
        assert torch.equal(value, final_weights(first)[key]), key


def test_the_form_shows_the_bidirectional_switch_as_a_check_box_that_round_trips(qtbot, tmp_path):
    form = ConfigForm()
    qtbot.addWidget(form)
    config = small_config(tmp_path, "training.mode=streams", "model.bidirectional=true", "model.cell=gru")
    form.set_config(config)
    box = form.editors["model.bidirectional"]
    assert isinstance(box, QCheckBox) and box.isChecked() and box.isEnabled()
    assert form.validate() == config
    box.setChecked(False)
    assert form.validate().model.bidirectional is False


def test_the_report_marks_a_bidirectional_run_where_it_states_and_ranks_its_results(tmp_path):
    per = [{"frequency_hz": 1.0, "mse": 0.1}]
    metrics = scored_metrics(0.1, frequencies=[row["frequency_hz"] for row in per], validation_mse=0.1)
    seeing = small_config(tmp_path, "training.mode=streams", "model.bidirectional=true")
    records = [RunRecord(tmp_path / name, config, metrics, None) for name, config in (("a", seeing), ("b", small_config(tmp_path)))]
    ranked = "\n".join(_ranking(records, ["seeing", "causal"]))
    assert "seeing, non-causal reference (sees the future)" in ranked and "causal, non-causal" not in ranked
    assert "Non-causal reference (sees the future)" in "\n".join(_results(records[0]))
    assert "non-causal" not in "\n".join(_results(records[1])).lower()


def test_the_runs_table_and_the_results_panel_mark_a_bidirectional_run(qtbot, tmp_path):
    per = [{"frequency_hz": 1.0, "mse": 0.1}]
    metrics = scored_metrics(0.1, frequencies=[row["frequency_hz"] for row in per])
    seeing = small_config(tmp_path, "training.mode=streams", "model.bidirectional=true")
    records = [RunRecord(tmp_path / name, config, metrics, None) for name, config in (("a", seeing), ("b", small_config(tmp_path)))]
    names = [row[0] for row in compare(records).rows]
    assert NON_CAUSAL in names[0] and NON_CAUSAL not in names[1]
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    for record, marked in zip(records, (True, False), strict=True):
        panel.show_run(record)
        assert (NON_CAUSAL in panel.title.text()) is marked


def test_gru_weights_under_an_lstm_config_are_refused_naming_the_cell(tmp_path):
    gru = FrequencyLSTM.from_config(small_config(tmp_path, "model.cell=gru").model)
    checkpoint = Checkpoint(model=gru.state_dict(), config=small_config(tmp_path).to_dict())
    with pytest.raises(CheckpointError) as refused:
        model_from_checkpoint(checkpoint)
    assert "the checkpoint has cell gru, the config lstm" in str(refused.value)
