"""What λ means, in one place.

Objective = data loss + λ·Σ‖w‖² over the penalized parameters, decided by the module each one
belongs to (`parameter_kinds`): a linear layer's weight always; its bias only with `decay_bias`;
a norm layer's γ and β only with `decay_norm`. The three modes apply that same λ:

- `l2`:   the penalty is added to the loss; every optimizer group has weight_decay = 0.
- `wd`:   the optimizer's own weight_decay = 2λ on the penalized group, 0 elsewhere, because
          ∇(λ‖w‖²) = 2λw and torch adds weight_decay·w to the gradient (SGD, Adam) or shrinks
          w by lr·weight_decay·w (AdamW, decoupled).
- `none`: no penalty, whatever λ says.

Every group's weight_decay is set explicitly, so AdamW's default of 0.01 never leaks in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from engine.config import FLOAT32_MAX, RunConfig
from engine.events import ParamInfo

# The layers whose weight and bias are a scale and a shift (γ, β), decayed only with
# `decay_norm`: they set a layer's output scale, which no penalty on the weights before them
# can see.
BATCH_NORMS: tuple[type[nn.Module], ...] = (nn.BatchNorm1d, nn.BatchNorm2d)
NORM_LAYERS: tuple[type[nn.Module], ...] = (*BATCH_NORMS, nn.LayerNorm, nn.GroupNorm)

WEIGHT, BIAS, NORM = "weight", "bias", "norm"  # a parameter's kind, for what decays


def parameter_kinds(model: nn.Module) -> dict[str, str]:
    """Each parameter's kind, by the module it belongs to: a norm layer's γ and β are NORM, a
    layer's `bias` is BIAS, anything else (a linear weight) is WEIGHT. A parameter of a module
    of no known kind counts by its shape: two or more dimensions a weight, else a bias."""
    kinds: dict[str, str] = {}
    for prefix, module in model.named_modules():
        for local, param in module.named_parameters(recurse=False):
            name = f"{prefix}.{local}" if prefix else local
            if isinstance(module, NORM_LAYERS):
                kinds[name] = NORM
            elif isinstance(module, nn.Linear):
                kinds[name] = BIAS if local == "bias" else WEIGHT
            else:
                kinds[name] = WEIGHT if param.ndim >= 2 else BIAS
    return kinds


def is_penalized(kind: str, config: RunConfig) -> bool:
    """Whether λ's Σ‖w‖² covers a parameter of this kind: weights always, biases with
    `decay_bias`, a norm layer's γ and β with `decay_norm`. (Mode none: see `decays`.)"""
    if kind == NORM:
        return config.decay_norm
    if kind == BIAS:
        return config.decay_bias
    return True


def decays(config: RunConfig) -> bool:
    """Whether λ applies at all in this run: never in mode none, which penalizes nothing (what
    the events then report as `penalized` is False for every parameter)."""
    return config.reg != "none"


def penalized_names(model: nn.Module, config: RunConfig) -> set[str]:
    """The parameters Σ‖w‖² is over, whatever the mode (‖w‖² is reported in mode none too)."""
    return {name for name, kind in parameter_kinds(model).items() if is_penalized(kind, config)}


def decayed_names(model: nn.Module, config: RunConfig) -> set[str]:
    """The parameters λ decays in this run: `penalized_names`, or none in mode none."""
    return penalized_names(model, config) if decays(config) else set()


def split_parameters(
    model: nn.Module, config: RunConfig
) -> tuple[list[tuple[str, nn.Parameter]], list[tuple[str, nn.Parameter]]]:
    """(penalized, unpenalized) named parameters, each in the model's order."""
    chosen = penalized_names(model, config)
    penalized: list[tuple[str, nn.Parameter]] = []
    free: list[tuple[str, nn.Parameter]] = []
    for name, param in model.named_parameters():
        (penalized if name in chosen else free).append((name, param))
    return penalized, free


@dataclass(frozen=True)
class DecayCounts:
    """How many parameters λ decays and how many it leaves alone: tensors and elements."""

    decayed_tensors: int
    decayed_elements: int
    free_tensors: int
    free_elements: int

    def describe(self) -> str:
        """One line: 'λ decays 3 tensors (6,752 values); 5 tensors free (330 values)'."""
        return (
            f"λ decays {_count(self.decayed_tensors, 'tensor')} "
            f"({_count(self.decayed_elements, 'value')}); "
            f"{_count(self.free_tensors, 'tensor')} free ({_count(self.free_elements, 'value')})"
        )


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" if n == 1 else f"{n:,} {what}s"


def parameter_counts(parameters: Iterable[ParamInfo]) -> DecayCounts:
    """The counts of the parameters λ decays and of those it leaves alone (a run's or a
    sweep's `parameter_info()`, a Started event's `parameters`)."""
    sizes = [(math.prod(p.shape), p.penalized) for p in parameters]
    decayed = [n for n, penalized in sizes if penalized]
    free = [n for n, penalized in sizes if not penalized]
    return DecayCounts(len(decayed), sum(decayed), len(free), sum(free))


def scale_invariant(model: nn.Module) -> set[str]:
    """The weights that feed a BatchNorm directly (a Linear followed by it in a Sequential).

    In training mode BN(cWx) = BN(Wx) for any c > 0 (the batch's mean and std scale with c;
    up to BN's ε), so the data loss does not depend on ‖W‖: its gradient is orthogonal to W
    and shrinks as 1/‖W‖. Weight decay then does not regularize W; it shrinks ‖W‖ and so
    raises W's effective learning rate, lr/‖W‖² (`effective_lr`). A bias before the BN is
    subtracted with the batch mean, so it does not break the invariance (and wdtui's models
    have none there)."""
    names = {module: prefix for prefix, module in model.named_modules()}
    found: set[str] = set()
    for sequence in model.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        layers = list(sequence)
        for layer, after in itertools.pairwise(layers):
            if isinstance(layer, nn.Linear) and isinstance(after, BATCH_NORMS):
                prefix = names[layer]
                found.add(f"{prefix}.weight" if prefix else "weight")
    return found


def effective_lr(lr: float, sq_norm: float) -> float:
    """A scale-invariant weight's effective learning rate, lr/‖W‖²: the step's size in
    direction (angle) that a plain weight of unit norm would take. inf at ‖W‖ = 0."""
    return lr / sq_norm if sq_norm > 0 else math.inf


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


def float32_square(norm: float) -> float:
    """‖w‖² from ‖w‖, on the host, as float32 holds it: beyond float32's range it is inf, as
    a float32 Σw² on the device would be (a diverging run's ‖w‖² overflows)."""
    square = norm * norm
    return math.inf if square > FLOAT32_MAX else square


def float32_sum(squares: Sequence[float]) -> float:
    """Σ of `float32_square`s, overflowing to inf where float32 would."""
    total = math.fsum(squares)
    return math.inf if total > FLOAT32_MAX else total
