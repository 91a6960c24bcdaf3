"""Smoothing of the chart's curves (issue 12, chart tools): TensorBoard's debiased EMA against
a plain loop written out here, kept up to date incrementally, and `m` / `M` in the explorer
changing what the chart draws and says."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rich.text import Text
from textual.pilot import Pilot

from support.tui import (
    keys,
    live_of,
    make_app,
    settle,
    shown_text,
    sync,
    type_into,
    wait_for,
)
from tui.app import WeightDecayApp
from tui.state.run_state import RunState
from tui.state.series import MinMaxSeries
from tui.state.smoothing import STRENGTHS, Ema, SmoothedSeries, Smoother, debiased_ema
from tui.theme import OVERLAY_COLORS, TRAIN_COLOR, dim
from tui.widgets.loss_chart import EARLIER_RAW_SHADE, RAW_SHADE, LossChart, PanelPlan, envelope

ON = STRENGTHS[1:]


def tensorboard_ema(values: list[float], alpha: float) -> list[float]:
    """TensorBoard's smoothing as a plain loop: s = α·s + (1 − α)·x over the finite values,
    shown as s / (1 − α^t), t counting them; a non-finite value stays a gap."""
    s, t, out = 0.0, 0, []
    for x in values:
        if not math.isfinite(x):
            out.append(math.nan)
            continue
        s = alpha * s + (1 - alpha) * x
        t += 1
        out.append(s / (1 - alpha**t))
    return out


def noisy_history(n: int, seed: int = 0) -> np.ndarray:
    """A loss falling 13 decades with minibatch noise, and gaps (NaN) here and there."""
    rng = np.random.default_rng(seed)
    values = np.exp(rng.normal(size=n) - np.linspace(0, 30, n))
    values[rng.random(n) < 0.02] = np.nan
    values[0] = np.nan  # a gap first: nothing to average yet
    return values


def same(got: np.ndarray, want: list[float] | np.ndarray, rtol: float = 1e-12) -> None:
    want = np.asarray(want)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=rtol, atol=0)


@pytest.mark.parametrize("alpha", ON)
def test_the_ema_is_tensorboards(alpha: float) -> None:
    values = noisy_history(5000)
    same(debiased_ema(values, alpha), tensorboard_ema(values.tolist(), alpha))


def test_hand_worked_values_and_gaps() -> None:
    # α = 0.5: s1 = 0.5·2 = 1 → 1/0.5 = 2; the gap is skipped (t stays 1); s2 = 0.5·1 + 0.5·4
    # = 2.5 → 2.5/0.75; s3 = 0.5·2.5 + 0.5·0 = 1.25 → 1.25/0.875.
    got = Ema(0.5).feed(np.array([2.0, math.nan, 4.0, 0.0]))
    same(got, [2.0, math.nan, 2.5 / 0.75, 1.25 / 0.875], rtol=1e-15)
    # A constant is itself, from the first value: the debiasing undoes s_0 = 0.
    same(debiased_ema(np.full(50, 3.0), 0.99), np.full(50, 3.0), rtol=1e-13)
    assert np.isnan(debiased_ema(np.array([math.nan, math.nan]), 0.9)).all()


@pytest.mark.parametrize("alpha", ON)
def test_fed_in_pieces_it_is_what_it_is_whole(alpha: float) -> None:
    values = noisy_history(20_000, seed=1)
    whole = debiased_ema(values, alpha)
    rng = np.random.default_rng(2)
    cuts = np.sort(rng.choice(np.arange(1, len(values)), size=300, replace=False))
    ema = Ema(alpha)
    pieces = np.concatenate([ema.feed(piece) for piece in np.split(values, cuts)])
    same(pieces, whole, rtol=1e-13)


def test_a_smoothed_series_follows_its_source_reading_only_new_epochs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fed: list[int] = []
    feed = Ema.feed

    def counting(self: Ema, values: np.ndarray) -> np.ndarray:
        fed.append(len(values))
        return feed(self, values)

    monkeypatch.setattr(Ema, "feed", counting)
    values = noisy_history(3000, seed=3)
    source, smoothed = MinMaxSeries(), SmoothedSeries(0.9)
    for start in range(0, 3000, 250):  # epochs arrive; a frame is drawn between
        for value in values[start : start + 250]:
            source.append(float(value))
        smoothed.sync(source)
        smoothed.sync(source)  # a second frame with nothing new reads nothing
    assert fed == [250] * 12
    same(smoothed.series.values(), tensorboard_ema(values.tolist(), 0.9))


def test_a_new_strength_starts_over_and_off_is_the_raw_series() -> None:
    source = MinMaxSeries()
    values = noisy_history(500, seed=4)
    source.extend(values)
    smoother = Smoother()
    assert not smoother.on and smoother.smoothed(source) is source
    smoother.set_strength(0.6)
    same(smoother.smoothed(source).values(), tensorboard_ema(values.tolist(), 0.6))
    smoother.set_strength(0.95)
    same(smoother.smoothed(source).values(), tensorboard_ema(values.tolist(), 0.95))


def test_a_million_epochs_smooth_from_scratch_as_one_pass() -> None:
    """A strength change over a million-epoch history recomputes it whole, vectorised: the
    same numbers as the loop, checked at a sample of epochs (the loop itself takes ~1 s)."""
    values = noisy_history(10**6, seed=5)
    got = debiased_ema(values, 0.99)
    want = tensorboard_ema(values.tolist(), 0.99)
    sample = np.arange(0, 10**6, 997)
    same(got[sample], np.asarray(want)[sample])


# ----- in the explorer ------------------------------------------------------------------------


def noisy_app() -> WeightDecayApp:
    # Minibatch means: a noisy train loss, what smoothing is for.
    return make_app(preset="poly", epochs=300, train_loss="batch-mean", seed=0)


def frame(chart: LossChart) -> Text:
    text = chart.render()
    assert isinstance(text, Text)
    return text


def colours(text: Text) -> set[str]:
    found = set()
    for span in text.spans:
        triplet = getattr(getattr(span.style, "color", None), "triplet", None)
        if triplet is not None and text.plain[span.start : span.end].strip():
            found.add(triplet.hex)
    return found


def hexed(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def panel(chart: LossChart, name: str) -> PanelPlan:
    width, height = chart.size.width, chart.size.height
    (plan,) = [p for p in chart.plan(width, height) if p.name == name]
    return plan


def reference_curve(
    run: RunState, chart: LossChart, alpha: float, end: int = 0, log_x: bool = False
) -> tuple[list[float], list[float]]:
    """The train curve the chart should draw of `run` (on an axis to epoch `end`, by default
    its own last): the loop's EMA, bucketed as any series is, one line through each bucket's
    middle (in axis units: log10 of the loss)."""
    smoothed = MinMaxSeries()
    smoothed.extend(np.array(tensorboard_ema(run.train.values().tolist(), alpha)))
    columns = max(10, chart.size.width - 12)
    env = envelope(smoothed, columns, end or run.epochs_seen, True, log_x)
    assert env is not None
    xs, lows, highs = env
    return xs, [(lo + hi) / 2 for lo, hi in zip(lows, highs, strict=True)]


def close(got: list[float], want: list[float]) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


async def press(pilot: Pilot, key: str, chart: LossChart, shown: str) -> Text:
    """Press a key and wait until the chart's frame says `shown` (or, "", says no strength)."""
    await keys(pilot, key)
    await wait_for(
        pilot,
        lambda: (shown in frame(chart).plain) if shown else "smoothed" not in frame(chart).plain,
        f"the chart to say {shown or 'no smoothing'!r} after {key}",
    )
    return frame(chart)


@sync
async def test_m_smooths_the_curves_and_says_how_much_and_shift_m_goes_back() -> None:
    app = noisy_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        run = live_of(pilot).current
        assert run is not None
        chart = app.query_one(LossChart)
        raw = frame(chart)
        assert "smoothed" not in raw.plain

        smoothed = await press(pilot, "m", chart, "train (log, smoothed 0.6)")
        assert "test (log, smoothed 0.6)" in smoothed.plain
        await wait_for(pilot, lambda: "logy,smoothed0.6" in legend(app), "the legend's tag")
        assert smoothed.plain != raw.plain  # the curves moved
        # The raw curve is still there, faint: the same hue, darker.
        assert hexed(dim(TRAIN_COLOR, RAW_SHADE)) in colours(smoothed)
        assert hexed(dim(TRAIN_COLOR, RAW_SHADE)) not in colours(raw)
        # What is drawn on top is the loop's EMA, bucket by bucket.
        (smooth_curve,) = [c for c in panel(chart, "train").curves if c.color == TRAIN_COLOR]
        xs, middle = reference_curve(run, chart, 0.6)
        close(smooth_curve.xs, xs)
        close(smooth_curve.lows, middle)
        close(smooth_curve.highs, middle)

        for strength in ("0.8", "0.9", "0.95", "0.99"):
            await press(pilot, "m", chart, f"smoothed {strength})")
        off = await press(pilot, "m", chart, "")  # past 0.99: off
        assert off.plain == raw.plain and off.spans == raw.spans  # exactly as before
        await wait_for(pilot, lambda: "smoothed" not in legend(app), "the legend untagged")

        await press(pilot, "M", chart, "smoothed 0.99)")  # back, from off: the strongest
        for strength in ("0.95", "0.9", "0.8", "0.6"):
            await press(pilot, "M", chart, f"smoothed {strength})")
        off = await press(pilot, "M", chart, "")
        assert off.plain == raw.plain


def legend(app: WeightDecayApp) -> str:
    return shown_text(app.explorer, "#legend")


@sync
async def test_at_80x24_the_legend_names_the_strength_for_both_panels() -> None:
    """The test panel's title has no room for the strength beside its dotted line's name:
    then no panel names it (a train panel alone saying 'smoothed' would make the test panel
    read as raw), and the legend, under both, does."""
    app = noisy_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        chart = app.query_one(LossChart)
        await keys(pilot, "m", "m", "m")
        await wait_for(pilot, lambda: "logy,smoothed0.9" in legend(app), "the legend's tag")
        shown = frame(chart).plain
        assert "test (log)" in shown and "train (log)" in shown and "smoothed" not in shown
        assert hexed(dim(TRAIN_COLOR, RAW_SHADE)) in colours(frame(chart))


@sync
async def test_smoothing_with_a_log_epoch_axis_and_in_the_other_views() -> None:
    app = noisy_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        run = live_of(pilot).current
        assert run is not None
        chart = app.query_one(LossChart)
        await keys(pilot, "x")
        await wait_for(pilot, lambda: "epoch (log)" in frame(chart).plain, "the log epoch axis")
        await press(pilot, "m", chart, "train (log, smoothed 0.6)")
        (smooth_curve,) = [c for c in panel(chart, "train").curves if c.color == TRAIN_COLOR]
        xs, middle = reference_curve(run, chart, 0.6, log_x=True)
        close(smooth_curve.xs, xs)
        close(smooth_curve.highs, middle)
        await keys(pilot, "v")  # a regression: ‖w‖² next
        await wait_for(
            pilot,
            lambda: "Σ‖w‖² penalized (log, smoothed 0.6)" in frame(chart).plain,
            "the ‖w‖² view, smoothed",
        )


@sync
async def test_earlier_runs_are_smoothed_too_their_raw_curve_fainter_still() -> None:
    app = noisy_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        live = live_of(pilot)
        first = live.current
        await type_into(pilot, "lam", "0.01")
        await keys(pilot, "n")
        await wait_for(pilot, lambda: live.current is not first, "the new run")
        await settle(pilot)
        assert first is not None and live.earlier == [first]
        chart = app.query_one(LossChart)
        await press(pilot, "m", chart, "smoothed 0.6")
        overlay = OVERLAY_COLORS[0]
        drawn = {c.color for c in panel(chart, "train").curves}
        assert {overlay, dim(overlay, EARLIER_RAW_SHADE)} <= drawn
        (earlier_curve,) = [c for c in panel(chart, "train").curves if c.color == overlay]
        end = live.current.epochs_seen if live.current else 0
        xs, middle = reference_curve(first, chart, 0.6, end)
        close(earlier_curve.xs, xs)
        close(earlier_curve.highs, middle)
