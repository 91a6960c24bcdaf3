"""The explorer's pace keys ([ and ]), its one-epoch step (.) and what keys say once a run has
ended, driven through the Pilot."""

from __future__ import annotations

from engine.config import RunConfig
from support.tui import (
    LONG,
    SIZE,
    keys,
    live_of,
    make_app,
    notices,
    running,
    status_of,
    sync,
    wait_for,
)
from tui.app import WeightDecayApp
from tui.screens.explorer import RESTART_KEYS
from tui.state.pace import DEFAULT_PACE, PACES, faster_pace, slower_pace


def test_the_pace_steps_through_its_levels_and_stops_at_the_ends() -> None:
    caps = [p for p in PACES if p is not None]
    up, pace = [], caps[0]
    while pace is not None:
        pace = faster_pace(pace)
        up.append(pace)
    assert up == [*caps[1:], None] and faster_pace(None) is None
    assert slower_pace(None) == caps[-1] and slower_pace(caps[0]) == caps[0]
    assert slower_pace(faster_pace(DEFAULT_PACE)) == DEFAULT_PACE
    assert faster_pace(12.5) == 30 and slower_pace(12.5) == 10  # from a --pace between levels


@sync
async def test_pace_keys_change_the_cap_shown_in_the_status_line() -> None:
    app = WeightDecayApp(RunConfig(preset="highdim", epochs=LONG, save=False), pace=DEFAULT_PACE)
    async with app.run_test(size=SIZE) as pilot:
        live = live_of(pilot)
        await running(pilot, min_epoch=2)
        assert "cap 10/s" in status_of(app)
        await keys(pilot, "right_square_bracket")
        await wait_for(pilot, lambda: "cap 30/s" in status_of(app), "the faster pace shown")
        assert live.pace == 30
        await keys(pilot, *["right_square_bracket"] * 5)
        await wait_for(pilot, lambda: "no cap" in status_of(app), "no cap shown")
        assert live.pace is None
        # Uncapped, highdim trains hundreds of epochs a second: far past what 10/s allows.
        start = live.current.epoch  # type: ignore[union-attr]
        await wait_for(pilot, lambda: live.current.epoch > start + 200, "uncapped epochs")  # type: ignore[union-attr]
        await keys(pilot, "left_square_bracket")
        await wait_for(pilot, lambda: "cap 1,000/s" in status_of(app), "the slower pace shown")


@sync
async def test_a_new_run_keeps_the_pace() -> None:
    app = WeightDecayApp(RunConfig(preset="highdim", epochs=LONG, save=False), pace=DEFAULT_PACE)
    async with app.run_test(size=SIZE) as pilot:
        live = live_of(pilot)
        await running(pilot, min_epoch=1)
        await keys(pilot, "left_square_bracket")
        await wait_for(pilot, lambda: live.pace == 3, "pace 3")
        first = live.current
        await keys(pilot, "n")
        await wait_for(pilot, lambda: live.current is not first, "a new run")
        assert live.trainer is not None and live.trainer._pace == 3


@sync
async def test_full_stop_while_paused_trains_exactly_one_epoch() -> None:
    app = make_app(preset="highdim")
    async with app.run_test(size=SIZE) as pilot:
        live = live_of(pilot)
        await running(pilot)
        await keys(pilot, "space")
        run = live.current
        assert run is not None
        await wait_for(pilot, lambda: run.status == "paused", "paused")
        at = run.epoch
        for n in (1, 2, 3):
            await keys(pilot, "full_stop")
            await wait_for(pilot, lambda n=n: run.epoch == at + n, f"epoch {at + n}")
            await wait_for(pilot, lambda: run.status == "paused", "paused again")
        assert run.epoch == at + 3  # nothing ran on past the steps
        assert f" {at + 3:,}/" in status_of(app)


@sync
async def test_full_stop_while_running_says_how_to_use_it() -> None:
    app = make_app(preset="highdim")
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await keys(pilot, "full_stop")
        await wait_for(pilot, lambda: any("while paused" in n for n in notices(app)), "the hint")
        assert live_of(pilot).current.status == "running"  # type: ignore[union-attr]


@sync
async def test_keys_after_the_run_has_ended_say_what_they_do() -> None:
    app = make_app(preset="line", epochs=5)
    async with app.run_test(size=SIZE) as pilot:
        live = live_of(pilot)
        await wait_for(
            pilot, lambda: live.current is not None and live.current.status == "completed", "end"
        )
        run = live.current
        ended = f"the run has ended: {RESTART_KEYS}"
        for key in ("space", "s", "full_stop"):
            app.clear_notifications()
            app.explorer._told = ""  # forget the last message: each key must say it
            await keys(pilot, key)
            await wait_for(pilot, lambda: notices(app) == [ended], f"{key} said")
        await keys(pilot, "space", "s", "full_stop", "space")
        await pilot.pause(0.2)
        assert notices(app) == [ended]  # said once, not stacked over the chart
        app.clear_notifications()
        await keys(pilot, "plus")
        await wait_for(pilot, lambda: live.lam == 0.1, "λ × 10 for the next run")
        assert notices(app)[-1] == f"λ = 0.1 is set for the next run ({RESTART_KEYS})"
        await keys(pilot, "asterisk")
        await wait_for(pilot, lambda: live.lr == 0.02, "lr × 2")
        assert notices(app)[-1] == f"lr = 0.02 is set for the next run ({RESTART_KEYS})"
        assert live.current is run and run is not None and run.status == "completed"
        await keys(pilot, "r")
        await wait_for(pilot, lambda: live.current is not run, "the restart")
        assert live.current is not None
        assert (live.current.config.lam, live.current.config.lr) == (0.1, 0.02)
