"""The sweep view inside the explorer: `w` opens it over the live run, `a` hands the best λ to
the live trainer, and quitting leaves neither thread behind."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App
from textual.widgets import Input

from support.tui import (
    SIZE,
    keys,
    live_threads,
    make_app,
    open_sweep_view,
    running,
    send,
    sync,
    wait_for,
)
from tui.screens.sweep_screen import SweepScreen


def notices(app: App[object]) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


@sync
async def test_w_opens_a_sweep_whose_best_lambda_a_applies_to_the_live_run() -> None:
    app = make_app(preset="line", lr=0.025)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await keys(pilot, "asterisk")  # lr × 2 on the live run
        await wait_for(pilot, lambda: live.current.lr == 0.05, "the live lr to double")
        screen = await open_sweep_view(pilot, app)
        assert screen.config.lr == 0.05 and screen.config.preset == "line"  # the live settings
        # The live run trains "forever"; the sweep over its settings gets a finite length.
        screen.use_config(replace(screen.config, epochs=300))
        field = screen.query_one("#lams", Input)
        field.focus()
        send(app, "end", *["backspace"] * len(field.value))
        await wait_for(pilot, lambda: field.value == "", "the λ field to be cleared")
        send(app, *"0.001, 0.1, 1")
        await wait_for(pilot, lambda: field.value == "0.001, 0.1, 1", "the λ list")
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.sweep is not None, "the sweep to start")
        assert screen.sweep.config.lr == 0.05 and screen.sweep.config.epochs == 300
        await wait_for(pilot, screen.settled, "the sweep to finish", timeout=60)
        best = screen.sweep.best_lam()
        assert best in (0.001, 0.1, 1.0)
        await keys(pilot, "a")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the view to close")
        await wait_for(
            pilot,
            lambda: live.trainer is not None and live.trainer.lam == best,
            "the live trainer to use the best λ",
        )
        await wait_for(pilot, lambda: live.current.lam == best, "an epoch with the best λ")
        assert f"λ = {best:g}, the sweep's best, applied to the live run" in notices(app)


@sync
async def test_a_after_the_run_has_ended_sets_lambda_for_the_next_run_and_says_so() -> None:
    app = make_app(preset="line", epochs=20)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the live run to finish")
        run = live.current
        screen = await open_sweep_view(pilot, app)
        await keys(pilot, "enter")
        await wait_for(pilot, screen.settled, "the sweep to finish", timeout=60)
        best = screen.sweep.best_lam()
        assert best is not None
        await keys(pilot, "a")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the view to close")
        await wait_for(pilot, lambda: live.lam == best, "λ to be set")
        said = notices(app)
        assert f"λ = {best:g}, the sweep's best, set for the next run (r restarts)" in said
        assert not any("live run" in notice for notice in said)
        assert live.current is run and run.status == "completed"  # no run was started
        await keys(pilot, "r")
        await wait_for(pilot, lambda: live.current is not run, "the restart")
        assert live.current.config.lam == best


@sync
async def test_the_sweep_trains_on_behind_the_main_screen_and_quit_stops_both() -> None:
    app = make_app(preset="highdim")
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        screen = await open_sweep_view(pilot, app)
        # It sweeps the live run's settings: 10**6 epochs, so it is still training below.
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.running, "the sweep to run")
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the main screen")
        epoch = screen.sweep.epoch
        live_epoch = live.current.epoch
        await wait_for(pilot, lambda: screen.sweep.epoch > epoch + 5, "the sweep to go on")
        await wait_for(pilot, lambda: live.current.epoch > live_epoch + 5, "the run to go on")
        await keys(pilot, "q")
        await wait_for(pilot, lambda: not live_threads("wdtui-sweep"), "the sweep to stop")
    assert not live_threads("wdtui-sweep") and not live_threads("wdtui-trainer")
