"""A plain PyTorch implementation of the streams method (spec section 2.2), segments 1: the yardstick
for the engine's streams trainer. Each frequency's block is one sequence, nn.LSTM runs on windows of
``tbptt`` samples with the state carried and detached between windows, clip_grad_norm_, Adam."""

from __future__ import annotations

import torch

from benchmarks.reference_interleaved import plain_step
from engine.model import FrequencyLSTM


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
