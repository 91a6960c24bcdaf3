"""Smoothing of noisy curves, as TensorBoard does it: a debiased exponential moving average.

    s_t = α·s_{t-1} + (1 − α)·x_t,  s_0 = 0,  shown as s_t / (1 − α^t)

where t counts the finite values so far: a gap (NaN) is skipped, not propagated, and stays a
gap. Dividing by 1 − α^t removes the pull towards 0 that s_0 = 0 gives the first values.

The chart draws from `MinMaxSeries` buckets in constant time however long a run is, so the
smoothed values are kept as a `MinMaxSeries` of their own, brought up to date with only the
epochs that arrived since the last frame (`SmoothedSeries.sync`); they are recomputed from the
start only when the strength changes (`Smoother.set_strength`), which drops them all.
"""

from __future__ import annotations

import math
from weakref import WeakKeyDictionary

import numpy as np

from tui.state.series import MinMaxSeries

# What `m` steps through (stronger), wrapping to off; `M` goes back. 0 is off.
STRENGTHS: tuple[float, ...] = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)


def step_strength(strength: float, stronger: bool) -> float:
    """The next strength up (wrapping from 0.99 to off) or down (from off to 0.99)."""
    if strength not in STRENGTHS:
        return STRENGTHS[0]
    step = 1 if stronger else -1
    return STRENGTHS[(STRENGTHS.index(strength) + step) % len(STRENGTHS)]


class Ema:
    """The debiased EMA's running state, fed a chunk at a time: feeding a history in pieces
    gives exactly what feeding it whole does."""

    def __init__(self, strength: float) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        self.strength = strength
        self._state = 0.0  # s_t, before debiasing
        self._count = 0  # t: the finite values folded in so far

    def feed(self, values: np.ndarray) -> np.ndarray:
        """The smoothed values of the next chunk of the history (NaN where it has a gap)."""
        values = np.asarray(values, dtype=np.float64)
        out = np.full(len(values), np.nan)
        finite = np.isfinite(values)
        x = values[finite]
        if len(x) == 0:
            return out
        alpha = self.strength
        terms = (1.0 - alpha) * x
        terms[0] += alpha * self._state
        smoothed = linear_scan(terms, alpha)
        self._state = float(smoothed[-1])
        # The debiasing divisor 1 − α^t rounds to 1.0 once α^t ≤ 2^-54: divide only the
        # values before that (α^t for a million t would crawl through subnormals).
        if alpha > 0.0:
            unbiased = math.ceil(54 * math.log(2) / -math.log(alpha)) + 1
            head = max(0, min(len(x), unbiased - self._count))
            steps = self._count + np.arange(1, head + 1, dtype=np.float64)
            smoothed[:head] /= 1.0 - np.power(alpha, steps)
        out[finite] = smoothed
        self._count += len(x)
        return out


def linear_scan(terms: np.ndarray, alpha: float) -> np.ndarray:
    """y_k = α·y_{k-1} + terms_k with y_0 = 0, for every k at once: log2(n) whole-array
    passes (each adds the sums `shift` places back, weighted α^shift) instead of a Python loop,
    which would take a second over a million epochs. Every weight is at most 1, so rounding
    stays that of a sum of positive terms."""
    y = terms.copy()
    shift, weight = 1, alpha
    while shift < len(y) and weight > 0.0:
        # numpy reads overlapping operands as they were before the update.
        y[shift:] += weight * y[:-shift]
        shift, weight = shift * 2, weight * weight
    return y


def debiased_ema(values: np.ndarray, strength: float) -> np.ndarray:
    """The whole history smoothed at once (NaN where it has a gap)."""
    return Ema(strength).feed(values)


class SmoothedSeries:
    """The smoothed copy of one `MinMaxSeries`, kept up to date with it."""

    def __init__(self, strength: float) -> None:
        self._ema = Ema(strength)
        self.series = MinMaxSeries()

    def sync(self, source: MinMaxSeries) -> MinMaxSeries:
        """Fold in the epochs `source` gained since the last call; the smoothed series."""
        done = len(self.series)
        if len(source) > done:
            self.series.extend(self._ema.feed(source.values(done)))
        return self.series


class Smoother:
    """What the chart draws in place of each raw series at the current strength: the smoothed
    copies, made on first use and forgotten with their source (an earlier run cleared) or when
    the strength changes."""

    def __init__(self, strength: float = 0.0) -> None:
        self.strength = strength
        self._smoothed: WeakKeyDictionary[MinMaxSeries, SmoothedSeries] = WeakKeyDictionary()

    @property
    def on(self) -> bool:
        return self.strength > 0.0

    def set_strength(self, strength: float) -> None:
        if strength != self.strength:
            self.strength = strength
            self._smoothed = WeakKeyDictionary()  # recomputed from the start, when drawn

    def smoothed(self, source: MinMaxSeries) -> MinMaxSeries:
        """`source` smoothed at the current strength (`source` itself when off)."""
        if not self.on:
            return source
        kept = self._smoothed.get(source)
        if kept is None:
            kept = self._smoothed[source] = SmoothedSeries(self.strength)
        return kept.sync(source)


__all__ = ["STRENGTHS", "Ema", "SmoothedSeries", "Smoother", "debiased_ema", "step_strength"]
