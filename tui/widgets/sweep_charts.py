"""The sweep view's charts, each against λ on a log axis: the validation curve (the losses,
or for a classifier the accuracies), ‖w‖² (Σ over the penalized parameters, as the explorer's
readout and `wdtui sweep` report it), and the regularization path.

λ is plotted as log10(λ) on a linear axis (see `ticks`), and λ = 0 (no log) one decade left of
the smallest positive λ, labelled "0". Log-y is log10 on a linear axis too. A member that
diverged is left out of every chart (the screen lists it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from rich.text import Text
from textual.app import RenderResult
from textual_plotext.plot import Plot as Figure

from tui.state.sweep_state import SweepState
from tui.theme import (
    BASELINE_COLOR,
    BEST_COLOR,
    LOG_FLOOR,
    NORM_COLOR,
    PATH_COLORS,
    RGB,
    RIDGE_COLOR,
    TEST_COLOR,
    TRAIN_COLOR,
    dim,
    swatch,
)
from tui.widgets.plot import Plot
from tui.widgets.ticks import linear_ticks, pow10_label, pow10_ticks

LABEL_COLUMNS = 6  # room one x tick label needs ("1e-4" plus a gap)
BASELINE_LABEL = "predict mean"  # on the validation curve's baseline, at its left end
CurveView = Literal["loss", "accuracy"]  # what the validation curve plots against λ


def lam_positions(lams: Sequence[float]) -> tuple[list[float], float | None]:
    """x for each λ (log10 λ; λ = 0 one decade left of the smallest positive λ), and the x of
    zero (None if the sweep has no λ = 0)."""
    positive = [lam for lam in lams if lam > 0]
    zero_x = (math.log10(min(positive)) - 1) if positive else 0.0
    xs = [math.log10(lam) if lam > 0 else zero_x for lam in lams]
    return xs, (zero_x if 0 in lams else None)


def padded(lo: float, hi: float, fraction: float = 0.05) -> tuple[float, float]:
    span = hi - lo
    if span <= 1e-12:
        span = max(abs(hi) * 0.1, 0.5)
    return lo - span * fraction, hi + span * fraction


class SweepChart(Plot):
    """A chart against λ; a subclass draws `state` in `build_sweep`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: SweepState | None = None

    def show(self, state: SweepState | None, log_y: bool) -> None:
        self.state, self.log_y = state, log_y
        self.refresh()

    def build(self, plt: Figure, width: int, height: int) -> None:
        if self.state is not None and self.state.lams:
            self.build_sweep(plt, self.state, width, height)

    def build_sweep(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        raise NotImplementedError

    # ----- shared pieces ------------------------------------------------------------------------

    def x_axis(self, state: SweepState, width: int) -> list[float]:
        xs, zero_x = lam_positions(state.lams)
        lo, hi = padded(min(xs), max(xs), 0.04)
        self.plt.xlim(lo, hi)
        positive = [x for x, lam in zip(xs, state.lams, strict=True) if lam > 0]
        slots = max(2, (width - 8) // LABEL_COLUMNS - (zero_x is not None))
        ticks = pow10_ticks(min(positive), max(positive), slots) if positive else []
        labels = [pow10_label(t) for t in ticks]
        if zero_x is not None:
            ticks, labels = [zero_x, *ticks], ["0", *labels]
        self.plt.xticks(ticks, labels)  # no x label: a row saved; every title says "vs λ"
        return xs

    def y_range(
        self,
        values: Sequence[float],
        log: bool,
        height: int,
        never_negative: bool = False,
        ceiling: float | None = None,
    ) -> tuple[float, float] | None:
        """Limits with some room; ticks at decades on a log axis, round 1-2-5 numbers inside
        the data's range on a linear one (`linear_ticks`: ≥ 2 rows apart, as plotext draws one
        label per row, and which would win is not stable from run to run). `never_negative`
        (a loss, ‖w‖²): the linear axis stops at 0, as the data do; `ceiling` (an accuracy's
        100%): it stops there too."""
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return None
        data_lo, data_hi = min(finite), max(finite)
        lo, hi = padded(data_lo, data_hi, 0.08)
        if never_negative and not log and data_lo >= 0:
            lo = max(lo, 0.0)
        if ceiling is not None and not log and data_hi <= ceiling:
            hi = min(hi, ceiling)
        self.plt.ylim(lo, hi)
        rows = max(1, height - 3)  # the canvas: the frame's two lines and the x ticks' row off
        if log:
            ticks = pow10_ticks(lo, hi, max(2, rows // 3))
            self.plt.yticks(ticks, [pow10_label(t) for t in ticks])
        else:
            # plotext puts the limits on the first and last rows: the rows the data span.
            span = max(1.0, (rows - 1) * (data_hi - data_lo) / (hi - lo))
            self.plt.yticks(*linear_ticks(data_lo, data_hi, span))
        return lo, hi

    def mark_best(
        self, state: SweepState, xs: Sequence[float], limits: tuple[float, float] | None
    ) -> None:
        """A vertical line at the best λ, labelled at the top (on the side with room)."""
        k = state.best_index()
        if k is None:
            return
        self.plt.vline(xs[k], BEST_COLOR)
        if limits is not None:
            right_half = xs[k] > (min(xs) + max(xs)) / 2
            self.plt.text(
                f"best λ={state.lams[k]:.3g}",
                xs[k],
                limits[1],
                color=BEST_COLOR,
                alignment="right" if right_half else "left",
            )


def _log(values: Sequence[float]) -> list[float]:
    return [math.log10(max(v, LOG_FLOOR)) if math.isfinite(v) else math.nan for v in values]


def _in_view(ys: Sequence[float], state: SweepState) -> list[float]:
    """The values that set a chart's range: finite, of members neither diverged nor off
    scale (one member blowing up at the edge of stability must not flatten everyone else)."""
    off = state.off_scale()
    return [y for k, y in enumerate(ys) if state.plotted(k) and k not in off and math.isfinite(y)]


def clip(
    xs: Sequence[float], ys: Sequence[float], lo: float, hi: float
) -> list[tuple[list[float], list[float]]]:
    """The parts of a polyline inside lo <= y <= hi, cut where it crosses a limit.

    plotext draws a segment pixel by pixel even where it runs off the canvas, so a ridge path
    heading to 1e9 at λ → 0 would cost seconds and gigabytes a frame: draw only what is seen."""
    runs: list[tuple[list[float], list[float]]] = []
    run_x: list[float] = []
    run_y: list[float] = []

    def inside(y: float) -> bool:
        return lo <= y <= hi

    def at(x0: float, y0: float, x1: float, y1: float, edge: float) -> tuple[float, float]:
        return x0 + (edge - y0) / (y1 - y0) * (x1 - x0), edge

    def cross(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float]:
        return at(x0, y0, x1, y1, hi if (y0 > hi or y1 > hi) else lo)

    points = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    for i, (x, y) in enumerate(points):
        if i and not inside(y) and not inside(points[i - 1][1]):
            (x0, y0) = points[i - 1]
            if (y0 < lo) != (y < lo):  # straight across the view, from one edge to the other
                a, b = at(x0, y0, x, y, lo), at(x0, y0, x, y, hi)
                runs.append(([a[0], b[0]], [a[1], b[1]]))
            continue
        if i and inside(y) != inside(points[i - 1][1]):
            cx, cy = cross(*points[i - 1], x, y)
            run_x.append(cx)
            run_y.append(cy)
            if not inside(y):  # leaving the view: the run ends at the edge
                runs.append((run_x, run_y))
                run_x, run_y = [], []
        if inside(y):
            run_x.append(x)
            run_y.append(y)
    if run_x:
        runs.append((run_x, run_y))
    return runs


def _draw(
    plt: Figure,
    xs: Sequence[float],
    ys: Sequence[float],
    color: RGB,
    limits: tuple[float, float],
    state: SweepState | None,
    points: bool = True,
) -> None:
    """A line through the members' values (diverged ones left out), clipped to the view, with
    a dot at each member inside it."""
    keep = [k for k in range(len(xs)) if state is None or state.plotted(k)]
    px, py = [xs[k] for k in keep], [ys[k] for k in keep]
    for cx, cy in clip(px, py, *limits):
        if len(cx) > 1:
            plt.plot(cx, cy, color=color, marker="braille")
    if points:
        seen = [(x, y) for x, y in zip(px, py, strict=True) if limits[0] <= y <= limits[1]]
        if seen:
            plt.scatter([p[0] for p in seen], [p[1] for p in seen], color=color, marker="•")


class ValidationChart(SweepChart):
    """Each member's latest train and test loss against λ; the best λ marked; the test loss of
    predicting the training mean (`baseline_test_loss`) as a labelled horizontal line: where a
    member's test loss stands against it, and where a large λ takes every member.

    `view` "accuracy" (a classification sweep): each member's train and test accuracy in %
    instead, on a linear axis whatever `log_y` (a share of 0–100%), zoomed to the members'
    range (no wider than 0–100), the best λ marked as for the loss."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: CurveView = "loss"
        self.painted_view: CurveView | None = None  # what the last frame drew (tests)

    def render(self) -> RenderResult:
        result = super().render()
        state = self.state
        self.painted_view = "accuracy" if state and shows_accuracy(state, self.view) else "loss"
        return result

    def build_sweep(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        if shows_accuracy(state, self.view):
            self._accuracy(plt, state, width, height)
        else:
            self._loss(plt, state, width, height)

    def _loss(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        xs = self.x_axis(state, width)
        f = _log if self.log_y else list
        series = [(f(state.train), TRAIN_COLOR)]
        if state.test is not None:
            series.append((f(state.test), TEST_COLOR))
        shown = [y for ys, _ in series for y in _in_view(ys, state)]
        baseline = None
        if state.baseline_test_loss is not None and math.isfinite(state.baseline_test_loss):
            baseline = f([state.baseline_test_loss])[0]
            shown.append(baseline)  # in view: the line is drawn to be compared with
        limits = self.y_range(shown, self.log_y, height, never_negative=True)
        if limits is None:
            return
        if baseline is not None:
            plt.hline(baseline, BASELINE_COLOR)
        for ys, color in series:
            _draw(plt, xs, ys, color, limits, state)
        if baseline is not None:
            # A row off the line, towards the middle: the best λ's label has the top row.
            lo, hi = limits
            row = (hi - lo) / max(1, height - 3)
            y = baseline - row if baseline > (lo + hi) / 2 else baseline + row
            plt.text(BASELINE_LABEL, min(xs), y, color=BASELINE_COLOR, alignment="left")
        self.mark_best(state, xs, limits)

    def _accuracy(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        xs = self.x_axis(state, width)
        series = [
            (percent(values), color)
            for values, color in (
                (state.train_accuracy, TRAIN_COLOR),
                (state.test_accuracy, TEST_COLOR),
            )
            if values is not None
        ]
        # Every plotted member sets the range: an accuracy is bounded, so a member off the
        # losses' scale cannot flatten the others here.
        shown = [
            y for ys, _ in series for k, y in enumerate(ys) if state.plotted(k) and math.isfinite(y)
        ]
        limits = self.y_range(shown, False, height, never_negative=True, ceiling=100.0)
        if limits is None:
            return
        for ys, color in series:
            _draw(plt, xs, ys, color, limits, state)
        self.mark_best(state, xs, limits)


def shows_accuracy(state: SweepState, view: CurveView) -> bool:
    """The validation curve draws accuracies: asked for, and the sweep has them."""
    return view == "accuracy" and state.train_accuracy is not None


def percent(values: Sequence[float]) -> list[float]:
    return [100.0 * v for v in values]


class NormChart(SweepChart):
    """‖w‖² of each member against λ, and the ridge optimum's ‖w‖² (dim) where there is one."""

    def build_sweep(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        xs = self.x_axis(state, width)
        f = _log if self.log_y else list
        norm = f(state.sq_norm)
        shown = _in_view(norm, state)
        ridge = None if state.ridge_sq_norm is None else f(state.ridge_sq_norm)
        if ridge is not None and not shown:  # until the first epoch arrives
            shown = [v for v in ridge if math.isfinite(v)]
        limits = self.y_range(shown, self.log_y, height, never_negative=True)
        if limits is None:
            return
        if ridge is not None:
            _draw(plt, xs, ridge, RIDGE_COLOR, limits, None, points=False)
        _draw(plt, xs, norm, NORM_COLOR, limits, state)
        self.mark_best(state, xs, limits)


class PathChart(SweepChart):
    """Each penalized weight of every member against λ (linear y), with its closed-form ridge
    optimum beside it, same hue, dimmed. The view follows the trained weights: at λ → 0 the
    ridge optimum of an ill-conditioned problem can be far beyond where training has got to."""

    def build_sweep(self, plt: Figure, state: SweepState, width: int, height: int) -> None:
        xs = self.x_axis(state, width)
        n = len(state.path_labels)
        trained, ridge = state.path, state.ridge_path
        source = trained if trained is not None else ridge
        shown = [0.0]  # 0 in view: where every path is heading
        if source is not None:
            for i in range(n):
                shown += _in_view([row[i] for row in source], state)
        limits = self.y_range(shown, False, height)
        if limits is None:
            return
        for i in range(n):
            color = PATH_COLORS[i % len(PATH_COLORS)]
            if ridge is not None:
                dimmed = dim(color, 0.45)
                _draw(plt, xs, [row[i] for row in ridge], dimmed, limits, None, False)
            if trained is not None:
                _draw(plt, xs, [row[i] for row in trained], color, limits, state, n <= 4)
        self.mark_best(state, xs, limits)


Entry = tuple[str, str]  # a legend's entry: its words, its style


def legend(entries: list[Entry], width: int | None = None) -> Text:
    """The entries on one line, or on as many lines of `width` columns as they need: a line
    breaks between two entries, never inside one."""
    text = Text()
    column = 0
    for words, style in entries:
        if column and width is not None and column + 1 + len(words) > width:
            text.append("\n")
            column = 0
        elif column:
            text.append(" ")
            column += 1
        text.append(words, style=style)
        column += len(words)
    return text


def path_legend(state: SweepState, width: int | None = None) -> Text:
    """'━ w[x] ━ w[y]  dim: ridge optimum (closed form)' in the chart's colours: as many names
    as fit on two lines of `width` columns (up to 6; at least one, on a third line if need
    be), and how many there are when some are left out."""
    labels = state.path_labels
    names: list[Entry] = [
        (f"━ {label}", f"bold {swatch(PATH_COLORS[i % len(PATH_COLORS)])}")
        for i, label in enumerate(labels[:6])
    ]
    tails: list[list[Entry]] = [[]]
    if state.ridge_path is not None:
        ridge = "dim: ridge optimum"
        tails = [[(f"{ridge} (closed form)", swatch(RIDGE_COLOR))], [(ridge, swatch(RIDGE_COLOR))]]
    text = Text()
    for count in range(len(names), 0, -1):
        more: list[Entry] = []
        if count < len(labels):
            more.append((f"… ({len(labels)} weights)", "dim"))
        for tail in tails:
            text = legend(names[:count] + more + tail, width)
            if width is None or rows(text, width) <= 2:
                return text
    return text


def rows(text: Text, width: int) -> int:
    """The rows `text` takes in `width` columns, a line longer than that wrapping."""
    return sum(max(1, -(-len(line) // max(1, width))) for line in text.plain.split("\n"))


def curve_legend(
    state: SweepState | None, width: int | None = None, view: CurveView = "loss"
) -> Text:
    if state is not None and shows_accuracy(state, view):
        entries: list[Entry] = [("━ train accuracy", f"bold {swatch(TRAIN_COLOR)}")]
        if state.test_accuracy is not None:
            entries.append(("━ test accuracy", f"bold {swatch(TEST_COLOR)}"))
        return legend(entries, width)
    entries = [("━ train", f"bold {swatch(TRAIN_COLOR)}")]
    # Until the first epoch (seconds, on Ray) whether there is a test split is not known.
    if state is None or state.test is not None or state.epoch == 0:
        entries.append(("━ test", f"bold {swatch(TEST_COLOR)}"))
    if state is not None and state.baseline_test_loss is not None:
        entries.append((f"━ {BASELINE_LABEL}", f"bold {swatch(BASELINE_COLOR)}"))
    return legend(entries, width)


def norm_legend(state: SweepState | None, width: int | None = None) -> Text:
    entries: list[Entry] = [("━ ‖w‖²", f"bold {swatch(NORM_COLOR)}")]
    if state is not None and state.ridge_sq_norm is not None:
        entries.append(("━ ridge optimum", swatch(RIDGE_COLOR)))
    return legend(entries, width)
