"""A loss history that can be drawn in constant time, however long it gets.

Every epoch is kept (`append` is one array append, cheap enough at thousands of epochs a
second). Drawing asks for about two points per column: the min and the max of each bucket of
epochs, so a spike stays visible however far it is zoomed out. To avoid rescanning a million
epochs every frame, a min/max pyramid (blocks of 4, 16, 64, ... epochs) is brought up to date
lazily, only over what arrived since the last draw; a query then reads at most a few thousand
block summaries.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

FANOUT = 4  # each pyramid level summarises blocks of FANOUT entries of the level below
# A log-x axis reads long histories through this many equal buckets (`log_buckets`).
FINE_BUCKETS = 4096


class _Level:
    """Min and max of consecutive blocks of `size` raw entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.mins = array("d")
        self.maxs = array("d")


class MinMaxSeries:
    """Values indexed by epoch (1-based); non-finite values are kept as gaps (NaN)."""

    def __init__(self) -> None:
        self._raw = array("d")
        self._levels: list[_Level] = []

    def __len__(self) -> int:
        return len(self._raw)

    def append(self, value: float | None) -> None:
        # inf/NaN (a diverging run) would poison every min/max: store a gap instead.
        if value is None or not math.isfinite(value):
            value = math.nan
        self._raw.append(value)

    def extend(self, values: np.ndarray) -> None:
        """Bulk append (benchmarks, tests)."""
        clean = np.where(np.isfinite(values), values, np.nan).astype(np.float64)
        self._raw.frombytes(clean.tobytes())

    def last(self) -> float | None:
        return self._raw[-1] if self._raw else None

    def values(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """A copy of the values from index `start` (epoch start + 1) up to `end`, gaps as NaN.
        A copy, not a view: a live view would stop `append` from growing the array."""
        if not self._raw:
            return np.empty(0)
        return np.frombuffer(self._raw, dtype=np.float64)[start:end].copy()

    def _update(self) -> None:
        """Fold what arrived since the last query into the pyramid, level by level."""
        n = len(self._raw)
        below_min = below_max = np.frombuffer(self._raw, dtype=np.float64) if n else None
        size = 1
        depth = 0
        while n // (size * FANOUT) >= 1:
            size *= FANOUT
            if depth == len(self._levels):
                self._levels.append(_Level(size))
            level = self._levels[depth]
            done = len(level.mins)
            full = n // size
            if full > done and below_min is not None and below_max is not None:
                # The new complete blocks, built from the level below (or the raw values).
                lo, hi = done * FANOUT, full * FANOUT
                with np.errstate(all="ignore"):
                    new_min = np.fmin.reduce(below_min[lo:hi].reshape(-1, FANOUT), axis=1)
                    new_max = np.fmax.reduce(below_max[lo:hi].reshape(-1, FANOUT), axis=1)
                level.mins.frombytes(new_min.tobytes())
                level.maxs.frombytes(new_max.tobytes())
            below_min = np.frombuffer(level.mins, dtype=np.float64)
            below_max = np.frombuffer(level.maxs, dtype=np.float64)
            depth += 1

    def buckets(
        self, count: int, end: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(epoch, min, max) for up to `count` equal buckets over epochs 1 to `end` (the whole
        history by default; a longer run drawn on a shorter axis is cut there).

        The epoch is each bucket's centre. A bucket of only gaps has NaN min and max.
        """
        n = len(self._raw) if end is None else max(0, min(end, len(self._raw)))
        count = max(1, count)
        if n == 0:
            empty = np.empty(0)
            return empty, empty, empty
        raw = np.frombuffer(self._raw, dtype=np.float64)[:n]
        if n <= count:
            epochs = np.arange(1, n + 1, dtype=np.float64)
            return epochs, raw.copy(), raw.copy()
        self._update()
        per_bucket = n / count
        # The coarsest level whose blocks still fit in a bucket: at most ~FANOUT·count blocks,
        # only those that end by epoch n.
        mins, maxs, size = raw, raw, 1
        for level in self._levels:
            if level.size > per_bucket:
                break
            mins = np.frombuffer(level.mins, dtype=np.float64)[: n // level.size]
            maxs = np.frombuffer(level.maxs, dtype=np.float64)[: n // level.size]
            size = level.size
        blocks = len(mins)
        tail = raw[blocks * size :]  # the incomplete last block, as raw values
        # Each block goes to the bucket holding its first epoch; the tail's values to theirs.
        edges = (np.arange(count + 1) * per_bucket).astype(np.int64)
        block_bucket = np.minimum((np.arange(blocks) * size * count) // n, count - 1)
        out_min = np.full(count, np.nan)
        out_max = np.full(count, np.nan)
        with np.errstate(all="ignore"):
            np.fmin.at(out_min, block_bucket, mins)
            np.fmax.at(out_max, block_bucket, maxs)
            if len(tail):
                tail_index = np.arange(blocks * size, n)
                tail_bucket = np.minimum((tail_index * count) // n, count - 1)
                np.fmin.at(out_min, tail_bucket, tail)
                np.fmax.at(out_max, tail_bucket, tail)
        centres = (edges[:-1] + edges[1:]) / 2 + 0.5
        return centres, out_min, out_max

    def log_buckets(
        self, count: int, end: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As `buckets`, but the buckets are equal on a log epoch axis: epoch 1, 2, 3… each a
        bucket of its own at first, the last ones thousands of epochs wide.

        The short buckets (up to a few thousand epochs in) are read from the raw values; the
        longer ones from `buckets`' fine summary (FINE_BUCKETS equal buckets over the whole
        history), each log bucket taking the fine buckets that start in it, so the cost stays
        bounded however long the history.
        """
        n = len(self._raw) if end is None else max(0, min(end, len(self._raw)))
        if n == 0:
            empty = np.empty(0)
            return empty, empty, empty
        # Bucket starts, as epochs (1-based), then n + 1 closing the last.
        starts = np.unique(np.geomspace(1, n + 1, max(1, count) + 1).astype(np.int64))
        starts[-1] = n + 1
        raw = np.frombuffer(self._raw, dtype=np.float64)[:n]
        width = n / FINE_BUCKETS  # a fine bucket's epochs
        # The first bucket long enough to be read from fine buckets (all of them after it are).
        lengths = np.diff(starts)
        coarse = np.flatnonzero(lengths >= 2 * width) if n > FINE_BUCKETS else np.empty(0, int)
        split = int(coarse[0]) if len(coarse) else len(lengths)
        out_min = np.full(len(lengths), np.nan)
        out_max = np.full(len(lengths), np.nan)
        with np.errstate(all="ignore"):
            if split:
                edges = starts[: split + 1] - 1
                head = raw[: edges[-1]]
                out_min[:split] = np.fmin.reduceat(head, edges[:-1])
                out_max[:split] = np.fmax.reduceat(head, edges[:-1])
            if split < len(lengths):
                _, fine_min, fine_max = self.buckets(FINE_BUCKETS, n)
                # Fine bucket k holds the epochs e with (e − 1)·FINE_BUCKETS // n == k.
                fine_start = np.ceil(np.arange(FINE_BUCKETS) * width).astype(np.int64) + 1
                which = np.searchsorted(starts, fine_start, side="right") - 1
                keep = which >= split
                np.fmin.at(out_min, which[keep], fine_min[keep])
                np.fmax.at(out_max, which[keep], fine_max[keep])
        # Each bucket's centre on the log axis: the geometric mean of its first and last epoch.
        centres = np.sqrt(starts[:-1] * (starts[1:] - 1).astype(np.float64))
        return centres, out_min, out_max
