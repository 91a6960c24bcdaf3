"""K copies of a model, stacked on a leading axis, trained as one: the sweep's batched model.

Why batched matmuls rather than `torch.func.vmap(functional_call)`: the models are chains of
linear layers, so a stacked layer is one GEMM (first layer: the input is shared, so all K weight
matrices form one (K·out, in) matrix) or one `baddbmm` (later layers). The stacked weights are
plain leaf tensors an ordinary torch optimizer updates, and there is no functorch dispatch per
call, which matters on a CPU where these tiny models are bound by per-op overhead.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models import ACTIVATION_MODULES
from engine.regularization import is_penalized


class StackedModel:
    """Every member starts from `model`'s weights; member k's parameters are `param[k]`."""

    def __init__(
        self, model: nn.Module, k: int, activation: str, decay_bias: bool, device: torch.device
    ) -> None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        named = list(model.named_parameters())
        if len(named) != 2 * len(linears) or any(
            m.bias is None or named[2 * i][1] is not m.weight or named[2 * i + 1][1] is not m.bias
            for i, m in enumerate(linears)
        ):
            raise ValueError("a sweep needs a chain of nn.Linear layers with biases")
        self.k = k
        self.names = [name for name, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.params = [
            p.detach().to(device).unsqueeze(0).repeat(k, *([1] * p.ndim)).requires_grad_()
            for _, p in named
        ]
        # Penalized is decided on the single-run parameter (weights ≥ 2-D), as a run does.
        mask = [is_penalized(p, decay_bias) for _, p in named]
        self.penalized = [p for p, pen in zip(self.params, mask, strict=True) if pen]
        self.free = [p for p, pen in zip(self.params, mask, strict=True) if not pen]
        self._activation = ACTIVATION_MODULES[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, in), shared by every member -> predictions (K, B, out): out is the task's
        output width (1 for regression, one logit per class for classification)."""
        w0, b0 = self.params[0], self.params[1]
        k, out, n_in = w0.shape
        # One GEMM for all members: (B, in) @ (in, K·out) -> (B, K, out) -> (K, B, out).
        h = torch.addmm(b0.reshape(1, k * out), x, w0.reshape(k * out, n_in).t())
        h = h.view(x.shape[0], k, out).transpose(0, 1)
        for i in range(2, len(self.params), 2):
            w, b = self.params[i], self.params[i + 1]
            h = torch.baddbmm(b.unsqueeze(1), self._activation(h), w.transpose(1, 2))
        return h

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
        """name -> the stacked tensor (K, *single-run shape), on the CPU."""
        return {
            name: p.detach().cpu().clone() for name, p in zip(self.names, self.params, strict=True)
        }
