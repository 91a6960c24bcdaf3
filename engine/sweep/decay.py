"""Per-member λ in a sweep, with exactly the arithmetic a single run's torch code uses.

A torch optimizer's `weight_decay` is one scalar per parameter group, and every member's tensors
share the groups, so the sweep's optimizer gets weight_decay = 0 and each member's λ is applied
here, by hand, on the member's slice (λ_k broadcast along the leading K axis), just before
`optimizer.step()`:

- `l2` (penalty in the loss): the gradient of λ_k·Σ‖w_k‖² is 2λ_k·w_k. A run gets it from
  autograd as λ·(2·w); (2λ_k)·w_k is bitwise the same number (doubling is exact), and adding it
  to the data gradient directly skips the penalty's pow/sum/backward graph, which cost a third
  of an MLP sweep's step.
- `wd`, SGD and Adam (coupled): torch does `grad = grad.add(param, alpha=2λ)` inside `step()`:
  the same `grad += 2λ_k·w` on the same pre-step weights.
- `wd`, AdamW (decoupled): torch does `param.mul_(1 - lr·2λ)` first thing in `step()`; here
  `w *= 1 − lr·2λ_k`. The factor is computed in double precision, as Python computes torch's
  own `1 - lr * weight_decay`, and used in float32, as torch uses that scalar.
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
        self._lams = list(lams)
        self._reg = reg
        self._device, self._dtype = device, dtype
        self.decoupled = reg == "wd" and optimizer == "adamw"
        # 2λ_k added to the gradient: l2 (the penalty's gradient) or coupled wd (torch's rule).
        two_lams = [
            2.0 * loss_lam(reg, lam) if reg == "l2" else optimizer_weight_decay(reg, lam)
            for lam in lams
        ]
        self.grad_decays = None if self.decoupled or not any(two_lams) else self._tensor(two_lams)
        self._factor_lr: float | None = None
        self._factors: torch.Tensor | None = None

    def _tensor(self, values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=self._dtype, device=self._device)

    @torch.no_grad()
    def before_step(self, penalized: list[torch.Tensor], lr: float) -> None:
        """Apply each member's λ to the penalized stacked parameters (or their gradients)."""
        if self.grad_decays is not None:
            for p in penalized:
                if p.grad is not None:
                    p.grad.add_(p * _along_k(self.grad_decays, p))
        elif self.decoupled:
            factors = self._decoupled_factors(lr)
            for p in penalized:
                p.mul_(_along_k(factors, p))

    def _decoupled_factors(self, lr: float) -> torch.Tensor:
        if self._factors is None or self._factor_lr != lr:
            self._factors = self._tensor(
                [1.0 - lr * optimizer_weight_decay(self._reg, lam) for lam in self._lams]
            )
            self._factor_lr = lr
        return self._factors
