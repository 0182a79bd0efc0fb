"""The network: a recurrent cell (LSTM or GRU) over [S, one-hot] inputs, optionally attention over each
sequence's last K top-layer states, and a linear head to one output; plus device choice."""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.config.schema import Config, ModelConfig

State = tuple[torch.Tensor, ...]  # the cell's (h, c) or (h,), then with attention the buffer and its mask
GATES = {"lstm": 4, "gru": 3}


class FrequencyLSTM(nn.Module):
    """A recurrent cell (input 1+N, hidden, layers, dropout between layers) followed by Linear(features, 1).

    The cell is registered under its own name (``lstm`` or ``gru``), so an LSTM's weights keep the
    names every existing checkpoint uses. With ``attention_window`` K, each step's top state queries
    (scaled dot product, one head) the sequence's last K top states, itself included, and the head
    reads [state, context]; the K - 1 earlier states are carried with the recurrent state, so the
    output at step t uses inputs up to t only. A bidirectional cell runs each call's window both ways.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        cell: str = "lstm",
        attention_window: int = 0,
        bidirectional: bool = False,
    ):
        super().__init__()
        if cell not in GATES:
            raise ValueError(f"model.cell: {cell!r} is not allowed; allowed: {', '.join(GATES)}")
        kind = nn.LSTM if cell == "lstm" else nn.GRU
        dropout = dropout if num_layers > 1 else 0.0
        self.cell = cell
        self.add_module(cell, kind(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout, bidirectional=bidirectional))
        self.window = attention_window
        features = hidden_size * (2 if bidirectional else 1)
        if attention_window:
            self.query = nn.Linear(hidden_size, hidden_size, bias=False)
            self.key = nn.Linear(hidden_size, hidden_size, bias=False)
            features *= 2
        self.head = nn.Linear(features, 1)
        self.lookahead = 0  # a bidirectional model's window, both ways (0: a whole sequence); see for_run

    @classmethod
    def for_run(cls, config: Config) -> FrequencyLSTM:
        """The model a run trains and scores: a bidirectional one reads tbptt_steps samples both ways at a
        time in evaluation as in training, since its backward direction never learned to run longer."""
        model = cls.from_config(config.model)
        model.lookahead = config.training.tbptt_steps if config.model.bidirectional else 0
        return model

    @classmethod
    def from_config(cls, model: ModelConfig) -> FrequencyLSTM:
        return cls(
            model.input_size, model.hidden_size, model.num_layers, model.dropout, model.cell, model.attention_window, model.bidirectional
        )

    @property
    def rnn(self) -> nn.LSTM | nn.GRU:
        """The recurrent cell, whichever it is."""
        return getattr(self, self.cell)

    @property
    def step_values(self) -> int:
        """Values one sequence holds per step of a call (the cell's outputs, and each attention window):
        what sizes evaluation's windows."""
        width = self.rnn.hidden_size * (2 if self.rnn.bidirectional else 1)
        return width * (1 + self.window)

    def zero_state(self, batch: int, device: torch.device | None = None) -> State:
        """A fresh state: the cell's (h, c) or (h,), zeros of shape (num_layers x directions, batch, hidden);
        with attention, an empty buffer of K - 1 earlier top states and its mask (nothing seen yet)."""
        rnn = self.rnn
        device = device or self.head.weight.device
        shape = (rnn.num_layers * (2 if rnn.bidirectional else 1), batch, rnn.hidden_size)
        state = tuple(torch.zeros(shape, device=device) for _ in range(2 if self.cell == "lstm" else 1))
        if self.window:
            keep = self.window - 1
            state += (torch.zeros(batch, keep, rnn.hidden_size, device=device), torch.zeros(batch, keep, dtype=torch.bool, device=device))
        return state

    def carried(self, state: State) -> State:
        """The state the next optimizer step starts from: detached, so no gradient crosses it; a
        bidirectional cell's backward direction starts afresh (it ran from the window's end)."""
        if not self.rnn.bidirectional:
            return tuple(s.detach() for s in state)
        forward_only = torch.tensor([1.0, 0.0], device=state[0].device).repeat(self.rnn.num_layers).view(-1, 1, 1)
        return tuple(s.detach() * forward_only for s in state)

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x: (batch, steps, input); one output per step, state carried from ``state``."""
        n_cell = 2 if self.cell == "lstm" else 1
        cell_state = state[:n_cell] if n_cell == 2 else state[0]
        out, cell_state = self.rnn(x, cell_state)
        cell_state = cell_state if n_cell == 2 else (cell_state,)
        if not self.window:
            return self.head(out).squeeze(-1), cell_state
        features, buffer = self._attend(out, *state[n_cell:])
        return self.head(features).squeeze(-1), (*cell_state, *buffer)

    def _attend(self, out: torch.Tensor, earlier: torch.Tensor, seen: torch.Tensor) -> tuple[torch.Tensor, State]:
        """[state, context] per step, each step attending over its own last K top states (unfold makes
        every step's window a view, so a call on k steps is k one-step calls); the buffer after the call."""
        k = self.window
        states = torch.cat([earlier, out], dim=1)  # (batch, K - 1 + steps, hidden)
        known = torch.cat([seen, torch.ones(out.shape[:2], dtype=torch.bool, device=out.device)], dim=1)
        keys = self.key(states).unfold(1, k, 1)  # (batch, steps, hidden, K)
        scores = torch.einsum("bsh,bshk->bsk", self.query(out), keys) / math.sqrt(out.shape[-1])
        weights = scores.masked_fill(~known.unfold(1, k, 1), -math.inf).softmax(dim=-1)
        context = torch.einsum("bsk,bshk->bsh", weights, states.unfold(1, k, 1))
        keep = states.shape[1] - (k - 1)
        return torch.cat([out, context], dim=-1), (states[:, keep:], known[:, keep:])


def parameter_count(model: ModelConfig) -> int:
    """Weights of FrequencyLSTM.from_config(model), counted without building it."""
    h, gates = model.hidden_size, GATES[model.cell]
    directions = 2 if model.bidirectional else 1
    layer_inputs = [model.input_size] + [h * directions] * (model.num_layers - 1)
    rnn = directions * sum(gates * h * (n_in + h + 2) for n_in in layer_inputs)
    features = h * directions * (2 if model.attention_window else 1)
    attention = 2 * h * h if model.attention_window else 0
    return rnn + attention + features + 1


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
