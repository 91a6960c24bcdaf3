"""The decay view's charts: series over the run's epochs (the update split, each layer's
‖w‖²), and the ridge path early stopping walks (‖w‖² against λ on a log axis).

Each epoch series is drawn from its `MinMaxSeries` buckets (about one per column, the min and
the max of each), as the loss chart draws, so a frame costs the same at 100 epochs or 1M. The
legend is written into the top frame line (`matrix_text`'s title): it costs no row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual_plotext.plot import Plot as Figure

from tui.state.decay_view import walk_lams
from tui.state.run_state import RunState
from tui.state.series import MinMaxSeries
from tui.theme import LOG_FLOOR, NORM_COLOR, RGB, RIDGE_COLOR, swatch
from tui.widgets.loss_chart import envelope
from tui.widgets.plot import Plot, matrix_text
from tui.widgets.ticks import epoch_ticks, log_ticks, pow10_label, pow10_ticks

LABEL_COLUMNS = 6  # room one λ tick label needs ("1e-4" plus a gap)
FLOOR = math.log10(LOG_FLOOR)  # where a 0 lands on a log axis
PAD = 0.06  # room above and below the data, as a share of its range


@dataclass(frozen=True)
class Line:
    """One series of an epoch chart, with its colour and its name in the legend."""

    series: MinMaxSeries
    color: RGB
    name: str


def legend(parts: Sequence[tuple[str, RGB]], prefix: str = "") -> list[Text]:
    """The frame title: ' ━ name' per line, in its colour."""
    title = [Text(f" {prefix}", style="bold")] if prefix else []
    title += [Text(f" ━ {name}", style=f"bold {swatch(color)}") for name, color in parts]
    if title:
        title.append(Text(" "))
    return title


def set_log_y(plt: Figure, values: Sequence[float], height: int) -> None:
    """Limits with a little room and log ticks over `values` (log10 units already)."""
    lo, hi = min(values), max(values)
    span = hi - lo if hi > lo else 0.5
    plt.ylim(lo - span * PAD, hi + span * PAD)
    rows = max(1.0, (height - 4) / (1 + 2 * PAD))
    ticks, labels = log_ticks(lo, hi, rows)
    plt.yticks(ticks or [lo], labels or [""])


class EpochChart(Plot):
    """Some series over the current run's epochs, log y; the legend in the top frame line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []
        self.end = 0  # the last epoch on the axis

    def show(self, lines: Sequence[Line], end: int) -> None:
        self.lines, self.end = list(lines), end
        self.refresh()

    def build(self, plt: Figure, width: int, height: int) -> None:
        end = max(2, self.end)
        columns = max(10, width - 12)
        values: list[float] = []
        for line in self.lines:
            env = envelope(line.series, columns, end, log_y=True)
            if env is None:
                continue
            # A part that is exactly 0 (λ = 0: no decay) has no place on a log axis: a gap.
            kept = [(x, lo, hi) for x, lo, hi in zip(*env, strict=True) if lo > FLOOR]
            if not kept:
                continue
            xs, lows, highs = (list(column) for column in zip(*kept, strict=True))
            plt.plot(xs, highs, color=line.color, marker="braille")
            if highs != lows:
                plt.plot(xs, lows, color=line.color, marker="braille")
            values += [min(lows), max(highs)]
        plt.xlim(1.0, float(end))
        plt.xticks(*epoch_ticks(end, 5 if width >= 60 else 3))
        if values:
            set_log_y(plt, values, height)
        else:
            plt.yticks([])

    def draw(self, width: int, height: int, theme: str | None) -> Text:
        self.lay_out(width, height)
        if theme is not None:
            self.plt.theme(theme)
        title = legend([(line.name, line.color) for line in self.lines], "log y")
        return matrix_text(self.plt, width, height, title=title)


@dataclass(frozen=True)
class WalkCurve:
    """The ridge path as drawn: per λ (largest first), the optimum's Σ‖w‖²
    (engine/early_stopping.py `RidgeCurve`, its plain floats)."""

    lams: tuple[float, ...]
    weight_sq_norms: tuple[float, ...]


class WalkChart(Plot):
    """x = λ (log); the ridge path's ‖w*(λ)‖² as a grey line, and the run's epochs as points
    at λ_t = 1/(2·Σ lr) with their Σ‖w‖²: early stopping walks down the path, right to left,
    as t grows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curve: WalkCurve | None = None
        self.run: RunState | None = None

    def show(self, curve: WalkCurve | None, run: RunState | None) -> None:
        self.curve, self.run = curve, run
        self.refresh()

    def build(self, plt: Figure, width: int, height: int) -> None:
        curve, run = self.curve, self.run
        if curve is None or not curve.lams:
            return
        xs = [math.log10(lam) for lam in curve.lams]
        ys = [_log(v) for v in curve.weight_sq_norms]
        plt.plot(xs, ys, color=RIDGE_COLOR, marker="braille")
        values = list(ys)
        if run is not None and len(run.weight_sq_norm):
            columns = max(10, width - 12)
            epochs, mins, maxs = run.weight_sq_norm.log_buckets(columns)
            lams = walk_lams(run, epochs)
            keep = np.isfinite(mins) & np.isfinite(lams) & (lams > 0)
            middle = (mins[keep] + maxs[keep]) / 2
            px = np.log10(lams[keep]).tolist()
            py = [_log(v) for v in middle.tolist()]
            if px:
                plt.scatter(px, py, color=NORM_COLOR, marker="•")
                values += py
                xs += px
        lo, hi = min(xs), max(xs)
        plt.xlim(lo, hi)
        slots = max(2, (width - 8) // LABEL_COLUMNS)
        ticks = pow10_ticks(lo, hi, slots)
        plt.xticks(ticks, [pow10_label(t) for t in ticks])
        set_log_y(plt, values, height)

    def draw(self, width: int, height: int, theme: str | None) -> Text:
        self.lay_out(width, height)
        if theme is not None:
            self.plt.theme(theme)
        title = legend([("ridge ‖w*(λ)‖²", RIDGE_COLOR), ("run at λ_t", NORM_COLOR)], "log")
        return matrix_text(self.plt, width, height, title=title)


def _log(value: float) -> float:
    return math.log10(max(value, LOG_FLOOR)) if math.isfinite(value) else math.nan


__all__ = ["EpochChart", "Line", "WalkChart", "WalkCurve", "legend"]
