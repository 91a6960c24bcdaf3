"""How fast the decay forgets: the per-step shrink factor and its timescale τ, in numbers and
in words. Torch-free (the explorer shows it before torch has loaded).

The decay's part of one step multiplies w by a factor: 1 − lr·2λ for SGD (its gradient 2λ·w,
times lr) and for AdamW's decoupled decay (`w ← w − lr·2λ·w`). Left alone, w would fall as
(1 − lr·2λ)^t, that is e^(−t/τ) with τ = 1/(lr·2λ) steps: the weights are an average of about
the last τ updates (the decay forgets older ones). With SGD momentum μ the decay's push
accumulates in the buffer to 2λ·w/(1 − μ) in the steady state, so the factor is 1 − lr·2λ/(1 − μ)
and τ = (1 − μ)/(lr·2λ). Adam with the penalty coupled divides 2λ·w by the running RMS of the
whole gradient, so it has no fixed factor: None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DecayTimescale:
    shrink: float  # what each step keeps of w on the decay's account (0.994: 99.4%)
    tau_steps: float  # 1 / (1 − shrink): steps for the decay to forget
    steps_per_epoch: int

    @property
    def tau_epochs(self) -> float:
        return self.tau_steps / self.steps_per_epoch

    def words(self) -> str:
        """`each step keeps 99.4% of w; the decay forgets in about 170 steps (9 epochs)`."""
        if self.shrink <= 0:
            return (
                f"each step's decay alone takes w to {self.shrink:+.3g} × w: lr·2λ ≥ 1, "
                "the decay overshoots (lower lr or λ)"
            )
        # Enough decimals to tell it from 100%: 99.4%, 99.998%.
        decimals = max(1, math.ceil(-math.log10(1 - self.shrink)) - 2)
        kept = f"{self.shrink * 100:.{decimals}f}%"
        epochs = self.tau_epochs
        when = f"{epochs:,.0f} epochs" if epochs >= 10 else f"{epochs:.2g} epochs"
        return (
            f"each step keeps {kept} of w; the decay forgets in about "
            f"{_about(self.tau_steps)} steps ({when})"
        )


def decay_timescale(
    optimizer: str,
    reg: str,
    lam: float,
    lr: float,
    *,
    momentum: float = 0.0,
    steps_per_epoch: int = 1,
) -> DecayTimescale | None:
    """The decay's per-step factor and τ; None where there is none: λ = 0, mode none, or Adam
    with the penalty coupled (l2 mode, or Adam in wd mode)."""
    if reg == "none" or lam <= 0 or lr <= 0:
        return None
    coupled_adam = optimizer == "adam" or (optimizer == "adamw" and reg == "l2")
    if coupled_adam:
        return None
    rate = lr * 2 * lam
    if optimizer == "sgd" and momentum:
        rate /= 1 - momentum
    if not math.isfinite(rate):
        return None
    return DecayTimescale(1 - rate, 1 / rate, max(1, steps_per_epoch))


def no_timescale_reason(optimizer: str, reg: str, lam: float) -> str:
    """Why `decay_timescale` is None, in words."""
    if reg == "none":
        return "mode none: nothing decays"
    if lam <= 0:
        return "λ = 0: nothing decays"
    return (
        "Adam with the penalty in the gradient divides 2λ·w by the gradient's running RMS: "
        "no fixed shrink per step (AdamW in wd mode has one)"
    )


def _about(steps: float) -> str:
    """170, 1,700, 1.7M: two significant figures."""
    if steps >= 1e6:
        return f"{steps / 1e6:.2g}M"
    rounded = float(f"{steps:.2g}")
    return f"{rounded:,.0f}" if rounded >= 1 else f"{rounded:.2g}"
