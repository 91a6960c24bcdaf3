"""The λ step keys: ×10 and ÷10, through 0, which a ratio never reaches."""

from __future__ import annotations

LAM_FLOOR = 1e-4  # stepping λ up from 0 lands here; stepping below it lands on 0


def step_lam(lam: float, up: bool) -> float:
    if up:
        return LAM_FLOOR if lam <= 0 else lam * 10
    down = lam / 10
    return 0.0 if down < LAM_FLOOR * (1 - 1e-9) else down
