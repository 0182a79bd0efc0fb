"""The network: an LSTM over [S, one-hot] inputs and a linear head to one output, plus device choice."""

from __future__ import annotations

import torch
from torch import nn

from engine.config import ModelConfig

State = tuple[torch.Tensor, torch.Tensor]


class FrequencyLSTM(nn.Module):
    """LSTM (input 1+N, hidden, layers, dropout between layers) followed by Linear(hidden, 1)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, 1)

    @classmethod
    def from_config(cls, model: ModelConfig) -> FrequencyLSTM:
        return cls(model.input_size, model.hidden_size, model.num_layers, model.dropout)

    def zero_state(self, batch: int, device: torch.device | None = None) -> State:
        """A fresh (h, c): zeros of shape (num_layers, batch, hidden)."""
        shape = (self.lstm.num_layers, batch, self.lstm.hidden_size)
        device = device or self.head.weight.device
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x: (batch, steps, input); one output per step, state carried from ``state``."""
        out, state = self.lstm(x, state)
        return self.head(out).squeeze(-1), state


def parameter_count(model: ModelConfig) -> int:
    """Weights of FrequencyLSTM.from_config(model), counted without building it."""
    h = model.hidden_size
    lstm = sum(4 * h * ((model.input_size if k == 0 else h) + h + 2) for k in range(model.num_layers))
    return lstm + h + 1


class DeviceError(ValueError):
    """The requested device is not available on this machine."""


def resolve_device(name: str) -> torch.device:
    """auto: CUDA, else Apple MPS, else CPU. An explicit but unavailable choice is an error."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("training.device: 'cuda' is not available on this machine; allowed: auto, cpu")
    if name == "mps" and not has_mps:
        raise DeviceError("training.device: 'mps' is not available on this machine; allowed: auto, cpu")
    return torch.device(name)
