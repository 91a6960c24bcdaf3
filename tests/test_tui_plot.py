"""Unit tests of what every chart shares (no Pilot): tick positions and labels, the fast render
path against plotext's own, the palette and the status styles."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from rich.console import Console
from rich.style import Style
from rich.text import Text

from engine.config import RunConfig
from engine.events import Epoch, ParamInfo
from engine.sweep.events import SweepEpoch, SweepStarted
from tui.state.run_state import Mark, RunState
from tui.state.sweep_state import SweepState
from tui.theme import (
    BEST_COLOR,
    STATUS_STYLES,
    TEST_COLOR,
    TRAIN_COLOR,
    dim,
    message_style,
    status_style,
    swatch,
)
from tui.widgets.loss_chart import LossChart, legend_text
from tui.widgets.plot import Plot, render_text
from tui.widgets.readout import readout_text
from tui.widgets.sweep_charts import NormChart, PathChart, ValidationChart, curve_legend
from tui.widgets.ticks import log_ticks, pow10_label, pow10_ticks

RANGES = [(-14.04, 0.05), (-2.3, 1.2), (0.07, 1.61), (-0.7, 0.85), (3.2, 3.3), (-40.0, 12.0)]


def _round(t: float, mantissas: tuple[int, ...]) -> bool:
    """10**t is m·10^k for a whole k and one of the mantissas."""
    k = math.floor(t + 1e-9)
    return any(math.isclose(t - k, math.log10(m), abs_tol=1e-9) for m in mantissas)


# ----- ticks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), RANGES)
@pytest.mark.parametrize("rows", [6, 25])
def test_log_ticks_are_round_in_range_and_two_rows_apart(lo: float, hi: float, rows: int) -> None:
    ticks, labels = log_ticks(lo, hi, rows)
    assert len(ticks) == len(labels) >= 2
    assert all(lo <= t <= hi for t in ticks)
    assert all((b - a) / (hi - lo) * rows >= 2 for a, b in pairwise(ticks))
    decades = all(t == int(t) for t in ticks)
    if decades:
        assert labels == [f"1e{int(t)}" for t in ticks]
    elif all(_round(t, (1, 2, 5)) for t in ticks):  # inside a decade: plain numbers
        assert labels == [f"{10**t:.3g}" for t in ticks]
    else:  # too narrow for 1-2-5: three evenly spaced values
        assert len(ticks) == 3 and ticks[1] - ticks[0] == pytest.approx(ticks[2] - ticks[1])


def test_log_ticks_as_the_loss_charts_snapshots_draw_them() -> None:
    assert log_ticks(-14.04, 0.0517, 25) == (
        [-12.0, -9.0, -6.0, -3.0, 0.0],
        ["1e-12", "1e-9", "1e-6", "1e-3", "1e0"],
    )
    assert log_ticks(0.0726, 1.6113, 6)[1] == ["2", "10"]
    assert log_ticks(math.inf, -math.inf) == ([], [])


@pytest.mark.parametrize(("lo", "hi"), RANGES)
@pytest.mark.parametrize("slots", [3, 7, 17])
def test_pow10_ticks_are_round_in_range_and_fit_the_slots(lo: float, hi: float, slots: int) -> None:
    ticks = pow10_ticks(lo, hi, slots)
    assert 1 <= len(ticks) <= max(3, slots)
    assert all(lo - 1e-9 <= t <= hi + 1e-9 for t in ticks)
    if all(t == int(t) for t in ticks):
        step = int(ticks[1] - ticks[0]) if len(ticks) >= 2 else 1
        assert all(int(t) % step == 0 for t in ticks)  # anchored: 1e0 whenever in range
    elif not any(all(_round(t, m) for t in ticks) for m in ((1, 2, 5), (1, 3))):
        assert len(ticks) == 3 and ticks[1] - ticks[0] == pytest.approx(ticks[2] - ticks[1])
    for t in ticks:
        whole_decade = t == int(t)
        assert pow10_label(t) == (f"1e{round(t)}" if whole_decade else f"{10**t:.2g}")


def test_pow10_labels() -> None:
    assert pow10_ticks(-4.0, 2.0, 7) == [-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
    assert [pow10_label(t) for t in (-4.0, 0.0, math.log10(3), math.log10(0.02))] == [
        "1e-4",
        "1e0",
        "3",
        "0.02",
    ]
    assert pow10_ticks(math.nan, 1.0, 5) == []


# ----- the fast render path -----------------------------------------------------------------------


def _cells(text: Text, width: int, height: int) -> list[list[tuple[str, Style]]]:
    """What a widget of that size shows: each row's characters with their styles."""
    console = Console(width=width, color_system="truecolor", force_terminal=True)
    return [
        [(char, segment.style or Style()) for segment in line for char in segment.text]
        for line in console.render_lines(text, pad=False)[:height]
    ]


def _public_text(plot: Plot, width: int, height: int) -> Text:
    """What textual-plotext's own render draws: plotext's ANSI string, parsed back by Rich."""
    plot.lay_out(width, height)
    plot.plt.plotsize(width, height)
    plot.plt._set_size(width, height)
    return Text.from_ansi(plot.plt.build())


def _loss_chart() -> LossChart:
    config = RunConfig(preset="line", epochs=500).resolved()
    earlier, current = RunState(0, config), RunState(1, config)
    epochs = np.arange(1, 501)
    earlier.train.extend(2 / np.sqrt(epochs))
    earlier.test.extend(2.5 / np.sqrt(epochs))
    current.train.extend(1 / np.sqrt(epochs) + 0.01 * np.cos(epochs))
    current.test.extend(1.2 / np.sqrt(epochs))
    current.marks.append(Mark(200, "λ=0.1"))
    chart = LossChart()
    chart.current, chart.earlier = current, [earlier]
    return chart


def _sweep_state() -> SweepState:
    """Six members of a two-weight linear model, with the ridge optimum beside them."""
    lams = [0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0]
    shrink = [1 / (1 + lam) for lam in lams]
    parameters = (ParamInfo("weight", (1, 2), True), ParamInfo("bias", (1,), False))
    ridge = tuple({"weight": [[2 * s, -s]], "bias": [0.1]} for s in shrink)
    state = SweepState(lams, 10)
    state.apply(SweepStarted({"model": "linear"}, "cpu", tuple(lams), parameters, ridge=ridge))
    train = tuple(0.1 + 0.05 * math.log1p(lam) for lam in lams)
    test = tuple(0.3 - 0.02 * k + 0.01 * k * k for k in range(len(lams)))
    weights = tuple((1.8 * s, -0.9 * s, 0.1) for s in shrink)
    norms = tuple(s * s for s in shrink)
    state.apply(SweepEpoch(5, train, test, norms, 0.1, weights=weights))
    return state


@pytest.mark.parametrize("log_y", [True, False])
@pytest.mark.parametrize("kind", ["loss", "curve", "norm", "path"])
def test_the_fast_path_draws_what_plotext_draws(kind: str, log_y: bool) -> None:
    if kind == "loss":
        chart: Plot = _loss_chart()
    else:
        sweep_chart = {"curve": ValidationChart, "norm": NormChart, "path": PathChart}[kind]()
        sweep_chart.state = _sweep_state()
        chart = sweep_chart
    chart.log_y = log_y
    fast = _cells(render_text(chart, 72, 18), 72, 18)
    assert fast == _cells(_public_text(chart, 72, 18), 72, 18)
    assert len(fast) == 18 and {len(row) for row in fast} == {72}


# ----- palette and status styles -----------------------------------------------------------------


def test_status_words_keep_their_styles() -> None:
    run = ("starting", "running", "paused", "completed", "stopped", "diverged", "failed")
    saved = ("unfinished",)
    sweep = ("ready", "starting", "running", "stopping", "completed", "stopped", "failed")
    assert {status: status_style(status) for status in (*run, *sweep, *saved)} == {
        "ready": "bold",
        "starting": "bold yellow",
        "running": "bold green",
        "paused": "bold yellow",
        "stopping": "bold yellow",
        "completed": "bold cyan",
        "stopped": "bold magenta",
        "diverged": "bold red",
        "failed": "bold red",
        "unfinished": "bold yellow",
    }
    assert set(STATUS_STYLES) == {*run, *sweep, *saved}
    assert status_style("something new") == "bold"
    assert [message_style(s) for s in ("diverged", "failed", "stopped", "completed")] == [
        "red",
        "red",
        "",
        "",
    ]


def test_swatches_and_dimmed_colours() -> None:
    assert swatch(TRAIN_COLOR) == "#50b4ff" and swatch(TEST_COLOR) == "#ff9628"
    assert swatch(BEST_COLOR) == "#5adc78"
    assert dim((200, 100, 50), 0.45) == (90, 45, 22)


def _color_of(text: Text, word: str) -> str:
    """The colour of the first span that starts at `word`."""
    start = text.plain.index(word)
    (span,) = [s for s in text.spans if s.start == start]
    return str(span.style).split()[-1]


def test_train_and_test_read_the_same_in_every_legend_and_readout() -> None:
    config = RunConfig(preset="line").resolved()
    run = RunState(1, config)
    loss_legend = legend_text(run, [], True)
    sweep_legend = curve_legend(None)
    for text in (loss_legend, sweep_legend):
        assert _color_of(text, "━ train") == swatch(TRAIN_COLOR)
        assert _color_of(text, "━ test") == swatch(TEST_COLOR)
    run.last = Epoch(1, 0.5, 0.25, 0.0, 0.5, 1.0, lam=0.0, lr=0.1, elapsed_s=0.1)
    readout = readout_text(run)
    assert _color_of(readout, "0.5") == swatch(TRAIN_COLOR)
    assert _color_of(readout, "0.25") == swatch(TEST_COLOR)
