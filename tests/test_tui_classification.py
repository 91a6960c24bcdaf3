"""The explorer for classification (issue 11): the accuracy chart (v) and the log epoch axis (x)
on grokking, the class templates (t) of a linear model on digits against the trainer's own
weights, the readout's accuracies, and regression left as it was."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from rich.style import Style
from rich.text import Text

from engine.config import RunConfig
from engine.events import Epoch, ParamInfo, ParamStats, Started
from support.tui import keys, live_of, settle, status_of, sync, wait_for
from tui.app import WeightDecayApp
from tui.state.run_state import RunState
from tui.state.series import MinMaxSeries
from tui.widgets.loss_chart import LossChart
from tui.widgets.readout import Readout, readout_text
from tui.widgets.status_line import classes_text
from tui.widgets.templates import (
    TemplatesView,
    image_grid,
    run_templates,
    templates_text,
    weight_color,
)

DIGIT_NAMES = [f"px{r}_{c}" for r in range(8) for c in range(8)]


def epoch(n: int, train_acc: float | None = None, test_acc: float | None = None) -> Epoch:
    return Epoch(n, 0.5, 0.7, 0.0, 0.5, 2.0 + n, 0.0, 0.1, 0.01 * n, None, train_acc, test_acc)


# ----- state, readout, series (no Pilot) ------------------------------------------------------


def test_run_state_keeps_the_accuracies_and_the_weight_norm_per_epoch() -> None:
    run = RunState(1, RunConfig(preset="digits").resolved())
    run.apply(Started({}, "cpu", (), n_test=10, classes=("0", "1")))
    for n, (train_acc, test_acc) in enumerate([(0.5, 0.25), (0.75, 0.5), (1.0, 0.625)], 1):
        run.apply(epoch(n, train_acc, test_acc))
    assert run.is_classifier and run.classes == ("0", "1")
    _, train, _ = run.train_accuracy.buckets(10)
    _, test, _ = run.test_accuracy.buckets(10)
    _, norm, _ = run.weight_sq_norm.buckets(10)
    assert train.tolist() == [0.5, 0.75, 1.0]
    assert test.tolist() == [0.25, 0.5, 0.625]
    assert norm.tolist() == [3.0, 4.0, 5.0]


def test_the_readout_gives_a_classifiers_accuracies_and_a_regressions_r2() -> None:
    classifier = RunState(1, RunConfig(preset="digits").resolved())
    classifier.apply(Started({}, "cpu", (), n_test=10, classes=("0", "1")))
    classifier.apply(epoch(1, 0.9778, 0.5))
    text = readout_text(classifier).plain
    assert text.startswith("train acc 97.78%  test acc 50%  train 0.5  test 0.7")
    assert "R²" not in text

    regression = RunState(2, RunConfig(preset="line").resolved())
    regression.apply(Started({}, "cpu", (), n_test=10, test_target_variance=1.4))
    regression.apply(epoch(1))
    text = readout_text(regression).plain
    assert "acc" not in text
    assert f"R² {1 - 0.7 / 1.4:.4g}" in text


@pytest.mark.parametrize("n", [1, 7, 300, 5000, 50_000])
def test_log_buckets_give_each_log_spaced_bucket_its_min_and_max(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    series = MinMaxSeries()
    series.extend(values)
    centres, mins, maxs = series.log_buckets(60)
    # The buckets as the series draws them: epochs 1, 2, 3… first, then ever wider, in order.
    assert centres[0] == 1 and np.all(np.diff(centres) > 0) and centres[-1] <= n
    assert np.nanmin(mins) == values.min() and np.nanmax(maxs) == values.max()
    starts = np.unique(np.geomspace(1, n + 1, 61).astype(np.int64))
    starts[-1] = n + 1
    assert len(centres) == len(starts) - 1
    for i, (a, b) in enumerate(itertools.pairwise(starts)):
        exact = values[a - 1 : b - 1]
        if b - a <= 2 * n / 4096 or n <= 4096:  # read from the raw values: exact
            assert (mins[i], maxs[i]) == (exact.min(), exact.max())
        else:  # from the fine buckets starting in it: within the neighbours' range
            wider = values[max(0, a - 1 - n // 4096) : b - 1 + n // 4096]
            assert wider.min() <= mins[i] <= exact.max() and exact.min() <= maxs[i] <= wider.max()


def test_the_image_grid_places_each_pixel_feature() -> None:
    grid = image_grid(DIGIT_NAMES)
    assert grid is not None and (grid.height, grid.width) == (8, 8)
    assert (grid.rows[13], grid.cols[13]) == (1, 5)
    assert image_grid(["x0", "x1"]) is None
    assert image_grid(DIGIT_NAMES[:-1]) is None  # not a whole rectangle


def test_weight_colours_diverge_around_zero() -> None:
    zero, plus, minus = weight_color(0.0, 1.0), weight_color(1.0, 1.0), weight_color(-2.0, 1.0)
    assert plus[0] > zero[0] and plus[0] > plus[2]  # red for the class
    assert minus[2] > zero[2] and minus[2] > minus[0]  # blue against it
    halfway = tuple(round((z + p) / 2) for z, p in zip(zero, plus, strict=True))
    assert weight_color(0.5, 1.0) == halfway
    assert weight_color(math.nan, 1.0) == zero


def test_a_regression_run_has_no_templates() -> None:
    run = RunState(1, RunConfig(preset="line").resolved())
    run.apply(Started({}, "cpu", (ParamInfo("weight", (1, 1), True),), n_test=10))
    stats = ParamStats("weight", (1, 1), True, 1.0, 1.0, 0.0, 1.0, values=(1.0,))
    run.apply(Epoch(1, 0.5, 0.7, 0.0, 0.5, 1.0, 0.0, 0.1, 0.01, (stats,)))
    assert run_templates(run) is None
    assert "linear model on pixel features" in templates_text(run, None, 80, 20).plain


# ----- through the Pilot -----------------------------------------------------------------------


def x_ticks(chart: LossChart) -> list[str]:
    """The labels under the x axis of a 60×14 frame (its last line: no x label that short)."""
    return chart.draw(60, 14, None).plain.rstrip("\n").split("\n")[-1].split()


def chart_of(app: WeightDecayApp) -> LossChart:
    return app.explorer.query_one(LossChart)


@sync
async def test_grokking_accuracy_view_shows_train_at_100_and_log_x_ticks() -> None:
    app = WeightDecayApp(RunConfig(preset="grokking", epochs=300, save=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, timeout=120)
        run = live_of(pilot).current
        assert run is not None and run.last is not None
        chart = chart_of(app)
        assert [p.name for p in chart.plan(60, 12)] == ["test", "train"]
        # The test panel's dotted line: the class frequencies' cross-entropy, named in full
        # where the frame has room, shorter at 80 columns.
        assert "┄ predict-the-class-frequencies 3.6" in chart.draw(80, 12, None).plain
        assert "┄ predict-class-freqs 3.6" in chart.draw(48, 12, None).plain

        await keys(pilot, "v")
        await wait_for(pilot, lambda: chart.view == "accuracy", "the accuracy view")
        assert app.explorer.query_one("#chart-box").border_title == "accuracy per epoch"
        (panel,) = chart.plan(60, 12)
        assert panel.name == "accuracy" and panel.y_range == (0.0, 100.0)
        assert {"0", "100"} <= set(panel.ticks[1])
        test, train = [c for c in panel.curves if c.current]
        # Memorised long before epoch 300 (train at 100%), not yet understood (test low).
        assert max(train.highs) == 100.0 and run.last.train_accuracy == 1.0
        assert max(test.highs) < 50 and run.last.test_accuracy is not None
        assert max(test.highs) == pytest.approx(100 * max(run.test_accuracy._raw))
        # The readout says what the last epoch measured.
        readout = str(app.explorer.query_one(Readout).render())
        assert "train acc 100%" in readout
        assert f"test acc {100 * run.last.test_accuracy:.4g}%" in readout
        assert "10 classes" not in status_of(app) and "37 classes" in status_of(app)

        assert x_ticks(chart) == ["100", "200", "300"]
        frames = chart.frames
        await keys(pilot, "x")
        await wait_for(pilot, lambda: chart.log_x and chart.frames > frames, "a log-x frame")
        assert x_ticks(chart) == ["1", "10", "100"]
        await keys(pilot, "x")
        await wait_for(pilot, lambda: not chart.log_x, "a linear x axis again")
        assert x_ticks(chart) == ["100", "200", "300"]

        await keys(pilot, "v")
        await wait_for(pilot, lambda: chart.view == "norm", "the ‖w‖² view")
        (panel,) = chart.plan(60, 12)
        (curve,) = [c for c in panel.curves if c.current]
        norms = np.asarray(run.weight_sq_norm._raw)
        assert max(curve.highs) == pytest.approx(math.log10(norms.max()))
        await keys(pilot, "v")
        await wait_for(pilot, lambda: chart.view == "loss", "the loss view again")


def cell_colours(text: Text, row: int, col: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The foreground and background of the character at (row, col) of `text`."""
    lines = text.plain.split("\n")
    offset = sum(len(line) + 1 for line in lines[:row]) + col
    style = Style()
    for span in text.spans:
        if span.start <= offset < span.end:
            style += span.style if isinstance(span.style, Style) else Style.parse(span.style)
    assert style.color is not None and style.bgcolor is not None
    return tuple(style.color.get_truecolor()), tuple(style.bgcolor.get_truecolor())


@sync
async def test_digits_templates_follow_the_trainers_weights() -> None:
    app = WeightDecayApp(RunConfig(preset="digits", epochs=30, save=False))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, timeout=120)
        live = live_of(pilot)
        run, trainer = live.current, live.trainer
        assert run is not None and trainer is not None
        assert "classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in status_of(app)
        weights = trainer.model.weight.detach().numpy()  # type: ignore[operator]
        images = run_templates(run)
        assert images is not None and images.shape == (10, 8, 8)
        np.testing.assert_allclose(images.reshape(10, 64), weights, rtol=1e-6)

        await keys(pilot, "t")
        view = app.explorer.query_one(TemplatesView)
        await wait_for(pilot, lambda: view.display, "the templates view")
        assert not chart_of(app).display
        text = templates_text(run, None, view.content_size.width, view.content_size.height)
        lines = text.plain.split("\n")
        assert lines[1].split() == [str(k) for k in range(10)]
        scale = float(np.abs(weights).max())
        assert f"+{scale:.3g}" in lines[0]
        # Class k's pixel (2r, c) is the upper half of cell (r, c) of its template, (2r+1, c)
        # the lower: each coloured from the trainer's weight.
        for k, r, c in [(0, 1, 3), (3, 2, 4), (9, 3, 7)]:
            fg, bg = cell_colours(text, 2 + r, k * 9 + c)
            assert fg == weight_color(float(weights[k, 16 * r + c]), scale)
            assert bg == weight_color(float(weights[k, 16 * r + 8 + c]), scale)
        await keys(pilot, "t")
        await wait_for(pilot, lambda: chart_of(app).display, "the chart back")


@sync
async def test_regression_keeps_r2_and_has_no_accuracy_or_templates() -> None:
    app = WeightDecayApp(RunConfig(preset="line", epochs=50, save=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, timeout=120)
        readout = str(app.explorer.query_one(Readout).render())
        assert "R²" in readout and "acc" not in readout
        assert "classes" not in status_of(app)
        assert not app.explorer.check_action("toggle_templates", ())
        chart = chart_of(app)
        assert "┄ predict-the-mean" in chart.draw(60, 12, None).plain
        await keys(pilot, "v")  # loss → ‖w‖² directly: no accuracy for a regression
        await wait_for(pilot, lambda: chart.view == "norm", "the ‖w‖² view")


def test_the_status_line_names_the_classes_where_they_fit() -> None:
    assert classes_text(("benign", "malignant")) == "classes benign, malignant"
    assert classes_text(tuple(str(k) for k in range(37))) == "37 classes (0 … 36)"
