"""Per-member λ in a sweep, with exactly the arithmetic a single run's torch optimizer uses.

A torch optimizer's `weight_decay` is one scalar per parameter group, and every member's tensors
share the groups, so the sweep's optimizer gets weight_decay = 0 and each member's decay is
applied here, by hand, on the member's slice (λ_k broadcast along the leading K axis):

- `l2`: the penalty λ_k·Σ‖w_k‖² is part of member k's loss (autograd does the rest).
- `wd`, SGD and Adam (coupled): torch does `grad = grad.add(param, alpha=2λ)` inside `step()`;
  here `grad += 2λ_k·w` just before `step()`, on the same pre-step weights.
- `wd`, AdamW (decoupled): torch does `param.mul_(1 - lr·2λ)` first thing in `step()`; here
  `w *= 1 − lr·2λ_k` just before `step()`. The factor is computed in double precision and used
  in float32, as torch does with its Python scalar.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.regularization import loss_lam, optimizer_weight_decay


def _along_k(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(K,) -> (K, 1, ..., 1), to broadcast against a stacked parameter."""
    return values.view(-1, *([1] * (like.ndim - 1)))


class MemberDecay:
    def __init__(
        self,
        reg: str,
        optimizer: str,
        lams: Sequence[float],
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.reg = reg
        self.decoupled = reg == "wd" and optimizer == "adamw"
        self.coupled = reg == "wd" and not self.decoupled
        self._lams = list(lams)
        self._device, self._dtype = device, dtype
        self.loss_lams = self._tensor([loss_lam(reg, lam) for lam in lams])
        self.in_loss = reg == "l2" and any(self._lams)
        self.weight_decays = self._tensor([optimizer_weight_decay(reg, lam) for lam in lams])
        self._factor_lr: float | None = None
        self._factors: torch.Tensor | None = None

    def _tensor(self, values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=self._dtype, device=self._device)

    def penalty(self, sq_norms: torch.Tensor) -> torch.Tensor:
        """Σ_k λ_k·Σ‖w_k‖² (mode l2): added to the summed loss, so member k's gradient gets
        exactly its own 2λ_k·w_k."""
        return (self.loss_lams * sq_norms).sum()

    @torch.no_grad()
    def before_step(self, penalized: list[torch.Tensor], lr: float) -> None:
        """Apply mode `wd` to the penalized stacked parameters, as torch's step() would."""
        if self.coupled:
            for p in penalized:
                if p.grad is not None:
                    p.grad.add_(p * _along_k(self.weight_decays, p))
        elif self.decoupled:
            factors = self._decoupled_factors(lr)
            for p in penalized:
                p.mul_(_along_k(factors, p))

    def _decoupled_factors(self, lr: float) -> torch.Tensor:
        if self._factors is None or self._factor_lr != lr:
            # 1 − lr·wd in double, as Python evaluates torch's own `1 - lr * weight_decay`.
            self._factors = self._tensor(
                [1.0 - lr * optimizer_weight_decay(self.reg, lam) for lam in self._lams]
            )
            self._factor_lr = lr
        return self._factors
