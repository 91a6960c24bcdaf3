"""Axis ticks and their labels, for every chart.

A log axis is drawn as log10(value) on a linear axis with these hand-made labels: plotext 5's
own `xscale/yscale("log")` raises on the second build, and textual-plotext rebuilds on every
render. plotext draws one label per row, and which one wins a clash depends on set ordering
(different from one process to the next), so the ticks are kept apart.

Two rules for log axes, because the charts read differently:

- `log_ticks` (the loss chart's y): a loss falls through many decades over a run; about six
  decades at most, counted from the lowest, each tick two rows or more from the last; within a
  decade, plain 1-2-5 numbers ("2", "10").
- `pow10_ticks` (the sweep's λ and its y axes): anchored at multiples of the step, so 1e0 is a
  tick whenever it can be, at most `slots` of them; every whole decade labelled "1eK".
"""

from __future__ import annotations

import math

import numpy as np


def log_ticks(lo: float, hi: float, rows: int = 20) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels like '1e-2' for the range [lo, hi], at least
    two of the axis' `rows` apart."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    first, last = math.floor(lo), math.ceil(hi)
    decades = list(range(first, last + 1))
    step = max(1, math.ceil(len(decades) / 6))
    ticks = _spaced([float(k) for k in decades[::step] if lo <= k <= hi], lo, hi, rows)
    if len(ticks) >= 2:
        return ticks, [f"1e{int(k)}" for k in ticks]
    # Less than a decade in view: label 1-2-5 steps (or a few evenly spaced values).
    ticks = _spaced(_mantissa_ticks(lo, hi, (1, 2, 5)), lo, hi, rows)
    if len(ticks) < 2:
        ticks = list(np.linspace(lo, hi, 3))
    return ticks, [f"{10**t:.3g}" for t in ticks]


def _spaced(ticks: list[float], lo: float, hi: float, rows: int) -> list[float]:
    kept: list[float] = []
    for t in ticks:
        if not kept or (t - kept[-1]) / (hi - lo) * rows >= 2:
            kept.append(t)
    return kept


def pow10_ticks(lo: float, hi: float, slots: int) -> list[float]:
    """Whole decades in [lo, hi], at most `slots` of them (every 2nd, 3rd, ... decade); or, with
    fewer than two decades in range, 1-2-5 steps; or three evenly spaced values."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    slots = max(2, slots)
    decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
    if len(decades) >= 2:
        # Anchored at multiples of the step, so 1e0 is a tick whenever it can be.
        for step in (1, 2, 3, 4, 5, 10, 20, 50, 100):
            ticks = [float(k) for k in decades if k % step == 0]
            if 1 <= len(ticks) <= slots:
                return ticks
        return [float(decades[0])]
    # Less than two decades: the richest of 1-2-5, 1-3 steps that fits.
    for mantissas in ((1, 2, 5), (1, 3)):
        ticks = _mantissa_ticks(lo, hi, mantissas)
        if 2 <= len(ticks) <= slots:
            return ticks
    return [lo + (hi - lo) * i / 2 for i in range(3)] if hi > lo else [lo]


def pow10_label(t: float) -> str:
    if abs(t - round(t)) < 1e-9:
        return f"1e{round(t)}"
    return f"{10**t:.2g}"


def _mantissa_ticks(lo: float, hi: float, mantissas: tuple[int, ...]) -> list[float]:
    """log10(m·10^k) for each mantissa m and decade k, inside [lo, hi], in increasing order."""
    return [
        k + math.log10(m)
        for k in range(math.floor(lo), math.ceil(hi) + 1)
        for m in mantissas
        if lo <= k + math.log10(m) <= hi
    ]


def epoch_label(epoch: float) -> str:
    """1500 -> '1.5k', 2000000 -> '2M'."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(epoch) >= size:
            return f"{epoch / size:.4g}{suffix}"
    return f"{epoch:.4g}"


def epoch_ticks(last: float, count: int = 5) -> tuple[list[float], list[str]]:
    """Round epoch numbers (1-2-5 steps) from 0 to `last`, labelled compactly."""
    if last <= 1:
        return [1.0], ["1"]
    raw = last / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)  # whole epochs only
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    ticks = [k * step for k in range(int(last // step) + 1)]
    ticks = [t for t in ticks if t >= 1] or [1.0]
    return ticks, [epoch_label(t) for t in ticks]
