"""K copies of a model, stacked on a leading axis, trained as one: the sweep's batched model.

Why batched matmuls rather than `torch.func.vmap(functional_call)`: the models are chains of
linear layers, so a stacked layer is one GEMM (first layer: the input is shared, so all K weight
matrices form one (K·out, in) matrix) or one `baddbmm` (later layers). The stacked weights are
plain leaf tensors an ordinary torch optimizer updates, and there is no functorch dispatch per
call, which matters on a CPU where these tiny models are bound by per-op overhead.

A BatchNorm after a hidden layer (`--norm batch`) is K·width channels of one `F.batch_norm`:
each member's channels are normalized over the batch on their own, with their own γ, β and
running statistics, exactly as in K separate runs (the same kernel, channel by channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models import ACTIVATION_MODULES


@dataclass
class _Norm:
    """One stacked BatchNorm: γ and β (indices into the parameters), running statistics."""

    scale: int
    shift: int
    running_mean: torch.Tensor  # (K, width)
    running_var: torch.Tensor  # (K, width)
    eps: float
    momentum: float


@dataclass
class _Layer:
    """One stacked linear layer (indices into the parameters), and the BatchNorm after it."""

    weight: int
    bias: int | None
    norm: _Norm | None


class StackedModel:
    """Every member starts from `model`'s weights (and running statistics); member k's
    parameters are `param[k]`. `penalized`: the names of the parameters λ decays."""

    def __init__(
        self,
        model: nn.Module,
        k: int,
        activation: str,
        penalized: set[str],
        device: torch.device,
    ) -> None:
        named = list(model.named_parameters())
        index = {id(p): i for i, (_, p) in enumerate(named)}
        self.k = k
        self.names = [name for name, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.params = [
            p.detach().to(device).unsqueeze(0).repeat(k, *([1] * p.ndim)).requires_grad_()
            for _, p in named
        ]
        self.layers = self._layers(model, index, k, device)
        mask = [name in penalized for name in self.names]
        self.penalized = [p for p, pen in zip(self.params, mask, strict=True) if pen]
        self.free = [p for p, pen in zip(self.params, mask, strict=True) if not pen]
        self._activation = ACTIVATION_MODULES[activation]()

    @staticmethod
    def _layers(
        model: nn.Module, index: dict[int, int], k: int, device: torch.device
    ) -> list[_Layer]:
        """The chain's layers: Linear, optionally a BatchNorm1d, an activation, ... Linear."""
        modules = [model] if isinstance(model, nn.Linear) else list(model.children())
        layers: list[_Layer] = []
        used: list[int] = []
        for module in modules:
            if isinstance(module, nn.Linear):
                bias = None if module.bias is None else index[id(module.bias)]
                layers.append(_Layer(index[id(module.weight)], bias, None))
                used += [index[id(module.weight)]] + ([] if bias is None else [bias])
            elif isinstance(module, nn.BatchNorm1d) and layers and layers[-1].norm is None:
                if module.running_mean is None or module.running_var is None:
                    raise ValueError("a sweep's BatchNorm keeps running statistics")
                mean, var = (
                    s.detach().to(device).unsqueeze(0).repeat(k, 1).contiguous()
                    for s in (module.running_mean, module.running_var)
                )
                scale, shift = index[id(module.weight)], index[id(module.bias)]
                momentum = 0.1 if module.momentum is None else module.momentum
                layers[-1].norm = _Norm(scale, shift, mean, var, module.eps, momentum)
                used += [scale, shift]
            elif not isinstance(module, tuple(ACTIVATION_MODULES.values())):
                raise ValueError(f"a sweep cannot stack a {type(module).__name__}")
        if used != list(range(len(index))):
            raise ValueError("a sweep needs a chain of nn.Linear layers (and BatchNorm1d)")
        return layers

    def forward(self, x: torch.Tensor, training: bool = True) -> torch.Tensor:
        """x (B, in), shared by every member -> predictions (K, B, out): out is the task's
        output width (1 for regression, one logit per class for classification).
        `training`: BatchNorm normalizes with the batch's statistics and updates its running
        ones (a step), else uses the running ones (an evaluation, as a run's eval mode)."""
        h = x
        for i, layer in enumerate(self.layers):
            w = self.params[layer.weight]
            b = None if layer.bias is None else self.params[layer.bias]
            k, out, n_in = w.shape
            if i == 0:
                # One GEMM for all members: (B, in) @ (in, K·out) -> (B, K, out) -> (K, B, out).
                flat_w = w.reshape(k * out, n_in).t()
                if b is None:
                    h = torch.mm(x, flat_w)
                else:
                    h = torch.addmm(b.reshape(1, k * out), x, flat_w)
                h = h.view(x.shape[0], k, out).transpose(0, 1)
            elif b is None:
                h = torch.bmm(self._activation(h), w.transpose(1, 2))
            else:
                h = torch.baddbmm(b.unsqueeze(1), self._activation(h), w.transpose(1, 2))
            if layer.norm is not None:
                h = self._batch_norm(h, layer.norm, training)
        return h

    def _batch_norm(self, h: torch.Tensor, norm: _Norm, training: bool) -> torch.Tensor:
        """(K, B, C) -> (K, B, C): BatchNorm over B, separately for each of the K·C channels."""
        k, rows, width = h.shape
        flat = h.transpose(0, 1).reshape(rows, k * width)
        normalized = F.batch_norm(
            flat,
            norm.running_mean.view(-1),  # views: F.batch_norm updates the stacked stats
            norm.running_var.view(-1),
            self.params[norm.scale].reshape(-1),
            self.params[norm.shift].reshape(-1),
            training=training,
            momentum=norm.momentum,
            eps=norm.eps,
        )
        return normalized.view(rows, k, width).transpose(0, 1)

    def member_sq_norms(self) -> torch.Tensor:
        """Each member's Σ‖w‖² over its penalized parameters: shape (K,)."""
        total = torch.zeros(self.k, device=self.params[0].device)
        for p in self.penalized:
            total = total + p.pow(2).flatten(1).sum(1)
        return total

    def flat_weights(self) -> torch.Tensor:
        """(K, parameters per member): each member's parameters flattened, in parameter order."""
        return torch.cat([p.detach().flatten(1) for p in self.params], 1).cpu()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """name -> the stacked tensor (K, *single-run shape), on the CPU: the parameters (a
        BatchNorm's running statistics are not saved: a member's replay reads its weights)."""
        return {
            name: p.detach().cpu().clone() for name, p in zip(self.names, self.params, strict=True)
        }
