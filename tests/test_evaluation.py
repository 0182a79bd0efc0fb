from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.config.schema import Config, apply_overrides, load_config
from engine.runs.run import Run
from engine.signals.dataset import SignalSet, generate, shifted_draws, start_of
from engine.signals.known_model import known_model_estimate
from engine.training import evaluation
from engine.training.evaluation import (
    Memorisation,
    SetMetrics,
    evaluate,
    extraction,
    memorisation,
    predict,
    predict_sets,
    quality_references,
    unseen_seeds,
)
from engine.training.model import FrequencyLSTM
from tests.conftest import ROOT, small_config


@pytest.mark.parametrize(("mode", "batch"), [("streams", 32), ("interleaved", 32), ("interleaved", 7)])
def test_several_sets_in_one_pass_give_each_set_its_own_outputs(mode, batch):
    """Batch 7 leaves a last batch of another size, which starts from zeros per set."""
    data = apply_overrides(Config(), ["data.sampling_rate=50", "data.duration=2.0"]).data
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8)
    sets = [generate(data, seed) for seed in (1, 2, 3)]
    together = predict_sets(model, sets, mode, batch)
    for signals, outputs in zip(sets, together, strict=True):
        assert outputs.shape == (4, 100)
        assert np.abs(outputs - predict(model, signals, mode, batch)).max() < 1e-6
    assert not np.allclose(together[0], together[1])


@pytest.mark.parametrize(("mode", "batch"), [("streams", 32), ("interleaved", 32), ("interleaved", 7)])
def test_sets_split_over_passes_and_steps_over_windows_give_one_whole_call_s_outputs(mode, batch, monkeypatch):
    """The memory bounds change how the work is cut, never a number: each set against the model
    called once on its whole sequences, from zero state."""
    data = apply_overrides(Config(), ["data.sampling_rate=50", "data.duration=2.0"]).data
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8).eval()
    sets = [generate(data, seed) for seed in (1, 2, 3)]
    monkeypatch.setattr(evaluation, "PASS_BYTES", 2 * 4 * 100 * 5 * 4)  # two sets a pass: passes of 2 and 1
    monkeypatch.setattr(evaluation, "WINDOW_VALUES", 8 * 8 * 3)  # windows of a few steps
    for signals, outputs in zip(sets, predict_sets(model, sets, mode, batch), strict=True):
        x = torch.from_numpy(signals.rows()[0])
        with torch.no_grad():
            if mode == "streams":
                whole = model(x.view(4, 100, -1), model.zero_state(4))[0].numpy()
            else:
                full = 400 // batch
                columns = x[: full * batch].view(full, batch, -1).transpose(0, 1)
                body = model(columns, model.zero_state(batch))[0].T.reshape(-1)
                tail = model(x[full * batch :].unsqueeze(1), model.zero_state(400 - full * batch))[0].reshape(-1)
                whole = torch.cat([body, tail]).view(4, 100).numpy()
        assert np.abs(outputs - whole).max() < 1e-6


@pytest.mark.parametrize("mode", ["streams", "interleaved"])
def test_the_checks_score_their_draws_together_as_each_draw_alone(mode):
    config = apply_overrides(Config(), ["data.sampling_rate=50", "data.duration=2.0", "data.start_time=random"])
    data = config.data
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 8)
    shifted = extraction(model, data, 5, mode, 32)
    for (seed, start), row in zip(shifted_draws(data, 5), shifted.mse, strict=True):
        alone = generate(data, seed, start)
        assert np.abs(row - SetMetrics.of(predict(model, alone, mode, 32), alone.targets).per_frequency).max() < 1e-6
    check = memorisation(model, data, SetMetrics(0.5, (0.5,) * 4), 5, mode, 32)
    for seed, row in zip(unseen_seeds(data, 5), check.unseen, strict=True):
        alone = generate(data, seed, start_of(data, seed))
        assert np.abs(row - SetMetrics.of(predict(model, alone, mode, 32), alone.targets).per_frequency).max() < 1e-6


def test_the_final_evaluation_reuses_best_pt_s_scored_test_outputs_and_scores_as_afresh(tmp_path, monkeypatch):
    run = Run.start(small_config(tmp_path, "training.num_epochs=2", "evaluation.unseen_draws=3", "evaluation.shifted_starts=2"))
    list(run.epochs())
    passes: list[int] = []
    real = evaluation.predict_sets
    monkeypatch.setattr(evaluation, "predict_sets", lambda model, sets, *rest: passes.append(len(sets)) or real(model, sets, *rest))
    metrics = run.finish()
    assert passes == [1, 2, 3]  # the train set alone, then the shifted draws and the unseen draws each in one pass
    t = run.config.training
    afresh = evaluate(run.session.model, run.splits.train, run.splits.test, t.mode, t.batch_size, 0.1)  # best.pt is loaded
    assert metrics.test_mse == pytest.approx(afresh.test.mse, abs=1e-6)
    assert np.abs(np.load(run.folder / "predictions.npz")["outputs"] - afresh.test_predictions).max() < 1e-6


def test_a_best_epoch_that_was_not_scored_has_its_test_outputs_computed_afresh(tmp_path, monkeypatch):
    from engine.training.trainer import Session

    monkeypatch.setattr(Session, "scores_epoch", lambda self, epoch, seconds: epoch == 1)
    run = Run.start(small_config(tmp_path, "training.num_epochs=2", "training.selection=train_loss"))
    list(run.epochs())
    assert run.session.best_epoch == 2 and run.best_test_predictions is None  # the lower loss, never scored
    passes: list[int] = []
    real = evaluation.predict_sets
    monkeypatch.setattr(evaluation, "predict_sets", lambda model, sets, *rest: passes.append(len(sets)) or real(model, sets, *rest))
    run.finish()
    assert passes[0] == 2  # train and test


def test_the_estimator_s_score_is_kept_in_the_data_folder_for_the_next_run(tmp_path, monkeypatch):
    import engine.signals.known_model as known_model

    data = apply_overrides(Config(), ["data.sampling_rate=100", "data.duration=2"]).data
    calls = []
    real = known_model.known_model_estimate
    monkeypatch.setattr(known_model, "known_model_estimate", lambda s, d: calls.append(1) or real(s, d))
    monkeypatch.setattr(known_model, "_MSE_BY_CONTENT", {})
    signals = generate(data, 11, 0.3)
    first = known_model.known_model_mse(signals, data, tmp_path)
    (kept,) = tmp_path.glob("known-model-*.npy")
    known_model._MSE_BY_CONTENT.clear()  # a new process
    assert np.array_equal(known_model.known_model_mse(signals, data, tmp_path), first) and len(calls) == 1
    kept.write_bytes(b"damaged")
    known_model._MSE_BY_CONTENT.clear()
    assert np.array_equal(known_model.known_model_mse(signals, data, tmp_path), first) and len(calls) == 2
    assert np.array_equal(np.load(kept), first)  # written again, whole


def test_unseen_draws_never_reuse_the_train_validation_or_test_seed():
    data = Config().data
    first = unseen_seeds(data, 8)
    assert len(set(first)) == 8 and not {data.train_seed, data.test_seed, data.validation_seed} & set(first)
    clashing = dataclasses.replace(data, train_seed=first[0], validation_seed=first[1])
    again = unseen_seeds(clashing, 8)
    assert first[0] not in again and first[1] not in again and len(set(again)) == 8
    assert unseen_seeds(dataclasses.replace(data, test_seed=7), 8) != first  # derived from test_seed


def test_a_train_mse_far_below_the_unseen_draws_is_memorised_and_one_inside_them_is_not():
    unseen = np.array([[0.010, 0.020], [0.012, 0.022], [0.011, 0.018], [0.009, 0.020]])
    check = Memorisation((1.0, 3.0), (0.004, 0.0205), unseen)
    z = check.z
    assert z[0] < -2 < z[1]
    assert check.memorised
    row = check.to_dict()["per_frequency"][0]
    assert row["memorised"] and row["unseen_mean"] == pytest.approx(0.0105) and row["z"] == pytest.approx(z[0])
    assert not Memorisation((1.0, 3.0), (0.0105, 0.02), unseen).memorised


def test_metrics_carry_the_memorisation_check_and_the_zero_output_reference(tmp_path):
    run = Run.start(small_config(tmp_path, "training.num_epochs=2", "evaluation.unseen_draws=3"))
    list(run.epochs())
    metrics = run.finish()
    check = metrics.memorisation
    assert check.draws == 3 and len(check.per_frequency) == 4
    assert all(row.unseen_std > 0 and np.isfinite(row.z) for row in check.per_frequency)
    assert [row.train_mse for row in check.per_frequency] == [row.mse for row in metrics.results.train.per_frequency]
    assert metrics.reference.zero_output_mse == pytest.approx(0.5, abs=1e-9)  # unit sines over whole periods
    assert 0 < metrics.reference.known_model_mse < 0.5 and len(metrics.reference.per_frequency) == 4


def test_the_known_model_estimator_is_about_exact_on_a_noise_free_signal_at_any_rate():
    for overrides in ([], ["data.frequencies=[2, 6, 11]", "data.sampling_rate=64", "data.duration=20", "model.input_size=4"]):
        config = apply_overrides(Config(), ["data.amp_min=1", "data.amp_max=1", "data.phase_multiplier=0", *overrides])
        signals = generate(config.data, 5)
        estimate = known_model_estimate(signals, config.data)
        assert estimate.shape == signals.targets.shape
        assert np.abs(estimate[:, signals.n_samples // 2 :] - signals.targets[:, signals.n_samples // 2 :]).max() < 1e-6
        assert quality_references(signals, config.data)["known_model_mse"] < 1e-3  # the first samples, before the fit settles


def test_the_known_model_estimator_is_causal():
    config = Config()
    signals = generate(config.data, config.data.test_seed)
    estimate = known_model_estimate(signals, config.data)
    later = np.array(signals.mixture)
    later[5000:] = 0.0  # the future changes ...
    changed = SignalSet(signals.frequencies, signals.t, later, signals.targets, signals.components)
    assert np.array_equal(known_model_estimate(changed, config.data)[:, :5000], estimate[:, :5000])  # ... the past does not


def test_on_the_users_test_set_the_estimator_beats_their_trained_model_and_zeros():
    config = load_config(ROOT / "config.yaml")
    references = quality_references(generate(config.data, config.data.test_seed), config.data)
    users_final_test_mse = 0.0744  # their record's final result (configuration-evolution.md)
    assert references["known_model_mse"] < users_final_test_mse < references["zero_output_mse"]
    assert all(row["known_model_mse"] < 0.01 for row in references["per_frequency"])


def test_with_full_phase_noise_s_holds_no_phase_and_the_estimator_outputs_zeros():
    config = apply_overrides(Config(), ["data.phase_multiplier=1"])
    signals = generate(config.data, 2)
    assert not known_model_estimate(signals, config.data).any()
