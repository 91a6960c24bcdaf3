"""Each epoch's update of the penalized weights, split into a data part and a decay part.

Δw = (weights at the end of the epoch) − (weights at its start) = data + decay, exactly: the
decay part is summed step by step, and the data part is what remains. What "the decay part of a
step" is depends on the optimizer; each definition is the part of the step that the penalty's
gradient 2λ·w (or AdamW's decoupled shrink) contributes, and is linear in it:

- SGD, no momentum (l2 and wd alike): −lr·2λ·w_t, with w_t the weights before the step.
- SGD with momentum μ: the momentum buffer is linear in the gradients it sums, so it splits into
  a data buffer and a decay buffer, each following b ← μ·b + g with its own part of g; the
  decay part of the step is −lr·b_decay, b_decay ← μ·b_decay + 2λ·w_t.
- Adam with the penalty coupled (l2, or Adam in wd mode, or AdamW in l2 mode): the first moment
  splits the same way, m_decay ← β1·m_decay + (1 − β1)·2λ·w_t, and the decay part is
  −lr·m̂_decay/(√v̂ + ε): the step's own denominator (from the whole gradient's second moment,
  which does not split) divides both parts.
- AdamW in wd mode (decoupled): the step first shrinks w by lr·2λ·w_t; that is the decay part.

Cost: one fused multi-tensor op per step (two or three with momentum or Adam), a copy of the
penalized weights per epoch, and three scalars in the epoch's one host sync.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class NoSplit:
    """Measures nothing (a benchmark's side by side, the run it is compared with)."""

    def before_step(self, lam: float, lr: float) -> None:
        pass

    def after_step(self) -> None:
        pass

    def __init__(self, params: Sequence[torch.Tensor]) -> None:
        self._weights = [p.detach() for p in params]

    @torch.no_grad()
    def epoch_end(self) -> list[torch.Tensor]:
        """Each parameter's ‖w‖ only."""
        return list(torch._foreach_norm(self._weights)) if self._weights else []


class UpdateSplit:
    """Accumulates the decay part of every step of an epoch; `epoch_end` gives the three norms'
    squares as device tensors (no host sync)."""

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        optimizer: torch.optim.Optimizer,
        *,
        optimizer_name: str,
        reg: str,
        momentum: float,
    ) -> None:
        self.params = list(params)
        # Views of the same storage, made once: the optimizer updates the weights in place.
        self._weights = [p.detach() for p in self.params]
        self._optimizer = optimizer
        self._coupled_adam = optimizer_name in ("adam", "adamw") and not (
            optimizer_name == "adamw" and reg == "wd"
        )
        self._momentum = momentum if optimizer_name == "sgd" else 0.0
        self._penalized = reg != "none"
        self._decay = [torch.zeros_like(p) for p in self.params]
        # The decay part's own momentum buffer (SGD) or first moment (coupled Adam).
        self._moment = [torch.zeros_like(p) for p in self.params]
        self._start = [p.detach().clone() for p in self.params]
        self._pending_adam: float | None = None

    @torch.no_grad()
    def before_step(self, lam: float, lr: float) -> None:
        """Before the optimizer step: its decay part, from the weights it starts from."""
        if not self.params or not self._penalized:
            return
        weights = self._weights
        if self._coupled_adam:
            beta1 = self._optimizer.param_groups[0]["betas"][0]
            torch._foreach_mul_(self._moment, beta1)
            if lam:
                torch._foreach_add_(self._moment, weights, alpha=(1 - beta1) * 2 * lam)
            self._pending_adam = lr  # scaled by the step's second moment once it is taken
        elif self._momentum:
            torch._foreach_mul_(self._moment, self._momentum)
            if lam:
                torch._foreach_add_(self._moment, weights, alpha=2 * lam)
            torch._foreach_add_(self._decay, self._moment, alpha=-lr)
        elif lam:
            torch._foreach_add_(self._decay, weights, alpha=-lr * 2 * lam)

    @torch.no_grad()
    def after_step(self) -> None:
        """After the optimizer step (coupled Adam only): divide by the step's denominator."""
        lr, self._pending_adam = self._pending_adam, None
        if lr is None:
            return
        group = self._optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        states = [self._optimizer.state[p] for p in self.params]
        step = float(states[0]["step"])
        correction1 = 1 - beta1**step
        correction2_sqrt = (1 - beta2**step) ** 0.5
        # Adam's step is −(lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε); multiplied through by
        # √(1 − β2^t), it is three fused ops: √v, + ε·√(1 − β2^t), then one addcdiv.
        denominators = torch._foreach_sqrt([s["exp_avg_sq"] for s in states])
        torch._foreach_add_(denominators, eps * correction2_sqrt)
        torch._foreach_addcdiv_(
            self._decay, self._moment, denominators, value=-lr * correction2_sqrt / correction1
        )

    @torch.no_grad()
    def parts(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """(Δw, data part, decay part) since the epoch started, one tensor per parameter."""
        update = list(torch._foreach_sub(self._weights, self._start))
        data = list(torch._foreach_sub(update, self._decay))
        return update, data, [d.clone() for d in self._decay]

    @torch.no_grad()
    def epoch_end(self) -> list[torch.Tensor]:
        """Each parameter's ‖w‖ now, then its ‖Δw‖, its ‖data part‖ and its ‖decay part‖ over
        the epoch just ended, parameter by parameter within each group (0-d device tensors, no
        host sync: `combined` adds them up on the host); then starts the next epoch from the
        weights now. Five fused ops, whatever the number of parameters: the fastest runs pay
        per op."""
        update = torch._foreach_sub(self._weights, self._start)
        data = torch._foreach_sub(update, self._decay)
        norms = list(torch._foreach_norm([*self._weights, *update, *data, *self._decay]))
        torch._foreach_copy_(self._start, self._weights)
        torch._foreach_zero_(self._decay)
        return norms


def combined(norms: Sequence[float]) -> tuple[float, float, float]:
    """The per-parameter norms of the update and its parts (`epoch_end`'s, after the
    weights' own), on the host, as (‖Δw‖, ‖data part‖, ‖decay part‖) over all parameters."""
    n = len(norms) // 3
    if n == 1:
        return norms[0], norms[1], norms[2]
    update, data, decay = (
        math.sqrt(math.fsum(v * v for v in norms[k * n : (k + 1) * n])) for k in range(3)
    )
    return update, data, decay
