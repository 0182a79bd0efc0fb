"""The streams traversal: each frequency's block as a sequence in time.

Each block may be cut into ``segments`` contiguous pieces that run side by side as the batch.
One sample per sequence per step, state carried; the gradient graph is cut every
``tbptt_steps`` samples. A call of the LSTM on a window of k samples with carried state is the
same computation as k single-sample calls (tests/test_streams.py proves it), and much faster; a
bidirectional model instead reads each window both ways, its backward direction from the window's end.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.training.model import FrequencyLSTM


def segment_sequences(inputs: torch.Tensor, targets: torch.Tensor, n_freq: int, segments: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows (N*n, I) -> (N*segments, L, I) contiguous pieces in time; the n % segments tail is dropped."""
    n = inputs.shape[0] // n_freq
    length = n // segments
    x = inputs.view(n_freq, n, -1)[:, : length * segments].reshape(n_freq * segments, length, -1)
    y = targets.view(n_freq, n)[:, : length * segments].reshape(n_freq * segments, length)
    return x.contiguous(), y.contiguous()


class AutogradTrainer:
    """Adam over the model's parameters, each optimizer step by autograd: backward, clip, step."""

    def __init__(self, model: FrequencyLSTM, learning_rate: float, clip_grad_norm: float):
        self.model = model
        self.clip = clip_grad_norm
        self.optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()


class StreamsTrainer(AutogradTrainer):
    """Truncated BPTT over windows of ``tbptt_steps`` samples with the state carried across windows."""

    def __init__(
        self,
        model: FrequencyLSTM,
        n_freq: int,
        segments: int,
        tbptt_steps: int,
        learning_rate: float,
        clip_grad_norm: float,
        input_noise: float = 0.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__(model, learning_rate, clip_grad_norm)
        self.n_freq = n_freq
        self.segments = segments
        self.tbptt_steps = tbptt_steps
        self.input_noise = input_noise
        self.generator = generator

    def train_epoch(self, inputs: torch.Tensor, targets: torch.Tensor, should_continue: Callable[[], bool]) -> float | None:
        """One pass over every window; the mean window loss, or None when stopped before the end."""
        x, y = segment_sequences(inputs, targets, self.n_freq, self.segments)
        if self.input_noise > 0:
            noise = torch.randn(x.shape[:2], generator=self.generator, device=x.device, dtype=x.dtype)
            x = x.clone()
            x[..., 0] += self.input_noise * noise
        self.model.train()
        state = self.model.zero_state(x.shape[0])
        losses = []
        for start in range(0, x.shape[1], self.tbptt_steps):
            if not should_continue():
                return None
            out, state = self.model(x[:, start : start + self.tbptt_steps], state)
            loss = torch.nn.functional.mse_loss(out, y[:, start : start + self.tbptt_steps])
            self._step(loss)
            state = self.model.carried(state)
            losses.append(loss.detach())
        return float(torch.stack(losses).mean())
