"""The live loss chart: two panels on one epoch axis, the test loss above and the train loss
below, each on a y scale of its own, with earlier runs dimmed behind the current one.

Why two panels: a run that overfits takes its train loss down 14 decades while its test loss
stays within one. On one shared log axis the test losses of two runs (0.31 and 0.018 on
`highdim`) then fall on the same row of a small terminal; on a scale of their own they are a
panel apart. The test panel also carries the baseline: the test loss of predicting the
training targets' mean, which any model worth having must beat.

The x axis spans the current run's epochs so far; an earlier run that trained longer is cut
there (its legend entry says so and gives its final numbers), so a new short run is never
squashed into a corner by an old long one, and the runs compare at the same epochs.

Drawing cost is bounded: each series is reduced to about two points per column (the min and
max of each bucket of epochs, from `MinMaxSeries`), so a run with a million epochs draws as
fast as one with a thousand. Log-y is drawn as log10(loss) on a linear axis (see `ticks`),
and log-x as log10(epoch), from log-spaced buckets (`MinMaxSeries.log_buckets`).

The same frame shows, instead of the losses (`view`), a classifier's train and test accuracy
on one 0–100% panel (one scale: accuracy is bounded, and grokking is train at 100% beside test
near 0), or Σ‖w‖² over the penalized parameters (which falls during grokking's plateau). One
chart toggled rather than a third panel: at 80×24 each of two panels has four rows of data
already, and a third would leave none of them readable.

Smoothing (`smoothing`, tui/state/smoothing.py) draws every curve as its debiased EMA, with the
raw curve faint behind it in a darker shade of the same hue, as TensorBoard does; the panels'
titles name the strength. The y scale spans the raw values too: both are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual_plotext.plot import Plot as Figure

from tui.state.live_run import MAX_OVERLAYS
from tui.state.run_state import RunState
from tui.state.series import MinMaxSeries
from tui.state.smoothing import Smoother
from tui.theme import (
    BASELINE_COLOR,
    LOG_FLOOR,
    MARK_COLOR,
    NORM_COLOR,
    OVERLAY_COLORS,
    RGB,
    TEST_COLOR,
    TRAIN_COLOR,
    dim,
    swatch,
)
from tui.widgets.plot import Plot, lay_out, matrix_text
from tui.widgets.ticks import epoch_label, epoch_ticks, linear_ticks, log_ticks

ChartView = Literal["loss", "accuracy", "norm"]
# The chart's views in the order its key steps through them, and the chart box's title for each.
VIEW_TITLES: dict[str, str] = {
    "loss": "loss per epoch",
    "accuracy": "accuracy per epoch",
    "norm": "‖w‖² per epoch",
}
# v steps the chart through its views, labelled with the one it switches to (as y); the
# screen's check_action keeps the binding whose view is `next_view`'s. The explorer and the
# run view both show this chart, with these keys.
VIEW_BINDINGS: tuple[Binding, ...] = (
    Binding(
        "v",
        "chart_view('accuracy')",
        "Accuracy",
        tooltip="Chart the train and test accuracy (0–100%) instead of the loss (classification)",
    ),
    Binding(
        "v",
        "chart_view('norm')",
        "‖w‖²",
        tooltip="Chart Σ‖w‖² over the penalized weights per epoch (what λ multiplies)",
    ),
    Binding("v", "chart_view('loss')", "Loss", tooltip="Chart the test and train loss again"),
)


def next_view(current: ChartView, classifier: bool) -> ChartView:
    """What v switches to: loss → accuracy (a classifier) → ‖w‖² → loss."""
    if current == "loss":
        return "accuracy" if classifier else "norm"
    return "norm" if current == "accuracy" else "loss"


MAX_MARKS = 30
TEST_SHARE = 0.55  # of the rows with data, the test panel's
XLABEL_MIN_HEIGHT = 20  # below this the x axis goes without its "epoch" label
PAD = 0.06  # room above and below the data, as a share of its range
# With smoothing on, the raw curves behind: the current run's at this share of its colour's
# brightness, an earlier run's (already muted) at the second.
RAW_SHADE, EARLIER_RAW_SHADE = 0.45, 0.6


def x_extent(current: RunState | None, earlier: Sequence[RunState]) -> int:
    """The last epoch the x axis shows: the current run's latest (at least 2), or without one
    the longest earlier run's. Earlier runs that trained longer are cut there."""
    if current is not None:
        return max(2, current.epochs_seen)
    return max([2, *(run.epochs_seen for run in earlier)])


@dataclass
class Curve:
    """One series as drawn: the (epoch, min, max) of each bucket, in axis units."""

    xs: list[float]
    lows: list[float]
    highs: list[float]
    color: RGB
    current: bool


def envelope(
    series: MinMaxSeries,
    columns: int,
    end: int,
    log_y: bool,
    log_x: bool = False,
    scale: float = 1.0,
) -> tuple[list[float], list[float], list[float]] | None:
    """(epoch, min, max) per bucket over epochs 1..`end`, gaps (NaN) dropped; None if nothing
    to draw. A series shorter than `end` gets buckets in proportion, so every curve is drawn
    at the same density. With `log_x` the epochs are log10(epoch); values are times `scale`
    (accuracy in %)."""
    n = min(len(series), end)
    if n == 0:
        return None
    if log_x:
        share = math.log(n + 1) / math.log(end + 1)
        epochs, mins, maxs = series.log_buckets(max(1, round(columns * share)), n)
        epochs = np.log10(epochs)
    else:
        epochs, mins, maxs = series.buckets(max(1, round(columns * n / end)), n)
    keep = ~np.isnan(mins)
    if not keep.any():
        return None
    epochs, mins, maxs = epochs[keep], mins[keep] * scale, maxs[keep] * scale
    if log_y:
        mins = np.log10(np.maximum(mins, LOG_FLOOR))
        maxs = np.log10(np.maximum(maxs, LOG_FLOOR))
    return epochs.tolist(), mins.tolist(), maxs.tolist()


def log_epoch_ticks(last: float) -> tuple[list[float], list[str]]:
    """Decades of epochs up to `last` (1, 10, 100, 1k…) at their log10 positions."""
    decades = range(int(math.log10(max(1.0, last))) + 1)
    return [float(k) for k in decades], [epoch_label(10**k) for k in decades]


@dataclass
class PanelPlan:
    """What one panel draws, decided before any figure is touched (the panels share a tick
    label width, so both must be known first)."""

    name: str  # "test" | "train" | "accuracy" | "norm"
    curves: list[Curve]
    baseline: float | None  # in axis units
    y_range: tuple[float, float] | None  # the data's, in axis units
    ticks: tuple[list[float], list[str]] = ([], [])
    rows: int = 0  # rows with data


class LossChart(Plot):
    """Plots the current run bright and the earlier ones (newest first, a few) dimmed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current: RunState | None = None
        self.earlier: Sequence[RunState] = ()
        self._lower = Figure()  # the train panel's figure; `plt` draws the top one
        self.view: ChartView = "loss"
        self.log_x = False
        self.smoother = Smoother()  # the EMA's strength; 0 is off (m / M)

    @property
    def smoothing(self) -> float:
        return self.smoother.strength

    def set_smoothing(self, strength: float) -> None:
        """Draw every curve smoothed at `strength` (0: off), the raw one faint behind."""
        self.smoother.set_strength(strength)
        self.refresh()

    def show(
        self,
        current: RunState | None,
        earlier: Sequence[RunState],
        log_y: bool,
        view: ChartView = "loss",
        log_x: bool = False,
    ) -> None:
        self.current, self.earlier, self.log_y = current, earlier, log_y
        self.view, self.log_x = view, log_x
        self.refresh()

    @property
    def _panel_log_y(self) -> bool:
        """Accuracy is a share of 0–100%: always linear; the losses and ‖w‖² follow `y`."""
        return self.log_y and self.view != "accuracy"

    # ----- what to draw -------------------------------------------------------------------

    def _layers(self) -> list[tuple[RunState, RGB | None]]:
        """Earlier runs (dimmed colour), then the current one (None: its own colours)."""
        layers: list[tuple[RunState, RGB | None]] = [
            (run, OVERLAY_COLORS[i % len(OVERLAY_COLORS)])
            for i, run in enumerate(list(self.earlier)[-MAX_OVERLAYS:])
        ]
        if self.current is not None:
            layers.append((self.current, None))
        return layers

    def drawn_runs(self) -> list[RunState]:
        """The runs the chart draws: the earlier ones shown, oldest first, then the current."""
        return [run for run, _ in self._layers()]

    def _series(self, run: RunState, name: str) -> list[tuple[MinMaxSeries, RGB]]:
        """What a panel draws of one run, each series with the colour the current run's has."""
        if name == "accuracy":
            return [(run.test_accuracy, TEST_COLOR), (run.train_accuracy, TRAIN_COLOR)]
        if name == "norm":
            return [(run.weight_sq_norm, NORM_COLOR)]
        return [(run.test, TEST_COLOR) if name == "test" else (run.train, TRAIN_COLOR)]

    def _plan(self, name: str, columns: int, end: int) -> PanelPlan:
        raw: list[Curve] = []  # smoothing on: the raw curves, faint, drawn first
        curves: list[Curve] = []
        log_y = self._panel_log_y
        scale = 100.0 if name == "accuracy" else 1.0
        smoother = self.smoother
        for run, color in self._layers():
            for series, own in self._series(run, name):
                is_current = color is None
                if smoother.on:
                    env = envelope(series, columns, end, log_y, self.log_x, scale)
                    if env is not None:
                        shade = RAW_SHADE if is_current else EARLIER_RAW_SHADE
                        faint = dim(color or own, shade)
                        raw.append(Curve(*env, color=faint, current=is_current))
                    series = smoother.smoothed(series)
                env = envelope(series, columns, end, log_y, self.log_x, scale)
                if env is not None and smoother.on:
                    # One line through each bucket's middle: the raw band behind shows the
                    # spread, and a third line instead of a fourth keeps the frame cheap.
                    xs, lows, highs = env
                    middle = [(lo + hi) / 2 for lo, hi in zip(lows, highs, strict=True)]
                    env = (xs, middle, middle)
                if env is not None:
                    curves.append(Curve(*env, color=color or own, current=is_current))
        curves = raw + curves
        baseline = None
        current = self.current
        if name == "test" and current is not None and current.baseline_test_loss is not None:
            value = current.baseline_test_loss
            if math.isfinite(value):
                baseline = math.log10(max(value, LOG_FLOOR)) if log_y else value
        values = [v for c in curves for v in (min(c.lows), max(c.highs))]
        if baseline is not None:
            values.append(baseline)
        y_range = (min(values), max(values)) if values else None
        if name == "accuracy":
            y_range = (0.0, 100.0)  # the whole scale, always: 100% is the point
        return PanelPlan(name, curves, baseline, y_range)

    def plan(self, width: int, height: int) -> list[PanelPlan]:
        """The panels for a frame of this size: test above train (train alone when the
        current run has no test split, or the frame is too short for two)."""
        columns = max(10, width - 12)  # minus the y tick labels
        end = x_extent(self.current, self.earlier)
        current = self.current
        names = ["train"]
        if self.view != "loss":
            names = [self.view]
        elif current is None or current.has_test:
            names = ["test", "train"]
        overhead = 3 + (height >= XLABEL_MIN_HEIGHT)  # frame top and bottom, x ticks, label
        if len(names) == 2:
            overhead += 1  # the train panel's top frame, under the test panel's data
            if height - overhead < 4:
                names = ["test"]  # too short for two: the comparison people come for
                overhead -= 1
        plans = [self._plan(name, columns, end) for name in names]
        rows = max(1, height - overhead)
        if len(plans) == 2:
            plans[0].rows = max(2, round(rows * TEST_SHARE))
            plans[1].rows = max(1, rows - plans[0].rows)
        else:
            plans[0].rows = rows
        for p in plans:
            if p.y_range is not None:
                lo, hi = p.y_range
                # plotext puts the axis' ends on the first and last rows, and the data take
                # all but the padding: the rows one unit of the data's range spans.
                span = max(1.0, (p.rows - 1) / (1 + 2 * PAD))
                log_y = self._panel_log_y
                p.ticks = log_ticks(lo, hi, span) if log_y else linear_ticks(lo, hi, span)
        return plans

    # ----- drawing ------------------------------------------------------------------------

    def panels(self, width: int, height: int) -> list[tuple[Figure, int, PanelPlan]]:
        """Lay out each panel's figure: (figure, its height in rows, its plan)."""
        plans = self.plan(width, height)
        label_width = max([1, *(len(label) for p in plans for label in p.ticks[1])])
        end = x_extent(self.current, self.earlier)
        laid_out = []
        xlabel = height >= XLABEL_MIN_HEIGHT
        for i, p in enumerate(plans):
            last = i == len(plans) - 1
            # Its frame and data rows; the last panel also has the x ticks and (tall enough)
            # the x label. A panel above another loses its bottom frame line when drawn.
            rows = p.rows + 2 + (1 + xlabel if last else 0)
            figure = self.plt if i == 0 else self._lower

            def build(plt: Figure, w: int, h: int, p: PanelPlan = p, last: bool = last) -> None:
                self._draw_panel(plt, p, end, label_width, w, last, xlabel and last)

            lay_out(figure, width, rows, build)
            laid_out.append((figure, rows, p))
        return laid_out

    def _draw_panel(
        self,
        plt: Figure,
        p: PanelPlan,
        end: int,
        label_width: int,
        width: int,
        last: bool,
        xlabel: bool = False,
    ) -> None:
        first, last_x = (0.0, math.log10(end)) if self.log_x else (1.0, float(end))
        if p.baseline is not None:
            # Dotted, one dot every other column, under the curves (drawn first).
            xs = np.linspace(first, last_x, max(2, (width - label_width - 3) // 2)).tolist()
            plt.scatter(xs, [p.baseline] * len(xs), color=BASELINE_COLOR, marker="braille")
        for c in p.curves:
            # Two lines, through the bucket minima and maxima, rather than one zig-zag
            # between them: a noisy history would make the zig-zag fill the whole height
            # with long segments (plotext draws them pixel by pixel), while the two
            # envelopes cost like any smooth line and still show every spike. Earlier runs
            # are whole-cell points: cheaper still (no braille to merge), and plain to tell
            # from the current run's lines.
            draw, marker = (plt.plot, "braille") if c.current else (plt.scatter, "dot")
            draw(c.xs, c.highs, color=c.color, marker=marker)
            if c.highs != c.lows:
                draw(c.xs, c.lows, color=c.color, marker=marker)
        if self.current is not None:
            for mark in self.current.marks[-MAX_MARKS:]:
                if mark.epoch <= end:
                    plt.vline(math.log10(mark.epoch) if self.log_x else mark.epoch, MARK_COLOR)
        plt.xlim(first, last_x)
        log_y = self._panel_log_y
        if p.y_range is not None:
            lo, hi = p.y_range
            # A little room around the data, so no curve runs along the frame; a loss is
            # never negative, so neither is the linear axis.
            span = hi - lo if hi > lo else (0.5 if log_y else abs(hi) * 0.1 + 1e-12)
            lo, hi = lo - span * PAD, hi + span * PAD
            if not log_y:
                lo = max(lo, 0.0)
            plt.ylim(lo, hi)
        ticks, labels = p.ticks
        # Labels padded to one width, so both panels' axes start in the same column.
        plt.yticks(ticks or [0.0], [label.rjust(label_width) for label in labels or [""]])
        if last:
            if self.log_x:
                plt.xticks(*log_epoch_ticks(end))
            else:
                plt.xticks(*epoch_ticks(end, 5 if width >= 60 else 3))
            if xlabel:
                plt.xlabel("epoch (log)" if self.log_x else "epoch")
        else:
            plt.xticks([])

    def draw(self, width: int, height: int, theme: str | None) -> Text:
        text: Text | None = None
        laid_out = self.panels(width, height)
        room = width - label_width(laid_out) - 5
        titles = [self._title(p, room) for _, _, p in laid_out]
        if any(sum(len(part) for part in title) > room for title in titles):
            # Every panel names the smoothing or none does (the legend always does): a test
            # panel without it, over a train panel with it, would read as unsmoothed.
            titles = [self._title(p, room, tag=False) for _, _, p in laid_out]
        for i, (figure, rows, _) in enumerate(laid_out):
            if theme is not None:
                figure.theme(theme)
            # A panel above another ends without its bottom frame line: the next panel's top
            # line closes it. (Hiding the lower axis would do, but plotext 5 then drops the
            # upper one too.)
            keep = rows if i == len(laid_out) - 1 else rows - 1
            title = titles[i]
            text = matrix_text(figure, width, rows, into=text, rows=keep, title=title, joined=i > 0)
        return text if text is not None else Text()

    def _title(self, p: PanelPlan, room: int = 200, tag: bool = True) -> list[Text]:
        """The panel's name and scale, in its colour, and (`tag`) the smoothing's strength
        when on; the test panel's also names its dotted line ('┄ predict-the-mean 0.0193'),
        as far as the frame has `room` (about)."""
        current = self.current
        smoothed = f"smoothed {self.smoothing:g}" if tag and self.smoother.on else ""
        if p.name == "accuracy":
            return [
                Text(f" accuracy % {smoothed + ' ' if smoothed else ''}", style="bold"),
                Text("━ test ", style=f"bold {swatch(TEST_COLOR)}"),
                Text("━ train ", style=f"bold {swatch(TRAIN_COLOR)}"),
            ]
        scale = "log" if self._panel_log_y else "linear"
        if smoothed:
            scale += f", {smoothed}"
        if p.name == "norm":
            return [Text(f" Σ‖w‖² penalized ({scale}) ", style=f"bold {swatch(NORM_COLOR)}")]
        color = TEST_COLOR if p.name == "test" else TRAIN_COLOR
        title = [Text(f" {p.name} ({scale}) ", style=f"bold {swatch(color)}")]
        if p.baseline is not None and current is not None:
            value = short_number(current.baseline_test_loss)
            label = f"┄ {baseline_name(current)} {value} "
            if len(title[0]) + len(label) > room and current.is_classifier:
                label = f"┄ {SHORT_PRIOR_NAME} {value} "
            title.append(Text(label, style=swatch(BASELINE_COLOR)))
        return title

    def build(self, plt: Figure, width: int, height: int) -> None:
        """One figure (plotext's public path, if its internals ever move): the top panel."""
        plans = self.plan(width, height)
        p = plans[0]
        label_width = max([1, *(len(label) for label in p.ticks[1])])
        self._draw_panel(plt, p, x_extent(self.current, self.earlier), label_width, width, True)


def label_width(laid_out: Sequence[tuple[Figure, int, PanelPlan]]) -> int:
    """The y tick labels' width, shared by the panels."""
    return max([1, *(len(label) for _, _, p in laid_out for label in p.ticks[1])])


SHORT_PRIOR_NAME = "predict-class-freqs"  # where the frame has no room for the whole name


def baseline_name(run: RunState) -> str:
    """What the test panel's dotted line is: the test loss of a model that ignores its input,
    predicting the training targets' mean (regression) or the training class frequencies
    (classification: the cross-entropy of that prior)."""
    return "predict-the-class-frequencies" if run.is_classifier else "predict-the-mean"


def short_number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"
