"""Why did a run diverge? A one-line hint naming the likely cause, for the diverged message.

Three causes, checked in this order:

1. The data: values so large that the squared error overflows float32 (|x| or |y| beyond
   1e18: the loss is inf at the starting weights, whatever the lr), or features on a huge scale
   that were not standardized (beyond 1e6: the gradient's curvature grows with |x|², so no
   ordinary lr is stable).
2. λ with lr: the decay step alone is unstable. For the penalty's own curvature 2λ, a gradient
   step multiplies w by 1 − 2λ·lr (SGD with the penalty in the loss or in `weight_decay`, and
   AdamW's decoupled decay); it diverges once that factor is ≤ −1, i.e. 2λ·lr ≥ 2 (heavy-ball
   momentum μ stretches the stable range to 2λ·lr < 2(1 + μ)). λ is named only when its
   curvature 2λ outweighs the data's (the squared error's, 2·(mean ‖x‖² + 1) for a linear model
   with a bias: a bound on its largest eigenvalue), else a large lr is the cause whatever λ is.
   Adam normalizes its gradient, so there λ only hurts when it is so large that λ·‖w‖² or its
   gradient 2λ·w overflows float32.
3. Otherwise the learning rate is too large for the problem. A target on a large scale (|y|
   beyond 1e6) is named too: it scales every gradient of an MLP.
"""

from __future__ import annotations

from typing import Any

from engine.config import RunConfig

OVERFLOW_SCALE = 1e18  # its square, summed over rows, is near float32's 3.4e38
HUGE_SCALE = 1e6
# Adam, coupled λ: (2λ·w)² feeds its second moment; with |w| ≈ 1 that overflows beyond this.
ADAM_LAM_OVERFLOW = 1e18


def _max_abs(tensor: Any) -> float:
    return 0.0 if tensor is None or tensor.numel() == 0 else float(tensor.abs().max())


def _mean_sq_norm(x: Any) -> float:
    return 0.0 if x is None or x.numel() == 0 else float(x.double().pow(2).sum(1).mean())


def divergence_cause(config: RunConfig, dataset: Any, lam: float, lr: float) -> str:
    """The likely reason a run with this (resolved) config, data, λ and lr diverged.

    `dataset` is an engine.data.Dataset (its training split is inspected); `lam` and `lr` are
    the values in effect when it diverged (the explorer may have changed them since the start).
    """
    x_max, y_max = _max_abs(dataset.x_train), _max_abs(dataset.y_train)
    if y_max > OVERFLOW_SCALE:
        return (
            f"the data are on a huge scale (|y| up to {y_max:.3g}): the squared error "
            "overflows float32; rescale the target"
        )
    if x_max > OVERFLOW_SCALE or (x_max > HUGE_SCALE and not config.standardize):
        fix = "rescale the features" + ("" if config.standardize else " or use --standardize")
        return f"the data are on a huge scale (|x| up to {x_max:.3g}): {fix}"

    penalized = config.reg != "none" and lam > 0
    decay_step = 2 * lam * lr
    sgd = config.optimizer == "sgd"
    decoupled = config.optimizer == "adamw" and config.reg == "wd"
    limit = 2 * (1 + config.momentum) if sgd else 2.0
    data_curvature = 2 * (_mean_sq_norm(dataset.x_train) + 1)
    if penalized and (sgd or decoupled) and decay_step >= limit and 2 * lam > data_curvature:
        return (
            f"λ·lr is too large: each step multiplies w by 1−2λ·lr = {1 - decay_step:.3g} "
            f"(λ {lam:g}, lr {lr:g}); lower λ or lr so that 2λ·lr < {limit:g}"
        )
    if penalized and not (sgd or decoupled) and lam >= ADAM_LAM_OVERFLOW:
        return (
            f"λ {lam:g} is too large: the penalty λ·‖w‖² and its gradient 2λ·w overflow "
            "float32; lower λ"
        )

    hint = f"lr {lr:g} is too large for this problem; try a smaller one"
    if y_max > HUGE_SCALE:
        hint += f" (the target reaches |y| = {y_max:.3g}: rescaling it would help too)"
    return hint


__all__ = ["divergence_cause"]
