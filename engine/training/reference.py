"""The two traversals written the plain PyTorch way: the yardstick the engine's trainers are checked
against for equality (tests) and timed against for speed (benchmarks). Not used for training.

Interleaved: a DataLoader of consecutive rows, nn.LSTM on sequences of length 1, the state carried
per batch position and detached after each step. Streams (one segment): each frequency's block is one
sequence, nn.LSTM runs on windows of ``tbptt`` samples with the state carried and detached between
windows. Both clip the gradient norm and step Adam as the textbook does."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from engine.training.model import FrequencyLSTM


def plain_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip_grad_norm: float) -> None:
    """The textbook optimizer step: zero_grad, backward, clip_grad_norm_ (when clipping), step."""
    optimizer.zero_grad()
    loss.backward()
    if clip_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    optimizer.step()


def train_epoch_reference(
    model: FrequencyLSTM,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    batch_size: int,
    clip_grad_norm: float,
) -> float:
    """One epoch the plain way; returns the mean batch loss."""
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=False)
    criterion = torch.nn.MSELoss()
    state = None
    losses = []
    model.train()
    for x, y in loader:
        if state is None or state[0].shape[1] != x.shape[0]:
            state = model.zero_state(x.shape[0])  # a fresh state whenever the batch size changes
        out, state = model(x.unsqueeze(1), state)
        loss = criterion(out.squeeze(1), y)
        plain_step(model, optimizer, loss, clip_grad_norm)
        state = tuple(s.detach() for s in state)  # (h, c), or a GRU's (h,), or with attention its buffer too
        losses.append(loss.item())
    return sum(losses) / len(losses)


def train_epoch_streams_reference(
    model: FrequencyLSTM,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    n_freq: int,
    tbptt: int,
    clip_grad_norm: float,
) -> float:
    """One epoch the plain way; returns the mean window loss."""
    x = inputs.view(n_freq, -1, inputs.shape[1])
    y = targets.view(n_freq, -1)
    state = model.zero_state(n_freq)
    losses = []
    model.train()
    for start in range(0, x.shape[1], tbptt):
        out, state = model(x[:, start : start + tbptt], state)
        loss = torch.nn.functional.mse_loss(out, y[:, start : start + tbptt])
        plain_step(model, optimizer, loss, clip_grad_norm)
        state = tuple(s.detach() for s in state)  # (h, c), or a GRU's (h,), or with attention its buffer too
        losses.append(loss.item())
    return sum(losses) / len(losses)
