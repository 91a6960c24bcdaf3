"""Why did a run diverge, and which settings are asking for it: one-line texts, in one place.

`decay_step_warning` says, before anything trains, when a step's decay alone reaches or
overshoots w = 0 (lr·2λ ≥ 1). `divergence_cause` names the likely cause once a loss has turned
non-finite; three causes, checked in this order:

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

When only the test loss is non-finite (the training loss still finite), the test rows are
looked at first (test data on a scale that overflows float32); otherwise the weights have grown
so large that the test rows' error overflows first, and the same λ·lr / lr causes apply.

This module imports no torch: the explorer's status line uses `decay_step_warning` before torch
has loaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from engine.config import PROBLEM_SETTINGS, RunConfig, preset_of, problem_default

OVERFLOW_SCALE = 1e18  # its square, summed over rows, is near float32's 3.4e38
HUGE_SCALE = 1e6
# Adam, coupled λ: (2λ·w)² feeds its second moment; with |w| ≈ 1 that overflows beyond this.
ADAM_LAM_OVERFLOW = 1e18


def _max_abs(tensor: Any) -> float:
    return 0.0 if tensor is None or tensor.numel() == 0 else float(tensor.abs().max())


def _mean_sq_norm(x: Any) -> float:
    return 0.0 if x is None or x.numel() == 0 else float(x.double().pow(2).sum(1).mean())


def _setting(settings: RunConfig | Mapping[str, Any], name: str, default: Any) -> Any:
    if isinstance(settings, RunConfig):
        value = getattr(settings, name)
        if value in ("", None) and name in PROBLEM_SETTINGS:  # not resolved: the problem's own
            return problem_default(preset_of(settings), name)
        return value
    value = settings.get(name, default)
    return default if value is None else value


def decay_step_limit(settings: RunConfig | Mapping[str, Any]) -> float:
    """The lr·2λ from which the decay step alone diverges: 2, or 2(1 + μ) for SGD with
    heavy-ball momentum μ."""
    if _setting(settings, "optimizer", "sgd") == "sgd":
        return 2.0 * (1.0 + float(_setting(settings, "momentum", 0.0)))
    return 2.0


def decay_step_warning(
    settings: RunConfig | Mapping[str, Any], lam: float | None, lr: float | None
) -> str | None:
    """A warning when the decay part of one step alone carries w to 0 or past it, else None.

    `settings` is a RunConfig or its dict (as events carry it: `optimizer`, `reg`, `momentum`);
    `lam` and `lr` are the values in use. The decay part of a step is lr·2λ·w for SGD (the
    penalty in the loss, `l2`, or in `weight_decay = 2λ`, `wd`: the same step) and for AdamW's
    decoupled decay (`wd`: w ← w − lr·2λ·w before the Adam step), so one step multiplies w by
    1 − lr·2λ on the penalty's account: from lr·2λ = 1 that factor is ≤ 0 (w lands on 0 or
    overshoots it, flipping sign), and from 2 (2(1 + μ) with momentum μ) it diverges.

    Adam with the penalty coupled (`l2` or `wd`, and AdamW in `l2`) gets no warning: it divides
    the gradient, 2λ·w included, by its running RMS, so a step moves each weight by about lr
    whatever λ is, and lr·2λ says nothing about overshooting.
    """
    if lam is None or lr is None or not lam > 0 or not lr > 0:
        return None
    optimizer = _setting(settings, "optimizer", "sgd")
    reg = _setting(settings, "reg", "l2")
    if reg == "none" or not (optimizer == "sgd" or (optimizer == "adamw" and reg == "wd")):
        return None
    step = lr * 2 * lam
    # "Reaches 1" includes a product that float rounding puts a hair below it (lr 0.013 with
    # λ = 0.5 / lr gives 0.9999999999999999).
    if step < 1 and not math.isclose(step, 1.0, rel_tol=1e-9):
        return None
    # One line of the explorer's status line (≤ 118 columns at 120): w × (1 − lr·2λ) is the
    # factor the decay part of a step applies.
    return (
        f"lr·2λ = {step:.3g} ≥ 1: each step's decay alone takes w to 0 or past it "
        f"(w × {1 - step:.3g}; from {decay_step_limit(settings):g} it diverges); lower lr or λ"
    )


def divergence_cause(
    config: RunConfig,
    dataset: Any,
    lam: float,
    lr: float,
    *,
    loss: Literal["train", "test"] = "train",
) -> str:
    """The likely reason a run with this (resolved) config, data, λ and lr diverged.

    `dataset` is an engine.data.Dataset (its training split is inspected; its test split too
    when `loss` is "test": only the test loss turned non-finite); `lam` and `lr` are the values
    in effect when it diverged (the explorer may have changed them since the start).
    """
    if loss == "test":
        x_test, y_test = _max_abs(dataset.x_test), _max_abs(dataset.y_test)
        if y_test > OVERFLOW_SCALE or x_test > OVERFLOW_SCALE:
            which, big = ("|y|", y_test) if y_test > OVERFLOW_SCALE else ("|x|", x_test)
            return (
                f"the test rows are on a huge scale ({which} up to {big:.3g}): their squared "
                "error overflows float32; rescale the data"
            )
        return "the weights grew so large that the test rows' error overflows: " + (
            _training_cause(config, dataset, lam, lr)
        )
    return _training_cause(config, dataset, lam, lr)


def _training_cause(config: RunConfig, dataset: Any, lam: float, lr: float) -> str:
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


__all__ = ["decay_step_limit", "decay_step_warning", "divergence_cause"]
