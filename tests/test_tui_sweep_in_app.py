"""The sweep view inside the explorer: `w` opens it over the live run, `a` hands the best λ to
the live trainer (never a λ swept with other settings), and quitting leaves neither thread
behind."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App
from textual.widgets import Input, Select

from support.tui import (
    SIZE,
    keys,
    live_threads,
    make_app,
    open_sweep_view,
    running,
    send,
    shown_text,
    squash,
    sync,
    title_of,
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


@sync
async def test_a_highdim_sweep_is_stale_after_a_restart_on_poly_and_a_refuses_its_lambda() -> None:
    app = make_app(preset="highdim", epochs=30)
    live = app.explorer.live
    # 80×24: the words below must be there in full on the smallest screen.
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: live.current is not None, "the live run")
        screen = await open_sweep_view(pilot, app)
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.sweep is not None, "the sweep to start")
        await wait_for(pilot, screen.settled, "the highdim sweep to finish", timeout=60)
        best = screen.sweep.best_lam()
        assert best is not None and title_of(screen).startswith("λ sweep · highdim ")
        # Escape, preset poly in the controls, r: the live run is now a poly run.
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the main screen")
        app.query_one("#preset", Select).value = "poly"
        highdim_run = live.current
        await keys(pilot, "r")
        await wait_for(pilot, lambda: live.current is not highdim_run, "the restart")
        assert live.current.config.preset == "poly"
        lam = live.lam
        assert lam != best
        # w: the view names the highdim results' settings and says they are stale.
        assert await open_sweep_view(pilot, app) is screen
        await wait_for(pilot, lambda: shown_text(screen, "#sweep-stale") != "", "the stale line")
        assert title_of(screen).startswith("stale λ sweep · highdim · linear · sgd + l2 ")
        then, now = "highdim · lr 0.003 · 30 epochs", "poly · lr 0.01 · 400 epochs"
        assert shown_text(screen, "#sweep-stale") == squash(
            f"⚠ stale: these results are for {then}; the live run now has {now}. "
            "Enter sweeps the live run's settings."
        )
        old = squash(f"best λ = {best:g} for the old settings")
        await wait_for(pilot, lambda: old in shown_text(screen, "#sweep-readout"), "the readout")
        assert shown_text(screen, "#sweep-readout").endswith(squash("a will not apply it"))
        # a: refused, with its reason; the poly run's λ is unchanged.
        await keys(pilot, "a")
        refusal = f"not applied: λ = {best:g} is the best for {then}, not for the live run's {now}"
        await wait_for(pilot, lambda: refusal in notices(app), "the refusal")
        assert app.screen is screen  # the view stays open
        assert live.lam == lam and live.current.config.lam == lam
        assert live.trainer is not None and live.trainer.lam == lam
        assert not any("the sweep's best" in notice for notice in notices(app))
        # Enter sweeps the live run's settings: poly, current again, and a applies its best.
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.sweep.config.preset == "poly", "the poly sweep")
        await wait_for(pilot, screen.settled, "the poly sweep to finish", timeout=60)
        assert (
            title_of(screen).startswith("λ sweep · poly ")
            and shown_text(screen, "#sweep-stale") == ""
        )
        poly_best = screen.sweep.best_lam()
        assert poly_best is not None
        await keys(pilot, "a")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the view to close")
        await wait_for(pilot, lambda: live.lam == poly_best, "the poly sweep's best λ")


@sync
async def test_a_sweep_running_when_the_lr_changes_says_it_trains_for_the_old_settings() -> None:
    app = make_app(preset="highdim")
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        screen = await open_sweep_view(pilot, app)
        await keys(pilot, "enter")  # the live run's length: still training below
        await wait_for(
            pilot,
            lambda: screen.state is not None and screen.state.best_lam() is not None,
            "a best λ so far",
        )
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the main screen")
        await keys(pilot, "asterisk")  # lr × 2 on the live run: another sweep's question
        await wait_for(pilot, lambda: live.current.lr == 0.006, "the live lr to double")
        lam = live.lam
        await open_sweep_view(pilot, app)
        assert screen.running  # kept training, for the settings it started with
        assert title_of(screen).startswith("stale λ sweep · highdim ")
        assert "lr 0.003" in title_of(screen)
        assert shown_text(screen, "#sweep-stale") == squash(
            "⚠ still training for the old settings: this sweep is for lr 0.003; the live run "
            "now has lr 0.006. s stops it; then Enter sweeps the live run's settings."
        )
        await keys(pilot, "a")
        await wait_for(
            pilot, lambda: any(n.startswith("not applied") for n in notices(app)), "the refusal"
        )
        assert app.screen is screen and live.lam == lam and live.trainer.lam == lam
        await keys(pilot, "s")
        await wait_for(pilot, lambda: not screen.running, "the sweep to stop")
        await wait_for(
            pilot,
            lambda: shown_text(screen, "#sweep-stale").startswith("⚠stale:"),
            "the stale line",
        )
        # lr back to the sweep's: its results answer for the live run again.
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), "the main screen")
        await keys(pilot, "slash")
        await wait_for(pilot, lambda: live.current.lr == 0.003, "the live lr to halve")
        await open_sweep_view(pilot, app)
        assert shown_text(screen, "#sweep-stale") == ""
        assert title_of(screen).startswith("λ sweep · highdim ")
