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
from engine.events import Epoch, Event, ParamInfo, Started
from engine.sweep.events import SweepEpoch, SweepStarted
from engine.trainer import Trainer
from tui.state.run_state import Mark, RunState
from tui.state.sweep_state import SweepState
from tui.theme import (
    BASELINE_COLOR,
    BEST_COLOR,
    OVERLAY_COLORS,
    STATUS_STYLES,
    TEST_COLOR,
    TRAIN_COLOR,
    dim,
    message_style,
    status_style,
    swatch,
)
from tui.widgets.loss_chart import LossChart
from tui.widgets.loss_legend import legend_text
from tui.widgets.plot import Plot, matrix_text, render_text
from tui.widgets.readout import readout_text
from tui.widgets.sweep_charts import NormChart, PathChart, ValidationChart, curve_legend
from tui.widgets.ticks import epoch_ticks, linear_ticks, log_ticks, pow10_label, pow10_ticks

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
    else:  # too narrow for 1-2-5: round numbers in linear steps (1600, 1700, ...)
        values = [float(label) for label in labels]
        assert values == pytest.approx([10**t for t in ticks], rel=1e-9)
        _assert_multiples_of_a_125_step(values)


def _assert_multiples_of_a_125_step(values: list[float]) -> None:
    """Each value is k·step for a whole k, the step 1, 2 or 5 times a power of ten (a single
    value: two significant digits at most)."""
    if len(values) == 1:
        mantissa = f"{values[0]:.15e}".split("e")[0].replace(".", "").rstrip("0")
        assert len(mantissa) <= 2
        return
    step = min(b - a for a, b in pairwise(values))
    exponent = math.floor(math.log10(step) + 1e-9)
    assert any(math.isclose(step, m * 10**exponent, rel_tol=1e-6) for m in (1, 2, 5, 10))
    for v in values:
        assert v / step == pytest.approx(round(v / step), abs=1e-6)


LINEAR_RANGES = [
    (0.0177, 0.339),  # highdim's test losses, λ = 3 and λ = 0
    (3e-14, 0.12),  # an overfitting train loss
    (0.0177, 0.0193),  # λ = 3 against the predict-the-mean line: a sliver
    (0.99, 13.6),  # line
    (1e5, 3e7),
    (1.2e-6, 3.1e-6),
]


@pytest.mark.parametrize(("lo", "hi"), LINEAR_RANGES)
@pytest.mark.parametrize("rows", [1.5, 3, 6, 25])
def test_linear_ticks_are_round_inside_the_data_and_never_share_a_row(
    lo: float, hi: float, rows: float
) -> None:
    ticks, labels = linear_ticks(lo, hi, rows)
    assert len(ticks) == len(labels) >= 1
    assert all(lo <= t <= hi for t in ticks)  # so never below 0 for a loss
    assert all(float(label) >= 0 for label in labels)
    # Distinct rows always; a free row between labels wherever that still leaves two ticks.
    gap = 2 if rows >= 25 else 1
    assert all((b - a) / (hi - lo) * rows >= gap * (1 - 1e-9) for a, b in pairwise(ticks))
    values = [float(label) for label in labels]
    _assert_multiples_of_a_125_step(values)
    # Each label is its tick (a tick may sit a rounding error inside the range's end).
    assert values == pytest.approx(ticks, rel=1e-6, abs=1e-300)
    if rows >= 6:
        assert len(ticks) >= 2


def test_linear_ticks_of_the_issue_and_of_a_flat_line() -> None:
    # Issue 10: '0.047 -0.014' on a linear axis of a loss. Round, and none below the data.
    assert linear_ticks(0.0177, 0.339, 6) == (
        [0.1, 0.2, 0.30000000000000004],
        ["0.1", "0.2", "0.3"],
    )
    assert linear_ticks(0.3, 0.3, 6) == ([0.3], ["0.3"])
    assert linear_ticks(math.nan, 1.0) == ([], [])


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
    if isinstance(chart, LossChart):  # panels: each figure as plotext draws it
        for figure, rows, _ in chart.panels(72, 18):
            panel = _cells(matrix_text(figure, 72, rows), 72, rows)
            figure.plotsize(72, rows)
            figure._set_size(72, rows)
            assert panel == _cells(Text.from_ansi(figure.build()), 72, rows)
        # The public path, should plotext's internals move, draws the top panel.
        assert len(_cells(_public_text(chart, 72, 18), 72, 18)) == 18
    else:
        assert fast == _cells(_public_text(chart, 72, 18), 72, 18)
    assert len(fast) == 18 and {len(row) for row in fast} == {72}


# ----- the sweep charts' linear y axis ------------------------------------------------------------


def _user_test_sweep() -> SweepState:
    """Losses and ‖w‖² like the user test's (poly): losses 0.035 to 0.331, ‖w‖² 0.05 to 2.1;
    two weights from 2.42 down to -0.18."""
    lams = [0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
    parameters = (ParamInfo("weight", (1, 2), True), ParamInfo("bias", (1,), False))
    state = SweepState(lams, 10)
    state.apply(SweepStarted({"model": "linear"}, "cpu", tuple(lams), parameters,
                             baseline_test_loss=0.272))  # fmt: skip
    train = (0.035, 0.036, 0.04, 0.06, 0.11, 0.2, 0.29)
    test = (0.31, 0.3, 0.25, 0.16, 0.12, 0.21, 0.331)
    norms = (2.1, 2.0, 1.7, 1.1, 0.5, 0.2, 0.05)
    weights = tuple((w, -0.18 * (1 - w / 2.42), 0.1) for w in (2.42, 2.3, 1.98, 1.2, 0.6, 0.2, 0.0))
    state.apply(SweepEpoch(5, train, test, norms, 0.1, weights=weights))
    return state


def _step_of(values: list[float]) -> float:
    """The one step between consecutive values (asserted)."""
    steps = [b - a for a, b in pairwise(values)]
    assert steps and all(math.isclose(d, steps[0], rel_tol=1e-6) for d in steps), values
    return steps[0]


@pytest.mark.parametrize("size", [(26, 16), (58, 13), (72, 18), (118, 12), (60, 30)])
@pytest.mark.parametrize("kind", ["curve", "norm", "path"])
def test_the_sweep_charts_linear_ticks_are_round_and_inside_the_data(kind, size) -> None:
    # The user test: '0.331 0.272 0.035 -0.025' on the losses, '2.42 1.98 … -0.18' on the path.
    state = _user_test_sweep()
    chart = {"curve": ValidationChart, "norm": NormChart, "path": PathChart}[kind]()
    chart.state, chart.log_y = state, False
    labels = _y_labels(render_text(chart, *size).plain.split("\n"))
    values = sorted(float(label) for label in labels)
    assert len(values) == len(set(values)) >= 2  # a tick a row, no two on one
    step = _step_of(values)
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert any(math.isclose(mantissa, m) for m in (1, 2, 5)), labels
    assert all(math.isclose(v / step, round(v / step), abs_tol=1e-6) for v in values), labels
    data = {
        "curve": [*state.train, *(state.test or []), 0.272],
        "norm": state.sq_norm,
        "path": [0.0, *(w for row in state.path or [] for w in row)],
    }[kind]
    assert min(data) - 1e-9 <= values[0] and values[-1] <= max(data) + 1e-9
    if kind != "path":  # a loss or ‖w‖² is never negative, nor is any of its ticks
        assert values[0] >= 0


# ----- the loss chart: two panels, the baseline, the x range ----------------------------------


def _trained(run_id: int, **settings: object) -> RunState:
    """A RunState fed every event of a real run (highdim, seed 0)."""
    events: list[Event] = []
    config = RunConfig(preset="highdim", seed=0, save=False, **settings)  # type: ignore[arg-type]
    trainer = Trainer(config, events.append)
    trainer.run()
    state = RunState(run_id, trainer.config)
    for event in events:
        state.apply(event)
    return state


@pytest.fixture(scope="module")
def classic() -> tuple[RunState, RunState]:
    """The d2l comparison: λ = 0 overfits highdim (test 0.31), λ = 3 does not (test 0.018)."""
    return _trained(1, epochs=100, lam=0.0), _trained(2, epochs=100, lam=3.0)


def _chart(current: RunState, earlier: list[RunState], log_y: bool = True) -> LossChart:
    chart = LossChart()
    chart.current, chart.earlier, chart.log_y = current, earlier, log_y
    return chart


def _rows_of(
    cells: list[list[tuple[str, Style]]], color: tuple[int, int, int], cols: range
) -> set[int]:
    """The rows where a non-blank cell in `cols` has this colour."""
    want = swatch(color)
    return {
        r
        for r, row in enumerate(cells)
        for c in cols
        if c < len(row) and row[c][0].strip() and row[c][1].color is not None
        and row[c][1].color.triplet is not None and row[c][1].color.triplet.hex == want
    }  # fmt: skip


def _y_labels(lines: list[str]) -> list[str]:
    """The y tick labels as drawn, top to bottom (the text left of each '┤' tick)."""
    found = []
    for line in lines:
        label = line.split("┤")[0].strip() if "┤" in line and "├" not in line else ""
        if label:
            found.append(label)
    return found


# What the chart gets of an 80×24 terminal (measured through the Pilot in
# tests/test_tui_loss_chart.py) and of a 200×50 one.
SMALL, LARGE = (51, 11), (162, 38)


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_the_classic_comparison_is_a_panel_of_its_own(classic, size: tuple[int, int]) -> None:
    overfit, regularized = classic
    width, height = size
    chart = _chart(regularized, [overfit])
    cells = _cells(render_text(chart, width, height), width, height)
    lines = ["".join(ch for ch, _ in row) for row in cells]
    assert len(lines) == height
    # Test above, train below, each named (and its scale) in its frame; one epoch axis.
    assert "─ test (log) " in lines[0]
    (split,) = [r for r, line in enumerate(lines) if "├─ train (log) " in line]
    assert lines[0].index("┌") == lines[split].index("├")  # the panels' frames line up
    # The baseline, named in the test panel's frame with its value.
    assert regularized.baseline_test_loss is not None
    assert f"┄ predict-the-mean {regularized.baseline_test_loss:.3g}" in lines[0]
    # The second half of the epochs: λ = 0's test loss (dimmed) lies wholly above λ = 3's,
    # on rows of its own.
    left = lines[split].index("├") + 1
    late = range(left + (width - left) // 2, width - 1)
    test_panel = cells[1:split]
    earlier_rows = _rows_of(test_panel, OVERLAY_COLORS[0], late)
    current_rows = _rows_of(test_panel, TEST_COLOR, late)
    assert earlier_rows and current_rows and max(earlier_rows) < min(current_rows)
    # The dotted baseline is drawn in the test panel, where the curves leave it room.
    assert _rows_of(test_panel, BASELINE_COLOR, range(left, width - 1))
    # The train panel holds both train losses, and nothing of the test.
    train_panel = cells[split + 1 :]
    assert _rows_of(train_panel, TRAIN_COLOR, late) and _rows_of(
        train_panel, OVERLAY_COLORS[0], late
    )
    assert not _rows_of(train_panel, TEST_COLOR, range(width))


@pytest.mark.parametrize("size", [SMALL, LARGE])
@pytest.mark.parametrize("log_y", [True, False])
def test_every_y_label_is_round_and_inside_its_panels_data(classic, size, log_y: bool) -> None:
    overfit, regularized = classic
    chart = _chart(regularized, [overfit], log_y)
    plans = chart.plan(*size)
    lines = render_text(chart, *size).plain.split("\n")
    shown = _y_labels(lines)
    assert shown == [label for p in plans for label in reversed(p.ticks[1])]
    for p in plans:
        assert p.y_range is not None and p.ticks[0]
        lo, hi = p.y_range
        assert all(lo <= t <= hi for t in p.ticks[0])
        values = [10 ** float(x[2:]) if x.startswith("1e") else float(x) for x in p.ticks[1]]
        assert all(v > 0 for v in values)  # a loss: nothing at or below zero is labelled
        if log_y and all(_round(math.log10(v), (1, 2, 5)) for v in values):
            continue  # decades, or 1-2-5 within them
        _assert_multiples_of_a_125_step(values)
    if not log_y:
        assert not any("-" in label for label in shown)


def test_the_x_axis_follows_the_current_run_and_cuts_a_longer_earlier_one(classic) -> None:
    overfit, regularized = classic
    long_run = _trained(3, epochs=300, lam=0.0)
    chart = _chart(regularized, [long_run])
    lines = render_text(chart, *SMALL).plain.split("\n")
    assert lines[-1].split() == ["50", "100"]  # the current run's 100 epochs, not 300
    legend = legend_text(regularized, [long_run], True).plain
    assert "λ=0 sgd highdim: final test" in legend and "(300 epochs, cut to this run's)" in legend
    # The earlier run's final numbers are its last epoch's, past the cut.
    last = long_run.last
    assert last is not None and last.test_loss is not None
    assert f"final test {last.test_loss:.3g} train {last.train_loss:.2g}" in legend

    # A shorter earlier run takes its share of the axis, from the left.
    short = _trained(4, epochs=30, lam=0.0)
    cells = _cells(render_text(_chart(regularized, [short]), *SMALL), *SMALL)
    width = SMALL[0]
    left = "".join(ch for ch, _ in cells[0]).index("┌") + 1
    plot = width - 1 - left
    drawn = [c for c in range(width) if _rows_of(cells, OVERLAY_COLORS[0], range(c, c + 1))]
    assert drawn and max(drawn) <= left + 0.32 * plot
    assert "(30 epochs" not in legend_text(regularized, [short], True).plain

    # While the new run has trained 10 epochs, so does the axis.
    fresh = RunState(5, regularized.config)
    for event in _events_until(regularized, 10):
        fresh.apply(event)
    lines = render_text(_chart(fresh, [overfit]), *SMALL).plain.split("\n")
    assert lines[-1].split()[-1] == "10"


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_epoch_ticks_are_whole_epochs_from_a_run_with_none_yet(classic, size) -> None:
    # The user test: a run with no epoch yet, over an earlier one, showed '1 1.5 2'.
    overfit, regularized = classic
    fresh = RunState(6, regularized.config)
    fresh.apply(_events_until(regularized, 0)[0])
    lines = render_text(_chart(fresh, [overfit]), *size).plain.split("\n")
    labels = lines[-1 if size == SMALL else -2].split()  # a large chart has 'epoch' under them
    assert labels == ["1", "2"]
    for last in range(2, 60):
        for count in (3, 5):
            ticks, labels = epoch_ticks(last, count)
            assert all(t == int(t) and 1 <= t <= last for t in ticks)
            assert len(set(ticks)) == len(ticks)
            assert labels == [str(int(t)) for t in ticks]


def test_a_longer_earlier_run_says_its_epochs_in_full() -> None:
    # The user test: '(1.378k epochs, cut to this run's)'.
    config = RunConfig(preset="line").resolved()
    long_run, current = RunState(1, config), RunState(2, config)
    for k in range(1, 1379):
        long_run.apply(Epoch(k, 0.5, 0.25, 0.0, 0.5, 1.0, lam=0.0, lr=0.1, elapsed_s=0.1))
    for k in range(1, 301):
        current.apply(Epoch(k, 0.5, 0.25, 0.0, 0.5, 1.0, lam=0.0, lr=0.1, elapsed_s=0.1))
    assert "(1,378 epochs, cut to this run's)" in legend_text(current, [long_run], True).plain


def _events_until(run: RunState, epochs: int) -> list[Event]:
    """A Started and `epochs` epochs like `run`'s (the chart reads the loss histories only)."""
    started = Started(run.config.to_dict(), "cpu", (), n_test=100,
                      baseline_test_loss=run.baseline_test_loss)  # fmt: skip
    rows = [
        Epoch(k, 0.1 / k, 0.3 / k, 0.0, 0.1 / k, 1.0, 3.0, 0.003, 0.01 * k)
        for k in range(1, epochs + 1)
    ]
    return [started, *rows]


def test_without_a_test_split_or_rows_to_spare_one_panel_is_drawn(classic) -> None:
    overfit, regularized = classic
    no_test = RunState(9, regularized.config)
    no_test.apply(Started(regularized.config.to_dict(), "cpu", (), n_test=0))
    no_test.apply(Epoch(1, 0.5, None, 0.0, 0.5, 1.0, 3.0, 0.003, 0.01))
    no_test.apply(Epoch(2, 0.4, None, 0.0, 0.4, 1.0, 3.0, 0.003, 0.02))
    text = render_text(_chart(no_test, []), *SMALL).plain
    assert "─ train (log) " in text and "test (" not in text and "predict-the-mean" not in text
    # Seven rows: the test panel alone, the comparison people come for.
    text = render_text(_chart(regularized, [overfit]), 51, 7).plain
    assert "─ test (log) " in text and "train (" not in text


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
    run.apply(Epoch(1, 0.5, 0.25, 0.0, 0.5, 1.0, lam=0.0, lr=0.1, elapsed_s=0.1))
    # The loss chart: each panel named in its colour, the legend's key for the current run in
    # both (test above, train below).
    frame = render_text(_chart(run, []), 72, 18)
    assert _color_of(frame, " test (log) ") == swatch(TEST_COLOR)
    assert _color_of(frame, " train (log) ") == swatch(TRAIN_COLOR)
    key = legend_text(run, [], True).fit(72)
    start = key.plain.index("━━")
    assert [str(s.style).split()[-1] for s in key.spans if start <= s.start < start + 2] == [
        swatch(TEST_COLOR),
        swatch(TRAIN_COLOR),
    ]
    sweep_legend = curve_legend(None)
    assert _color_of(sweep_legend, "━ train") == swatch(TRAIN_COLOR)
    assert _color_of(sweep_legend, "━ test") == swatch(TEST_COLOR)
    readout = readout_text(run)
    assert _color_of(readout, "0.5") == swatch(TRAIN_COLOR)
    assert _color_of(readout, "0.25") == swatch(TEST_COLOR)


def test_the_readout_shows_whole_fields_only_most_important_first() -> None:
    run = RunState(1, RunConfig(preset="line").resolved())
    run.apply(Epoch(1, 0.123456, 0.25, 0.0, 0.5, 1.0, lam=0.0, lr=0.1, elapsed_s=0.1))
    full = readout_text(run).plain
    assert full == "train 0.1235  test 0.25  ‖w‖² 1  λ‖w‖² 0  objective 0.5"
    for width in range(len("train 0.1235"), len(full) + 1):
        shown = readout_text(run, width).plain
        assert len(shown) <= width and full.startswith(shown)
        # Never a field cut in two: what is shown ends where a field of the full line ends.
        assert len(shown) == len(full) or full[len(shown) : len(shown) + 2] == "  "
    assert readout_text(run, 30).plain == "train 0.1235  test 0.25"
