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


def log_ticks(lo: float, hi: float, rows: float = 20) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels like '1e-2' inside [lo, hi], the data's
    range, at least two of the axis' `rows` apart. A flat range gets one tick, at its value."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return [], []
    if hi - lo < 1e-9:
        return [lo], [f"{10**lo:.3g}"]
    decades: list[float] = []
    if hi - lo >= 1:
        # Whole decades, at most about six, every step-th one (anchored at multiples of the
        # step, so 1e0 is a tick whenever it can be).
        gap = _gap(rows)
        step = max(1, math.ceil((hi - lo) / 6), math.ceil(gap * (hi - lo) / max(1, rows)))
        while not decades and step >= 1:
            decades = [float(k) for k in range(math.ceil(lo), math.floor(hi) + 1) if k % step == 0]
            step -= 1
        if len(decades) >= 2 or hi - lo >= 2:
            return decades, [f"1e{int(k)}" for k in decades]
    # Fewer than two decades to label: 1-2-5 steps; in a narrower range still, round numbers
    # in linear steps (0.018, 0.0185, 0.019), which a log axis this short barely bends.
    ticks = _spaced(_mantissa_ticks(lo, hi, (1, 2, 5)), lo, hi, rows)
    if len(ticks) >= 2:
        return ticks, [f"{10**t:.3g}" for t in ticks]
    if decades:
        return decades, [f"1e{int(k)}" for k in decades]
    values, labels = linear_ticks(10**lo, 10**hi, rows)
    logs = [min(max(math.log10(v), lo), hi) for v in values]
    kept = set(_spaced(logs, lo, hi, rows))
    chosen = [i for i, t in enumerate(logs) if t in kept]
    return [logs[i] for i in chosen], [labels[i] for i in chosen]


def linear_ticks(lo: float, hi: float, rows: float = 20) -> tuple[list[float], list[str]]:
    """Round numbers (multiples of a 1-2-5 step) inside [lo, hi], the data's range, labelled
    with the step's decimals ('0.05', '0.10'). Two rows apart on the axis' `rows`, or one
    (distinct rows: plotext draws one label per row) where two rows would leave a single tick.
    A flat range gets one tick, at its value; a range narrower than one step at that spacing
    gets the finer step it needs for one tick."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return [], []
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi)) or hi == lo:
        return [lo], [f"{lo:.3g}"]
    for gap in sorted({_gap(rows), 1}, reverse=True):
        step = _nice_step(gap * (hi - lo) / max(1, rows))
        first, last = _multiples(lo, hi, step)
        if last > first:
            break
    while last < first:
        step = _nice_step(step * 0.99, down=True)
        first, last = _multiples(lo, hi, step)
    ticks = [k * step for k in range(first, last + 1)]
    ticks = [min(max(t, lo), hi) for t in ticks]  # k·step may miss lo or hi by a rounding
    return ticks, [_step_label(t, step) for t in ticks]


def _multiples(lo: float, hi: float, step: float) -> tuple[int, int]:
    """The first and last k with k·step in [lo, hi], up to the rounding of k·step."""
    return math.ceil(lo / step - 1e-14), math.floor(hi / step + 1e-14)


def _nice_step(at_least: float, down: bool = False) -> float:
    """The smallest 1-2-5 step ≥ `at_least` (or, `down`, the largest ≤ it)."""
    exponent = math.floor(math.log10(at_least))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    if down:
        return max(c for c in candidates if c <= at_least * (1 + 1e-12))
    return min(c for c in candidates if c >= at_least * (1 - 1e-12))


def _step_label(value: float, step: float) -> str:
    """`value`, a multiple of `step`, with just the digits the step needs."""
    exponent = math.floor(math.log10(step) + 1e-9)
    if step >= 1e-4 and abs(value) < 1e6:
        return f"{value:.{max(0, -exponent)}f}"
    if value == 0:
        return "0"
    digits = max(0, math.floor(math.log10(abs(value))) - exponent)
    mantissa, _, power = f"{value:.{digits}e}".partition("e")
    return f"{mantissa}e{int(power)}"


def _gap(rows: float) -> int:
    """How many rows apart two ticks must be: two (a row between their labels), or on an axis
    of four rows or fewer, one (distinct rows: plotext draws one label per row)."""
    return 2 if rows > 4 else 1


def _spaced(ticks: list[float], lo: float, hi: float, rows: float) -> list[float]:
    kept: list[float] = []
    for t in ticks:
        if not kept or (t - kept[-1]) / (hi - lo) * rows >= _gap(rows):
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
    """Round epoch numbers (1-2-5 steps, whole epochs: a step of one at least) from 0 to
    `last`, labelled compactly."""
    if last <= 1:
        return [1.0], ["1"]
    raw = last / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)  # 2.5 only from 25 up
    step = max(1, next(m * magnitude for m in steps if m * magnitude >= raw))
    ticks = [k * step for k in range(int(last // step) + 1)]
    ticks = [t for t in ticks if t >= 1] or [1.0]
    return ticks, [epoch_label(t) for t in ticks]
