"""The fast path is the interleaved method (one step per batch): same gradients, same losses, same traversal as evaluation."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.config.schema import Config
from engine.signals.dataset import generate
from engine.training.evaluation import predict
from engine.training.interleaved import InterleavedTrainer, Member, PopulationTrainer
from engine.training.model import FrequencyLSTM, parameter_count
from engine.training.reference import train_epoch_reference

ROOT = Path(__file__).resolve().parent.parent


def rows(config: Config, seed: int = 1):
    signals = generate(config.data, seed)
    x, y = signals.rows()
    return signals, torch.from_numpy(x), torch.from_numpy(y)


def test_three_epochs_match_the_plain_reference_within_1e4():
    _, x, y = rows(Config())
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 128)
    reference = copy.deepcopy(model)
    fast = InterleavedTrainer(model, 32, 1e-4, 1.0)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-4)
    for _ in range(3):
        fast_loss = fast.train_epoch(x, y, lambda: True)
        reference_loss = train_epoch_reference(reference, optimizer, x, y, 32, 1.0)
    assert abs(fast_loss - reference_loss) < 1e-4
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("layers", [1, 2])
def test_hand_written_backward_equals_autograd_with_clipping(layers):
    torch.manual_seed(1)
    model = FrequencyLSTM(5, 12, layers)
    reference = copy.deepcopy(model)
    x, y = torch.randn(3 * 8 + 5, 5), torch.randn(3 * 8 + 5)  # a last batch of another size
    fast = InterleavedTrainer(model, 8, 1e-2, 0.05)  # a small clip so that clipping is active
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-2)
    fast_loss = fast.train_epoch(x, y, lambda: True)
    reference_loss = train_epoch_reference(reference, optimizer, x, y, 8, 0.05)
    assert fast_loss == pytest.approx(reference_loss, abs=1e-6)
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_predictions_equal_a_manual_row_by_row_loop_with_carried_state():
    config = Config()
    config.data.duration = 0.5
    signals, x, _ = rows(config)
    torch.manual_seed(2)
    model = FrequencyLSTM(5, 16).eval()
    batch = 32
    expected = []
    state = None
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb = x[start : start + batch]
            if state is None or state[0].shape[1] != xb.shape[0]:
                state = model.zero_state(xb.shape[0])
            out, state = model(xb.unsqueeze(1), state)
            expected.append(out.squeeze(1))
    manual = torch.cat(expected).reshape(4, -1).numpy()
    assert x.shape[0] % batch != 0  # the odd last batch is covered
    assert abs(predict(model, signals, "interleaved", batch) - manual).max() < 1e-5


def test_training_traversal_is_the_evaluation_traversal():
    signals, x, y = rows(Config())
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 32)
    fast = InterleavedTrainer(model, 32, 0.0, 1.0)  # lr 0: the epoch loss is a frozen evaluation
    loss = fast.train_epoch(x, y, lambda: True)
    frozen = ((predict(model, signals, "interleaved", 32) - signals.targets) ** 2).mean()
    assert loss == pytest.approx(frozen, rel=1e-5)


def test_stop_is_honoured_within_one_step_and_leaves_the_model_untouched():
    _, x, y = rows(Config())
    torch.manual_seed(0)
    model = FrequencyLSTM(5, 16)
    before = copy.deepcopy(model.state_dict())
    calls = []

    def should_continue() -> bool:
        calls.append(1)
        return len(calls) <= 5

    assert InterleavedTrainer(model, 32, 1e-3, 1.0).train_epoch(x, y, should_continue) is None
    assert len(calls) == 6
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def population_and_solo(layers: int, dropout: float, settings: list[tuple[int, float, float]], hidden: int = 16, batch: int = 24):
    """A population of one model per (seed, learning rate, clip) and the same models trained alone."""
    models, solos, members = [], [], []
    for seed, lr, clip in settings:
        torch.manual_seed(seed)
        model = FrequencyLSTM(5, hidden, layers, dropout)
        models.append(model)
        solo_generator, member_generator = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        solos.append(InterleavedTrainer(copy.deepcopy(model), batch, lr, clip, solo_generator))
        members.append(Member(lr, clip, member_generator))
    return PopulationTrainer(models, batch, members), solos


SETTINGS = [(0, 1e-3, 1.0), (1, 1e-3, 0.05), (2, 5e-3, 0.0), (3, 1e-4, 1.0)]


@pytest.mark.parametrize(("layers", "dropout"), [(1, 0.0), (2, 0.3)])
def test_population_members_train_exactly_as_their_solo_runs(layers, dropout):
    config = Config()
    config.data.duration = 0.5
    _, x, y = rows(config)
    population, solos = population_and_solo(layers, dropout, SETTINGS)
    assert x.shape[0] % 24 != 0  # the odd last batch is covered
    for _ in range(3):
        member_losses = population.train_epoch_members(x, y, lambda: True)
        solo_losses = [solo.train_epoch(x, y, lambda: True) for solo in solos]
        assert member_losses == pytest.approx(solo_losses, abs=1e-5)
    assert len(set(member_losses)) == len(SETTINGS)  # the members really differ
    for model, solo in zip(population.models, solos, strict=True):
        for a, b in zip(model.parameters(), solo.model.parameters(), strict=True):
            assert torch.allclose(a, b, atol=1e-5)


def test_a_pruned_population_goes_on_as_its_remaining_solo_runs():
    config = Config()
    config.data.duration = 0.5
    _, x, y = rows(config)
    population, solos = population_and_solo(1, 0.0, SETTINGS)
    population.train_epoch_members(x, y, lambda: True)
    for solo in solos:
        solo.train_epoch(x, y, lambda: True)
    population.keep([3, 1])
    population.set_learning_rates([2e-4, 2e-3])
    solos[3].set_learning_rate(2e-4)
    solos[1].set_learning_rate(2e-3)
    for _ in range(2):
        member_losses = population.train_epoch_members(x, y, lambda: True)
        solo_losses = [solos[i].train_epoch(x, y, lambda: True) for i in (3, 1)]
        assert member_losses == pytest.approx(solo_losses, abs=1e-5)
    assert population.models[0] is not solos[3].model and len(population.models) == 2
    for a, b in zip(population.models[1].parameters(), solos[1].model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(("hidden", "layers"), [(16, 1), (128, 1), (64, 3)])
def test_parameter_count_counts_the_model_s_weights(hidden, layers):
    config = Config()
    config.model.hidden_size, config.model.num_layers = hidden, layers
    model = FrequencyLSTM.from_config(config.model)
    assert parameter_count(config.model) == sum(p.numel() for p in model.parameters())


def test_adam_state_is_torch_adams_format_and_resumes_from_it():
    """A checkpoint's Adam state loads into torch.optim.Adam and back, and training resumed from
    torch's copy goes on exactly as the uninterrupted trainer."""
    torch.manual_seed(3)
    x, y = torch.randn(40, 5), torch.randn(40)
    model = FrequencyLSTM(5, 6)
    fast = InterleavedTrainer(model, 4, 1e-2, 1.0)
    fast.train_epoch(x, y, lambda: True)
    saved = fast.optimizer.state_dict()
    flat = torch.nn.Parameter(torch.zeros(fast.params.shape[1]))
    torch_adam = torch.optim.Adam([flat], lr=1.0, fused=True)
    assert set(saved["param_groups"][0]) == set(torch_adam.state_dict()["param_groups"][0])
    torch_adam.load_state_dict(saved)

    resumed_model = copy.deepcopy(model)
    resumed = InterleavedTrainer(resumed_model, 4, 1.0, 1.0)
    resumed.optimizer.load_state_dict(torch_adam.state_dict())
    assert resumed.optimizer.lr == 1e-2
    fast.train_epoch(x, y, lambda: True)
    resumed.train_epoch(x, y, lambda: True)
    for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_an_interleaved_epoch_and_its_checkpoint_leave_torchs_compiler_stack_unimported():
    """Importing torch._dynamo costs most of a one-epoch command's second; only torch.optim needs it."""
    script = (
        "import sys, torch\n"
        "from engine.training.interleaved import InterleavedTrainer\n"
        "from engine.training.model import FrequencyLSTM\n"
        "trainer = InterleavedTrainer(FrequencyLSTM(5, 8), 4, 1e-3, 1.0)\n"
        "trainer.train_epoch(torch.randn(20, 5), torch.randn(20), lambda: True)\n"
        "trainer.optimizer.state_dict()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "False"
