"""The live loss chart: train and test loss per epoch, earlier runs dimmed behind.

Drawing cost is bounded: each series is reduced to about two points per column (the min and
max of each bucket of epochs, from `MinMaxSeries`), so a run with a million epochs draws as
fast as one with a thousand. Log-y is drawn as log10(loss) on a linear axis (see `ticks`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual_plotext.plot import Plot as Figure

from tui.state.live_run import MAX_OVERLAYS
from tui.state.run_state import RunState
from tui.state.series import MinMaxSeries
from tui.theme import (
    LOG_FLOOR,
    MARK_COLOR,
    OVERLAY_COLORS,
    RGB,
    TEST_COLOR,
    TRAIN_COLOR,
    swatch,
)
from tui.widgets.plot import Plot
from tui.widgets.ticks import epoch_ticks, log_ticks

MAX_MARKS = 30


def _envelope(
    series: MinMaxSeries, columns: int, log_y: bool
) -> tuple[list[float], list[float], list[float]] | None:
    """(epoch, min, max) per bucket, gaps (NaN) dropped; None if nothing to draw."""
    epochs, mins, maxs = series.buckets(columns)
    keep = ~np.isnan(mins)
    if not keep.any():
        return None
    epochs, mins, maxs = epochs[keep], mins[keep], maxs[keep]
    if log_y:
        mins = np.log10(np.maximum(mins, LOG_FLOOR))
        maxs = np.log10(np.maximum(maxs, LOG_FLOOR))
    return epochs.tolist(), mins.tolist(), maxs.tolist()


class LossChart(Plot):
    """Plots the current run bright and the earlier ones (newest first, a few) dimmed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current: RunState | None = None
        self.earlier: Sequence[RunState] = ()

    def show(self, current: RunState | None, earlier: Sequence[RunState], log_y: bool) -> None:
        self.current, self.earlier, self.log_y = current, earlier, log_y
        self.refresh()

    def build(self, plt: Figure, width: int, height: int) -> None:
        columns = max(10, width - 12)  # minus the y tick labels
        y_lo, y_hi = math.inf, -math.inf
        x_hi = 1.0
        overlays = list(self.earlier)[-MAX_OVERLAYS:]
        layers: list[tuple[RunState, bool, RGB, RGB]] = []
        for i, run in enumerate(overlays):
            color = OVERLAY_COLORS[i % len(OVERLAY_COLORS)]
            layers.append((run, False, color, color))
        if self.current is not None:
            layers.append((self.current, True, TRAIN_COLOR, TEST_COLOR))
        for run, is_current, train_color, test_color in layers:
            for name, series, color in (
                ("train", run.train, train_color),
                ("test", run.test, test_color),
            ):
                env = _envelope(series, columns, self.log_y)
                if env is None:
                    continue
                xs, lows, highs = env
                x_hi = max(x_hi, float(len(series)))
                y_lo, y_hi = min(y_lo, min(lows)), max(y_hi, max(highs))
                # Two lines, through the bucket minima and maxima, rather than one zig-zag
                # between them: a noisy history would make the zig-zag fill the whole height
                # with long segments (plotext draws them pixel by pixel), while the two
                # envelopes cost like any smooth line and still show every spike.
                # Earlier runs are drawn as points: cheaper still, and they only need to be
                # comparable, not crisp.
                draw = plt.plot if is_current else plt.scatter
                marker = "braille" if is_current or name == "test" else "dot"
                draw(xs, highs, color=color, marker=marker)
                if highs != lows:
                    draw(xs, lows, color=color, marker=marker)
        if self.current is not None:
            for mark in self.current.marks[-MAX_MARKS:]:
                plt.vline(mark.epoch, MARK_COLOR)
        plt.xticks(*epoch_ticks(x_hi, 5 if width >= 60 else 3))
        if math.isfinite(y_lo):
            # A little room around the data, so no curve runs along the frame.
            span = max(y_hi - y_lo, 1e-9 if self.log_y else abs(y_hi) * 1e-6 + 1e-12)
            y_lo, y_hi = y_lo - span * 0.04, y_hi + span * 0.04
            plt.ylim(y_lo, y_hi)
            plt.xlim(1, max(2.0, x_hi))
        if self.log_y:
            ticks, labels = log_ticks(y_lo, y_hi, max(3, height - 4))
            if ticks:
                plt.yticks(ticks, labels)
        # The legend is a line of its own under the plot (`legend_text`): plotext draws its
        # legend over the data, and a short terminal has no rows to spare for it.
        plt.xlabel("epoch")


def legend_text(current: RunState | None, earlier: Sequence[RunState], log_y: bool) -> Text:
    """'━ train ━ test │ earlier: ⣀ λ=0 sgd ...' in the plot's colours."""
    text = Text()
    text.append("━ train ", style=f"bold {swatch(TRAIN_COLOR)}")
    text.append("━ test", style=f"bold {swatch(TEST_COLOR)}")
    if current is not None:
        text.append(f" ({current.label})", style="dim")
    overlays = list(earlier)[-MAX_OVERLAYS:]
    if overlays:
        text.append("  earlier (⣿ test, • train):", style="dim")
        for i, run in enumerate(overlays):
            text.append(f" ⣿ {run.label}", style=swatch(OVERLAY_COLORS[i % len(OVERLAY_COLORS)]))
    if current is not None and current.marks:
        text.append("  │ = λ/lr changed", style=swatch(MARK_COLOR))
    text.append("   log y" if log_y else "   linear y", style="dim italic")
    return text
