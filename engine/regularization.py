"""What λ means, in one place.

Objective = data loss + λ·Σ‖w‖² over the penalized parameters: tensors of two or more dimensions
(weights); 1-D tensors (biases) only with `decay_bias`. The three modes apply that same λ:

- `l2`:   the penalty is added to the loss; every optimizer group has weight_decay = 0.
- `wd`:   the optimizer's own weight_decay = 2λ on the penalized group, 0 elsewhere, because
          ∇(λ‖w‖²) = 2λw and torch adds weight_decay·w to the gradient (SGD, Adam) or shrinks
          w by lr·weight_decay·w (AdamW, decoupled).
- `none`: no penalty, whatever λ says.

Every group's weight_decay is set explicitly, so AdamW's default of 0.01 never leaks in.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from engine.config import RunConfig


def is_penalized(param: torch.Tensor, decay_bias: bool) -> bool:
    return param.ndim >= 2 or decay_bias


def decays(param: torch.Tensor, config: RunConfig) -> bool:
    """Whether λ applies to this parameter in this run (what the events report as `penalized`):
    never in mode none, which penalizes nothing."""
    return config.reg != "none" and is_penalized(param, config.decay_bias)


def split_parameters(
    model: nn.Module, decay_bias: bool
) -> tuple[list[tuple[str, nn.Parameter]], list[tuple[str, nn.Parameter]]]:
    """(penalized, unpenalized) named parameters, each in the model's order."""
    penalized: list[tuple[str, nn.Parameter]] = []
    free: list[tuple[str, nn.Parameter]] = []
    for name, param in model.named_parameters():
        (penalized if is_penalized(param, decay_bias) else free).append((name, param))
    return penalized, free


def optimizer_weight_decay(reg: str, lam: float) -> float:
    """The weight_decay the optimizer's penalized group gets for this mode and λ."""
    return 2.0 * lam if reg == "wd" else 0.0


def loss_lam(reg: str, lam: float) -> float:
    """The λ multiplying Σ‖w‖² inside the loss that is backpropagated."""
    return lam if reg == "l2" else 0.0


def build_optimizer(
    config: RunConfig,
    penalized: Sequence[torch.Tensor],
    free: Sequence[torch.Tensor],
    lam: float,
    lr: float,
) -> torch.optim.Optimizer:
    """One optimizer. In `wd` mode, group 0 holds the penalized parameters (tagged
    `penalized=True`) and group 1 the rest; `l2` and `none` need no decay in the optimizer, so
    they get one group with weight_decay 0 (a second group would cost every step a few µs)."""
    if config.reg == "wd":
        groups = [
            {
                "params": penalized,
                "weight_decay": optimizer_weight_decay("wd", lam),
                "penalized": True,
            },
            {"params": free, "weight_decay": 0.0, "penalized": False},
        ]
        groups = [g for g in groups if g["params"]]
    else:
        groups = [{"params": [*penalized, *free], "weight_decay": 0.0, "penalized": False}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.AdamW(groups, lr=lr)


def set_optimizer_lam(optimizer: torch.optim.Optimizer, reg: str, lam: float) -> None:
    for group in optimizer.param_groups:
        if group.get("penalized"):
            group["weight_decay"] = optimizer_weight_decay(reg, lam)


def set_optimizer_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def squared_norm(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ‖p‖², as a 0-d tensor on the parameters' device (no host sync)."""
    if not params:
        return torch.zeros(())
    total = params[0].pow(2).sum()
    for p in params[1:]:
        total = total + p.pow(2).sum()
    return total
