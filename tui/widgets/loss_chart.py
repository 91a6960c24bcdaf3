"""The live loss chart: train and test loss per epoch, earlier runs dimmed behind.

Drawing cost is bounded: each series is reduced to about two points per column (the min and
max of each bucket of epochs, from `MinMaxSeries`), so a run with a million epochs draws as
fast as one with a thousand. Log-y is drawn as log10(loss) on a linear axis with hand-made tick
labels, because plotext 5's own `yscale("log")` raises on the second build.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from plotext import _utility as plotext_utility
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from tui.run_state import RunState
from tui.series import MinMaxSeries

TRAIN_COLOR = (80, 180, 255)
TEST_COLOR = (255, 150, 40)
MARK_COLOR = (150, 150, 150)
# Earlier runs: muted, distinct hues, so two or three overlays can still be told apart.
DIM_COLORS = ((120, 120, 170), (150, 120, 100), (110, 150, 110), (150, 110, 150))
MAX_OVERLAYS = 4
MAX_MARKS = 30
LOG_FLOOR = 1e-30  # a loss of exactly 0 would be -inf on a log axis


def log_ticks(lo: float, hi: float, rows: int = 20) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels like '1e-2' for the range [lo, hi].

    Ticks are kept at least two rows apart: plotext draws only one label per row, and which
    one wins would otherwise depend on set ordering (different from one process to the next).
    """
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
    candidates = sorted(
        math.log10(m) + k for k in decades for m in (1, 2, 5) if lo <= math.log10(m) + k <= hi
    )
    ticks = _spaced(candidates, lo, hi, rows)
    if len(ticks) < 2:
        ticks = list(np.linspace(lo, hi, 3))
    return ticks, [f"{10**t:.3g}" for t in ticks]


def _spaced(ticks: list[float], lo: float, hi: float, rows: int) -> list[float]:
    kept: list[float] = []
    for t in ticks:
        if not kept or (t - kept[-1]) / (hi - lo) * rows >= 2:
            kept.append(t)
    return kept


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


class LossChart(PlotextPlot):
    """Plots the current run bright and the earlier ones (newest first, a few) dimmed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_y = True
        self.current: RunState | None = None
        self.earlier: Sequence[RunState] = ()
        # What the last frame painted, and when (the benchmark's key-to-screen check).
        self.painted_log_y: bool | None = None
        self.painted_at = 0.0
        self.frames = 0
        self.last_cost_s = 0.0  # how long the last frame took to build (the app throttles on it)

    def show(self, current: RunState | None, earlier: Sequence[RunState], log_y: bool) -> None:
        self.current, self.earlier, self.log_y = current, earlier, log_y
        self.refresh()

    def render(self) -> RenderResult:
        # The data is laid out here, where the width is known, so it matches the columns.
        started = time.perf_counter()
        width, height = max(10, self.size.width), max(5, self.size.height)
        self.build_plot(width, height)
        try:
            result: RenderResult = self._render_matrix(width, height)
        except Exception:  # plotext internals moved: the slower, public way
            result = super().render()
        self.painted_log_y, self.painted_at = self.log_y, time.perf_counter()
        self.last_cost_s = self.painted_at - started
        self.frames += 1
        return result

    def _render_matrix(self, width: int, height: int) -> Text:
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        return matrix_text(self.plt, width, height)

    def build_plot(self, width: int, height: int) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(width, height)
        columns = max(10, width - 12)  # minus the y tick labels
        y_lo, y_hi = math.inf, -math.inf
        x_hi = 1.0
        overlays = list(self.earlier)[-MAX_OVERLAYS:]
        layers: list[tuple[RunState, bool, tuple[int, int, int], tuple[int, int, int]]] = [
            (run, False, DIM_COLORS[i % len(DIM_COLORS)], DIM_COLORS[i % len(DIM_COLORS)])
            for i, run in enumerate(overlays)
        ]
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


_STYLES: dict[tuple[object, object, object], Style] = {}


def _rich_style(colors: tuple[object, object, object]) -> Style:
    """plotext's (foreground, style, background) as a Rich Style, via its own ANSI codes
    (cached: a plot uses a handful of colour triples)."""
    style = _STYLES.get(colors)
    if style is None:
        fg, st, bg = colors
        ansi = plotext_utility.colors_to_ansi(fg, st, bg)
        parsed = Text.from_ansi(f"{ansi}x{plotext_utility.ansi_end}")
        style = parsed.get_style_at_offset(Console(), 0) if parsed.spans else Style()
        _STYLES[colors] = style
    return style


def _swatch(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def legend_text(current: RunState | None, earlier: Sequence[RunState], log_y: bool) -> Text:
    """'━ train ━ test │ earlier: ⣀ λ=0 sgd ...' in the plot's colours."""
    text = Text()
    text.append("━ train ", style=f"bold {_swatch(TRAIN_COLOR)}")
    text.append("━ test", style=f"bold {_swatch(TEST_COLOR)}")
    if current is not None:
        text.append(f" ({current.label})", style="dim")
    overlays = list(earlier)[-MAX_OVERLAYS:]
    if overlays:
        text.append("  earlier (⣿ test, • train):", style="dim")
        for i, run in enumerate(overlays):
            text.append(f" ⣿ {run.label}", style=_swatch(DIM_COLORS[i % len(DIM_COLORS)]))
    if current is not None and current.marks:
        text.append("  │ = λ/lr changed", style=_swatch(MARK_COLOR))
    text.append("   log y" if log_y else "   linear y", style="dim italic")
    return text


def matrix_text(plt: Plot, width: int, height: int) -> Text:
    """What PlotextPlot.render does, minus the ANSI round trip: plotext would join its
    character matrix into an ANSI string and Rich would parse it back, a third of a frame's
    cost. Here the matrix becomes a Text directly, one style per run of a colour."""
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    text = Text(no_wrap=True, overflow="crop")
    for row in range(len(matrix.marker) - 1, -1, -1):
        markers = matrix.marker[row]
        colors = list(
            zip(matrix.fullground[row], matrix.style[row], matrix.background[row], strict=True)
        )
        start = 0
        for col in range(1, len(markers) + 1):
            if col == len(markers) or colors[col] != colors[start]:
                text.append("".join(markers[start:col]), _rich_style(colors[start]))
                start = col
        if row:
            text.append("\n")
    return text


def render_text(chart: LossChart, width: int, height: int) -> Text:
    """Lay out and render at a given size without a screen (the benchmark): the same work as
    a frame of the live widget."""
    chart.build_plot(width, height)
    return matrix_text(chart.plt, width, height)
