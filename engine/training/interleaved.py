"""The interleaved traversal (the reference method), fast: a hand-written one-step LSTM cell, for one
model or a population of models of one architecture trained side by side.

With TBPTT of one step the gradient never crosses a time step, so the backward pass of one
optimizer step is a handful of dense ops. Doing them by hand on one flat parameter buffer, with
fused Adam reading the clip factor as its ``grad_scale``, removes autograd and per-parameter
dispatch, which dominate this tiny, strictly sequential workload. A population stacks its members'
buffers on a leading axis, so each op (a batched matmul, an element-wise op) serves every member
and the per-op dispatch is paid once; each member keeps its own learning rate, clip, dropout
generator and Adam state, so it trains exactly as it would alone. The arithmetic is the same as
``nn.LSTM`` + ``clip_grad_norm_`` + ``Adam``; ``tests/test_interleaved.py`` holds the proof. Any other
model (a GRU, attention) trains by the same method with autograd: ``StepwiseTrainer``, one model at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from engine.config.schema import ModelConfig
from engine.training.model import FrequencyLSTM
from engine.training.streams import AutogradTrainer


@dataclass
class _Layer:
    """Views into the flat buffers for one LSTM layer, a leading axis for the members.

    ``w`` stacks W_ih^T, b_ih, b_hh and W_hh^T as rows, shape (members, in + 2 + H, 4H); the
    layer's input buffer is [x, 1, 1, h], so one matmul gives the gates with both biases and one
    matmul gives every gradient, the two bias gradients included.
    """

    n_in: int
    w: torch.Tensor
    w_in_t: torch.Tensor  # W_ih, for the gradient that flows down to the layer below
    dw: torch.Tensor

    def blocks(self, tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(W_ih^T, b_ih, b_hh, W_hh^T) views of one member's ``w`` or ``dw``."""
        n = self.n_in
        return tensor[:n], tensor[n], tensor[n + 1], tensor[n + 2 :]


class _Workspace:
    """Per-batch-size state, scratch buffers and their views, made once so a step allocates little."""

    def __init__(self, layers: list[_Layer], members: int, batch: int, hidden: int, device: torch.device):
        def zeros(*shape: int) -> torch.Tensor:
            return torch.zeros(members, batch, *shape, device=device)

        # Two input buffers per layer, swapped each step: step k's [x, h] stays intact for its
        # backward pass while step k writes h into step k+1's buffer.
        self.xh = [[zeros(layer.n_in + 2 + hidden) for layer in layers] for _ in range(2)]
        self.xh_t = [[buffer.transpose(1, 2) for buffer in pair] for pair in self.xh]
        self.x_part = [[buffer[..., : layer.n_in] for buffer, layer in zip(pair, layers, strict=True)] for pair in self.xh]
        self.h_part = [[buffer[..., layer.n_in + 2 :] for buffer, layer in zip(pair, layers, strict=True)] for pair in self.xh]
        self.layers = layers
        self.c = [zeros(hidden) for _ in layers]
        self.c_new = [zeros(hidden) for _ in layers]
        self.gates = [zeros(4 * hidden) for _ in layers]
        self.gates_g = [gates[..., 2 * hidden : 3 * hidden] for gates in self.gates]
        self.act = [zeros(4 * hidden) for _ in layers]
        self.act_parts = [act.chunk(4, dim=-1) for act in self.act]
        self.tanh_c = [zeros(hidden) for _ in layers]
        self.dact = zeros(4 * hidden)
        self.dact_parts = self.dact.chunk(4, dim=-1)
        self.deriv = zeros(4 * hidden)
        self.deriv_g = self.deriv[..., 2 * hidden : 3 * hidden]
        self.ones = torch.ones(members, batch, hidden, device=device)
        self.masks: list[torch.Tensor | None] = [None for _ in layers]
        self.reset()

    def reset(self) -> None:
        for buffers in self.xh:
            for buffer, layer in zip(buffers, self.layers, strict=True):
                buffer.zero_()
                buffer[..., layer.n_in : layer.n_in + 2] = 1.0  # the bias columns
        for c in self.c:
            c.zero_()
        self.parity = 0


class AdamRow:
    """One member's Adam: its hyper-parameters and moments for its row of the flat buffer, stepped
    by ``PopulationTrainer._adam_step``. Not a ``torch.optim.Adam``: constructing one imports
    torch's compiler stack (about 0.8 s of a short command), and nothing here needs its ``step``.
    ``state_dict`` is ``torch.optim.Adam``'s format, so checkpoints load into either."""

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, learning_rate: float):
        self.lr = learning_rate
        self.step: torch.Tensor | None = None
        self.exp_avg: torch.Tensor | None = None
        self.exp_avg_sq: torch.Tensor | None = None

    def moments_for(self, row: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(step, exp_avg, exp_avg_sq) for ``row``: zero at the start, the kept or loaded ones after,
        on the row's device."""
        if self.step is None or self.exp_avg is None or self.exp_avg_sq is None:
            self.step = torch.zeros((), device=row.device)
            self.exp_avg, self.exp_avg_sq = torch.zeros_like(row), torch.zeros_like(row)
        elif self.exp_avg.device != row.device:  # loaded from a checkpoint read onto another device
            self.step, self.exp_avg, self.exp_avg_sq = (t.to(row.device) for t in (self.step, self.exp_avg, self.exp_avg_sq))
        return self.step, self.exp_avg, self.exp_avg_sq

    def state_dict(self) -> dict[str, Any]:
        """A snapshot (the moments change in place at every step) in ``torch.optim.Adam``'s format."""
        state = {}
        if self.step is not None and self.exp_avg is not None and self.exp_avg_sq is not None:
            state[0] = {"step": self.step.clone(), "exp_avg": self.exp_avg.clone(), "exp_avg_sq": self.exp_avg_sq.clone()}
        group = {
            "lr": self.lr,
            "betas": self.BETAS,
            "eps": self.EPS,
            "weight_decay": 0,
            "amsgrad": False,
            "maximize": False,
            "foreach": None,
            "capturable": False,
            "differentiable": False,
            "fused": True,
            "decoupled_weight_decay": False,
            "params": [0],
        }
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, payload: dict[str, Any]) -> None:
        """Restore from this class's or ``torch.optim.Adam``'s state_dict of one parameter."""
        (group,) = payload["param_groups"]
        if tuple(group["betas"]) != self.BETAS or group["eps"] != self.EPS or group["weight_decay"] != 0 or group["amsgrad"]:
            raise ValueError("only Adam's defaults (betas 0.9/0.999, eps 1e-8, no weight decay, no amsgrad) are trained here")
        self.lr = float(group["lr"])
        state = payload["state"].get(group["params"][0])
        if not state:
            self.step = self.exp_avg = self.exp_avg_sq = None
            return
        self.step = state["step"].detach().to(torch.float32).clone()
        self.exp_avg = state["exp_avg"].detach().clone()
        self.exp_avg_sq = state["exp_avg_sq"].detach().clone()


@dataclass(frozen=True)
class Member:
    """What may differ between the members of a population: everything that is not the architecture."""

    learning_rate: float
    clip_grad_norm: float
    generator: torch.Generator | None = None  # dropout masks, drawn as the member's solo run would


def _lstm(model: FrequencyLSTM) -> nn.LSTM:
    """The model's LSTM cell, by the name its weights carry (nn.Module's attribute lookup is typed Tensor | Module)."""
    lstm = model.lstm
    assert isinstance(lstm, nn.LSTM)  # only an LSTM is registered as "lstm"
    return lstm


class PopulationTrainer:
    """Trains models of one architecture by the reference method, side by side: rows in order, state per
    batch position, TBPTT of 1. Each member's numbers are those of its solo run."""

    def __init__(self, models: Sequence[FrequencyLSTM], batch_size: int, members: Sequence[Member]):
        if len(models) != len(members) or not models:
            raise ValueError("a population needs one Member per model, and at least one model")
        self.models = list(models)
        self.members = list(members)
        self.batch_size = batch_size
        lstm = _lstm(models[0])
        self.device = models[0].head.weight.device
        self.hidden = lstm.hidden_size
        self.n_layers = lstm.num_layers
        self.input_size = lstm.input_size
        self.dropout = lstm.dropout if lstm.num_layers > 1 else 0.0
        self.sizes = [(self._n_in(k) + 2 + self.hidden) * 4 * self.hidden for k in range(self.n_layers)] + [self.hidden, 1]
        self.optimizers = [AdamRow(member.learning_rate) for member in self.members]
        self._build(torch.zeros(len(models), sum(self.sizes), device=self.device))
        self.pull_from_models()

    def _n_in(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden

    def _build(self, params: torch.Tensor) -> None:
        """Views of the (members, parameters) buffer and its gradient, one row per member."""
        n = params.shape[0]
        self.params = params
        self.grads = torch.zeros_like(params)
        self.rows, self.grad_rows = params.unbind(0), self.grads.unbind(0)
        p_views = torch.split(params, self.sizes, dim=1)
        g_views = torch.split(self.grads, self.sizes, dim=1)
        self.layers = []
        for k in range(self.n_layers):
            shape = (n, self._n_in(k) + 2 + self.hidden, 4 * self.hidden)
            w = p_views[k].view(shape)
            self.layers.append(_Layer(self._n_in(k), w, w[:, : self._n_in(k)].transpose(1, 2), g_views[k].view(shape)))
        self.head_w, self.head_b = p_views[-2].view(n, 1, -1), p_views[-1].view(n, 1, 1)
        self.d_head_w, self.d_head_b = g_views[-2].view(n, 1, -1), g_views[-1]
        self.head_w_t = self.head_w.transpose(1, 2)
        clips = [m.clip_grad_norm if m.clip_grad_norm > 0 else torch.inf for m in self.members]
        self.clips = torch.tensor(clips, device=self.device)
        self.grad_scale = torch.ones(n, device=self.device)  # fused Adam divides each gradient by it
        self._scales = self.grad_scale.unbind(0)
        self._workspaces: dict[int, _Workspace] = {}

    @property
    def size(self) -> int:
        return len(self.models)

    def keep(self, indices: Sequence[int]) -> None:
        """Drop every member not in ``indices`` (a pruned trial), between epochs; the rest go on unchanged."""
        if not indices:
            raise ValueError("a population keeps at least one member")
        self.models = [self.models[i] for i in indices]
        self.members = [self.members[i] for i in indices]
        self.optimizers = [self.optimizers[i] for i in indices]
        self._build(self.params[list(indices)])  # indexing with a list copies

    def _weight_pairs(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(flat-buffer view, the module's tensor seen in that view's layout) for every weight of every
        member: the one table both copy directions read."""
        for p, model in enumerate(self.models):
            lstm = _lstm(model)
            for k, layer in enumerate(self.layers):
                w_ih, b_ih, b_hh, w_hh = layer.blocks(layer.w[p])
                yield w_ih, getattr(lstm, f"weight_ih_l{k}").t()
                yield b_ih, getattr(lstm, f"bias_ih_l{k}")
                yield b_hh, getattr(lstm, f"bias_hh_l{k}")
                yield w_hh, getattr(lstm, f"weight_hh_l{k}").t()
            yield self.head_w[p], model.head.weight
            yield self.head_b[p], model.head.bias.view(1, 1)

    @torch.no_grad()
    def pull_from_models(self) -> None:
        """Copy each module's weights into its row of the flat buffer (nn.LSTM layout -> transposed blocks)."""
        for flat, module in self._weight_pairs():
            flat.copy_(module)

    @torch.no_grad()
    def push_to_models(self) -> None:
        """Copy the flat buffer back into the modules, so checkpoints and evaluation use nn.LSTM."""
        for flat, module in self._weight_pairs():
            module.copy_(flat)

    def set_learning_rates(self, rates: Sequence[float]) -> None:
        for optimizer, lr in zip(self.optimizers, rates, strict=True):
            optimizer.lr = lr

    def _workspace(self, batch: int) -> _Workspace:
        if batch not in self._workspaces:
            self._workspaces[batch] = _Workspace(self.layers, self.size, batch, self.hidden, self.device)
        return self._workspaces[batch]

    @torch.no_grad()
    def train_epoch_members(self, inputs: torch.Tensor, targets: torch.Tensor, should_continue: Callable[[], bool]) -> list[float] | None:
        """One pass in file order; each member's mean batch loss, or None when stopped before the end.

        ``should_continue`` is called before every optimizer step (the stop/pause check).
        State is zeros at the start of the epoch and carried per batch position; a last batch
        of another size starts from a fresh zero state (as the reference method's get_or_reset_hidden does).
        """
        rows = inputs.shape[0]
        errors = torch.empty(self.size, rows, 1, device=self.device)
        for workspace in self._workspaces.values():
            workspace.reset()
        x_batches = torch.split(inputs, self.batch_size)
        y_batches = torch.split(targets.view(-1, 1), self.batch_size)
        e_batches = torch.split(errors, self.batch_size, dim=1)
        for x, y, e in zip(x_batches, y_batches, e_batches, strict=True):
            if not should_continue():
                return None
            self._step(self._workspace(x.shape[0]), x, y, e)
        self.push_to_models()
        squared = errors.square().view(self.size, -1)
        batch_means = torch.stack([part.mean(dim=1) for part in torch.split(squared, [b.shape[0] for b in x_batches], dim=1)])
        return batch_means.mean(dim=0).tolist()

    def _step(self, ws: _Workspace, x: torch.Tensor, y: torch.Tensor, err: torch.Tensor) -> None:
        """Forward one sample per batch position, hand-written backward, clip, fused Adam."""
        now, nxt = ws.parity, 1 - ws.parity
        ws.parity = nxt
        layer_input = x
        for k, layer in enumerate(self.layers):
            act, c, c_new, tanh_c = ws.act[k], ws.c[k], ws.c_new[k], ws.tanh_c[k]
            i, f, g, o = ws.act_parts[k]
            ws.x_part[now][k].copy_(layer_input)
            gates = torch.bmm(ws.xh[now][k], layer.w, out=ws.gates[k])
            torch.sigmoid(gates, out=act)
            torch.tanh(ws.gates_g[k], out=g)
            torch.addcmul(f * c, i, g, out=c_new)
            torch.tanh(c_new, out=tanh_c)
            layer_input = torch.mul(o, tanh_c, out=ws.h_part[nxt][k])
            if self.dropout > 0 and k + 1 < len(self.layers):
                mask = ws.masks[k] = self._dropout_mask(layer_input)
                layer_input = layer_input * mask
        out = torch.baddbmm(self.head_b, layer_input, self.head_w_t)
        diff = out.sub_(y)
        err.copy_(diff)
        d_out = diff.mul_(2.0 / x.shape[0])
        torch.bmm(d_out.transpose(1, 2), layer_input, out=self.d_head_w)
        torch.sum(d_out, dim=1, out=self.d_head_b)
        d_h = d_out * self.head_w
        d_i, d_f, d_g, d_o = ws.dact_parts
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[k]
            act, c, tanh_c = ws.act[k], ws.c[k], ws.tanh_c[k]
            i, f, g, o = ws.act_parts[k]
            torch.mul(d_h, tanh_c, out=d_o)
            d_tanh = d_h.mul_(o)
            d_c = torch.addcmul(d_tanh, d_tanh * tanh_c, tanh_c, value=-1.0)
            torch.mul(d_c, g, out=d_i)
            torch.mul(d_c, c, out=d_f)
            torch.mul(d_c, i, out=d_g)
            torch.addcmul(act, act, act, value=-1.0, out=ws.deriv)  # s(1 - s): sigmoid gates
            torch.addcmul(ws.ones, g, g, value=-1.0, out=ws.deriv_g)  # 1 - g^2: the tanh gate
            d_z = ws.dact.mul_(ws.deriv)
            torch.bmm(ws.xh_t[now][k], d_z, out=layer.dw)
            if k > 0:
                d_h = torch.bmm(d_z, layer.w_in_t)
                if (kept := ws.masks[k - 1]) is not None:
                    d_h.mul_(kept)
        for k in range(len(self.layers)):
            ws.c[k], ws.c_new[k] = ws.c_new[k], ws.c[k]
        self.grad_scale.copy_(clip_scales(torch.linalg.vector_norm(self.grads, dim=1), self.clips))
        self._adam_step()

    def _dropout_mask(self, layer_input: torch.Tensor) -> torch.Tensor:
        """Inverted-dropout masks, each member's from its own generator as in its solo run."""
        keep = 1.0 - self.dropout
        mask = torch.empty_like(layer_input)
        for member, rows in zip(self.members, mask.unbind(0), strict=True):
            rows.bernoulli_(keep, generator=member.generator)
        return mask.div_(keep)

    def _adam_step(self) -> None:
        """One fused Adam step per member, called straight to skip Optimizer.step's per-call overhead."""
        for optimizer, row, grad, scale in zip(self.optimizers, self.rows, self.grad_rows, self._scales, strict=True):
            step, exp_avg, exp_avg_sq = optimizer.moments_for(row)
            step.add_(1)
            beta1, beta2 = optimizer.BETAS
            torch._fused_adam_(
                [row],
                [grad],
                [exp_avg],
                [exp_avg_sq],
                [],
                [step],
                amsgrad=False,
                lr=optimizer.lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=0.0,
                eps=optimizer.EPS,
                maximize=False,
                grad_scale=scale,
                found_inf=None,
            )


def clip_scales(norms: torch.Tensor, clips: torch.Tensor) -> torch.Tensor:
    """What each member's gradient is divided by: clip_grad_norm_'s factor inverted, at least 1; a
    member without clipping (clip inf) gets 1, even when its gradient overflowed to inf."""
    return torch.clamp(norms.add(1e-6).div_(clips), min=1.0).nan_to_num_(nan=1.0)


class InterleavedTrainer(PopulationTrainer):
    """One model trained by the interleaved reference method: a population of one."""

    def __init__(
        self,
        model: FrequencyLSTM,
        batch_size: int,
        learning_rate: float,
        clip_grad_norm: float,
        generator: torch.Generator | None = None,
    ):
        super().__init__([model], batch_size, [Member(learning_rate, clip_grad_norm, generator)])
        self.model = model

    @property
    def optimizer(self) -> AdamRow:
        """The model's Adam, whose state_dict a checkpoint keeps."""
        return self.optimizers[0]

    def set_learning_rate(self, lr: float) -> None:
        self.set_learning_rates([lr])

    def train_epoch(self, inputs: torch.Tensor, targets: torch.Tensor, should_continue: Callable[[], bool]) -> float | None:
        """One pass in file order; the mean batch loss, or None when stopped before the end."""
        losses = self.train_epoch_members(inputs, targets, should_continue)
        return None if losses is None else losses[0]


def has_fast_path(model: ModelConfig) -> bool:
    """Whether the hand-written path trains this model: a plain LSTM (no GRU, no attention)."""
    return model.cell == "lstm" and not model.attention_window and not model.bidirectional


class StepwiseTrainer(AutogradTrainer):
    """The interleaved reference method for any model, by autograd: rows in order, one step per
    optimizer step for every batch position, each position's state (attention buffer included)
    carried and detached after each step; zeros at the start of the epoch and for a last batch of
    another size. The same numbers as the fast path for a plain LSTM, only slower."""

    def __init__(self, model: FrequencyLSTM, batch_size: int, learning_rate: float, clip_grad_norm: float):
        super().__init__(model, learning_rate, clip_grad_norm)
        self.batch_size = batch_size

    def train_epoch(self, inputs: torch.Tensor, targets: torch.Tensor, should_continue: Callable[[], bool]) -> float | None:
        """One pass in file order; the mean batch loss, or None when stopped before the end."""
        self.model.train()
        state = self.model.zero_state(self.batch_size)
        losses = []
        for x, y in zip(torch.split(inputs, self.batch_size), torch.split(targets, self.batch_size), strict=True):
            if not should_continue():
                return None
            if x.shape[0] != self.batch_size:
                state = self.model.zero_state(x.shape[0])
            out, state = self.model(x.unsqueeze(1), state)
            loss = torch.nn.functional.mse_loss(out.squeeze(1), y)
            self._step(loss)
            state = self.model.carried(state)
            losses.append(loss.detach())
        return float(torch.stack(losses).mean())
