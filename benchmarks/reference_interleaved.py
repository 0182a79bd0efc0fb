"""A plain PyTorch implementation of the user's interleaved method: the yardstick for speed and
correctness. DataLoader of consecutive rows, nn.LSTM on sequences of length 1, state carried per
batch position and detached after each step, clip_grad_norm_, Adam. Not used by the app."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from engine.model import FrequencyLSTM


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
            state = model.zero_state(x.shape[0])  # the user's get_or_reset_hidden
        out, state = model(x.unsqueeze(1), state)
        loss = criterion(out.squeeze(1), y)
        plain_step(model, optimizer, loss, clip_grad_norm)
        state = tuple(s.detach() for s in state)  # (h, c), or a GRU's (h,), or with attention its buffer too
        losses.append(loss.item())
    return sum(losses) / len(losses)
