"""The user's interleaved method (spec section 2.1), fast: a hand-written one-step LSTM cell.

With TBPTT of one step the gradient never crosses a time step, so the backward pass of one
optimizer step is a handful of dense ops. Doing them by hand on one flat parameter buffer, with
fused Adam reading the clip factor as its ``grad_scale``, removes autograd and per-parameter
dispatch, which dominate this tiny, strictly sequential workload. The arithmetic is the same as
``nn.LSTM`` + ``clip_grad_norm_`` + ``Adam``; ``tests/test_interleaved.py`` holds the proof.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine.model import FrequencyLSTM


@dataclass
class _Layer:
    """Views into the flat buffers for one LSTM layer.

    ``w`` stacks W_ih^T, b_ih, b_hh and W_hh^T as rows, shape (in + 2 + H, 4H); the layer's input
    buffer is [x, 1, 1, h], so one matmul gives the gates with both biases and one matmul gives
    every gradient, the two bias gradients included.
    """

    n_in: int
    w: torch.Tensor
    w_in_t: torch.Tensor  # W_ih, for the gradient that flows down to the layer below
    dw: torch.Tensor

    def blocks(self, tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(W_ih^T, b_ih, b_hh, W_hh^T) views of ``w`` or ``dw``."""
        n = self.n_in
        return tensor[:n], tensor[n], tensor[n + 1], tensor[n + 2 :]


class _Workspace:
    """Per-batch-size state, scratch buffers and their views, made once so a step allocates little."""

    def __init__(self, layers: list[_Layer], batch: int, hidden: int, device: torch.device):
        def zeros(*shape: int) -> torch.Tensor:
            return torch.zeros(*shape, device=device)

        # Two input buffers per layer, swapped each step: step k's [x, h] stays intact for its
        # backward pass while step k writes h into step k+1's buffer.
        self.xh = [[zeros(batch, layer.n_in + 2 + hidden) for layer in layers] for _ in range(2)]
        self.xh_t = [[buffer.t() for buffer in pair] for pair in self.xh]
        self.x_part = [[buffer[:, : layer.n_in] for buffer, layer in zip(pair, layers, strict=True)] for pair in self.xh]
        self.h_part = [[buffer[:, layer.n_in + 2 :] for buffer, layer in zip(pair, layers, strict=True)] for pair in self.xh]
        self.layers = layers
        self.c = [zeros(batch, hidden) for _ in layers]
        self.c_new = [zeros(batch, hidden) for _ in layers]
        self.gates = [zeros(batch, 4 * hidden) for _ in layers]
        self.gates_g = [gates[:, 2 * hidden : 3 * hidden] for gates in self.gates]
        self.act = [zeros(batch, 4 * hidden) for _ in layers]
        self.act_parts = [act.chunk(4, dim=1) for act in self.act]
        self.tanh_c = [zeros(batch, hidden) for _ in layers]
        self.dact = zeros(batch, 4 * hidden)
        self.dact_parts = self.dact.chunk(4, dim=1)
        self.deriv = zeros(batch, 4 * hidden)
        self.deriv_g = self.deriv[:, 2 * hidden : 3 * hidden]
        self.ones = torch.ones(batch, hidden, device=device)
        self.masks: list[torch.Tensor | None] = [None for _ in layers]
        self.reset()

    def reset(self) -> None:
        for buffers in self.xh:
            for buffer, layer in zip(buffers, self.layers, strict=True):
                buffer.zero_()
                buffer[:, layer.n_in : layer.n_in + 2] = 1.0  # the bias columns
        for c in self.c:
            c.zero_()
        self.parity = 0


class InterleavedTrainer:
    """Trains a FrequencyLSTM the user's way: rows in order, state per batch position, TBPTT of 1."""

    def __init__(
        self,
        model: FrequencyLSTM,
        batch_size: int,
        learning_rate: float,
        clip_grad_norm: float,
        generator: torch.Generator | None = None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.clip = clip_grad_norm
        self.generator = generator
        self.device = model.head.weight.device
        lstm = model.lstm
        self.hidden = lstm.hidden_size
        self.dropout = lstm.dropout if lstm.num_layers > 1 else 0.0
        sizes = []
        for layer in range(lstm.num_layers):
            n_in = lstm.input_size if layer == 0 else self.hidden
            sizes.append((n_in + 2 + self.hidden) * 4 * self.hidden)
        sizes += [self.hidden, 1]
        self.params = torch.zeros(sum(sizes), device=self.device)
        self.params.grad = torch.zeros_like(self.params)
        p_views = torch.split(self.params, sizes)
        g_views = torch.split(self.params.grad, sizes)
        self.layers = []
        for layer in range(lstm.num_layers):
            n_in = lstm.input_size if layer == 0 else self.hidden
            shape = (n_in + 2 + self.hidden, 4 * self.hidden)
            w = p_views[layer].view(shape)
            self.layers.append(_Layer(n_in, w, w[:n_in].t(), g_views[layer].view(shape)))
        self.head_w, self.head_b = p_views[-2].view(1, -1), p_views[-1]
        self.d_head_w, self.d_head_b = g_views[-2].view(1, -1), g_views[-1]
        self.pull_from_model()
        self.head_w_t = self.head_w.t()
        self.optimizer = torch.optim.Adam([self.params], lr=learning_rate, fused=True)
        self.optimizer.state[self.params] = {
            "step": torch.zeros((), device=self.device),
            "exp_avg": torch.zeros_like(self.params),
            "exp_avg_sq": torch.zeros_like(self.params),
        }
        # fused Adam divides each gradient by grad_scale: the inverse of the clip factor
        self.grad_scale = torch.ones((), device=self.device)
        self._workspaces: dict[int, _Workspace] = {}

    @torch.no_grad()
    def pull_from_model(self) -> None:
        """Copy the module's weights into the flat buffer (nn.LSTM layout -> transposed blocks)."""
        lstm = self.model.lstm
        for k, layer in enumerate(self.layers):
            w_ih, b_ih, b_hh, w_hh = layer.blocks(layer.w)
            w_ih.copy_(getattr(lstm, f"weight_ih_l{k}").t())
            b_ih.copy_(getattr(lstm, f"bias_ih_l{k}"))
            b_hh.copy_(getattr(lstm, f"bias_hh_l{k}"))
            w_hh.copy_(getattr(lstm, f"weight_hh_l{k}").t())
        self.head_w.copy_(self.model.head.weight)
        self.head_b.copy_(self.model.head.bias)

    @torch.no_grad()
    def push_to_model(self) -> None:
        """Copy the flat buffer back into the module, so checkpoints and evaluation use nn.LSTM."""
        lstm = self.model.lstm
        for k, layer in enumerate(self.layers):
            w_ih, b_ih, b_hh, w_hh = layer.blocks(layer.w)
            getattr(lstm, f"weight_ih_l{k}").copy_(w_ih.t())
            getattr(lstm, f"bias_ih_l{k}").copy_(b_ih)
            getattr(lstm, f"bias_hh_l{k}").copy_(b_hh)
            getattr(lstm, f"weight_hh_l{k}").copy_(w_hh.t())
        self.model.head.weight.copy_(self.head_w)
        self.model.head.bias.copy_(self.head_b)

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _workspace(self, batch: int) -> _Workspace:
        if batch not in self._workspaces:
            self._workspaces[batch] = _Workspace(self.layers, batch, self.hidden, self.device)
        return self._workspaces[batch]

    @torch.no_grad()
    def train_epoch(self, inputs: torch.Tensor, targets: torch.Tensor, should_continue: Callable[[], bool]) -> float | None:
        """One pass in file order; the mean batch loss, or None when stopped before the end.

        ``should_continue`` is called before every optimizer step (the stop/pause check).
        State is zeros at the start of the epoch and carried per batch position; a last batch
        of another size starts from a fresh zero state (the user's get_or_reset_hidden).
        """
        rows = inputs.shape[0]
        errors = torch.empty(rows, 1, device=self.device)
        for workspace in self._workspaces.values():
            workspace.reset()
        x_batches = torch.split(inputs, self.batch_size)
        y_batches = torch.split(targets.view(-1, 1), self.batch_size)
        e_batches = torch.split(errors, self.batch_size)
        for x, y, e in zip(x_batches, y_batches, e_batches, strict=True):
            if not should_continue():
                return None
            self._step(self._workspace(x.shape[0]), x, y, e)
        self.push_to_model()
        squared = errors.square().view(-1)
        sizes = [batch.shape[0] for batch in x_batches]
        return float(torch.stack([part.mean() for part in torch.split(squared, sizes)]).mean())

    def _step(self, ws: _Workspace, x: torch.Tensor, y: torch.Tensor, err: torch.Tensor) -> None:
        """Forward one sample per batch position, hand-written backward, clip, fused Adam."""
        now, nxt = ws.parity, 1 - ws.parity
        ws.parity = nxt
        layer_input = x
        for k, layer in enumerate(self.layers):
            act, c, c_new, tanh_c = ws.act[k], ws.c[k], ws.c_new[k], ws.tanh_c[k]
            i, f, g, o = ws.act_parts[k]
            ws.x_part[now][k].copy_(layer_input)
            gates = torch.mm(ws.xh[now][k], layer.w, out=ws.gates[k])
            torch.sigmoid(gates, out=act)
            torch.tanh(ws.gates_g[k], out=g)
            torch.addcmul(f * c, i, g, out=c_new)
            torch.tanh(c_new, out=tanh_c)
            layer_input = torch.mul(o, tanh_c, out=ws.h_part[nxt][k])
            if self.dropout > 0 and k + 1 < len(self.layers):
                keep = 1.0 - self.dropout
                mask = torch.empty_like(layer_input).bernoulli_(keep, generator=self.generator).div_(keep)
                ws.masks[k] = mask
                layer_input = layer_input * mask
        out = torch.addmm(self.head_b, layer_input, self.head_w_t)
        diff = out.sub_(y)
        err.copy_(diff)
        d_out = diff.mul_(2.0 / x.shape[0])
        torch.mm(d_out.t(), layer_input, out=self.d_head_w)
        torch.sum(d_out, dim=0, out=self.d_head_b)
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
            torch.mm(ws.xh_t[now][k], d_z, out=layer.dw)
            if k > 0:
                d_h = torch.mm(d_z, layer.w_in_t)
                if ws.masks[k - 1] is not None:
                    d_h.mul_(ws.masks[k - 1])
        for k in range(len(self.layers)):
            ws.c[k], ws.c_new[k] = ws.c_new[k], ws.c[k]
        if self.clip > 0:
            norm = torch.linalg.vector_norm(self.params.grad)
            torch.clamp(norm.add_(1e-6).div_(self.clip), min=1.0, out=self.grad_scale)
        self._adam_step()

    def _adam_step(self) -> None:
        """One fused Adam step, called straight to skip Optimizer.step's per-call Python overhead."""
        group = self.optimizer.param_groups[0]
        state = self.optimizer.state[self.params]
        state["step"].add_(1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(
            [self.params],
            [self.params.grad],
            [state["exp_avg"]],
            [state["exp_avg_sq"]],
            [],
            [state["step"]],
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            grad_scale=self.grad_scale if self.clip > 0 else None,
            found_inf=None,
        )
