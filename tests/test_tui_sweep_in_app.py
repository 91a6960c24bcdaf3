"""The sweep view inside the explorer: `w` opens it over the live run, `a` hands the best λ to
the live trainer (never a λ swept with other settings), and quitting leaves neither thread
behind."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Select

from support.tui import (
    SIZE,
    keys,
    live_threads,
    make_app,
    notices,
    open_sweep_view,
    running,
    send,
    shown_text,
    squash,
    sync,
    title_of,
    wait_for,
)
from tui.screens.explorer import RESTART_KEYS
from tui.screens.sweep_screen import SweepScreen


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
        assert f"λ = {best:g}, the sweep's best, is set for the next run ({RESTART_KEYS})" in said
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
        # The run length is the explorer's, kept across presets: only these differ.
        then, now = "highdim · lr 0.003", "poly · lr 0.01"
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


@sync
async def test_resizing_while_the_sweep_view_is_open_lays_the_explorer_out_on_return() -> None:
    """The explorer lays itself out for the terminal's width (-narrow below 110 columns). A
    screen gets no Resize while an opaque one hides it: here the command palette over the
    sweep view over the explorer. It catches up when it shows again."""
    app = make_app(preset="line")
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        explorer = app.explorer
        assert explorer.has_class("-narrow")
        screen = await open_sweep_view(pilot, app)
        await wait_for(pilot, lambda: screen.has_class("-narrow"), "the narrow sweep view")
        await keys(pilot, "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.resize_terminal(160, 40)
        await wait_for(pilot, lambda: not screen.has_class("-narrow"), "the wide sweep view")
        assert explorer.has_class("-narrow")  # hidden: not told
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is screen, "the sweep view")
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is explorer, "the main screen")
        await wait_for(pilot, lambda: not explorer.has_class("-narrow"), "the wide layout")
        assert app.query_one("#controls").region.width > 27  # the wide column, not -narrow's
        # And back to 80 columns with the palette over the sweep view: narrow on return.
        await open_sweep_view(pilot, app)
        await keys(pilot, "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: screen.has_class("-narrow"), "the narrow sweep view")
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is screen, "the sweep view")
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: explorer.has_class("-narrow"), "the narrow layout")


def readout_sq_norm(text: str) -> str:
    """The number after '‖w‖²' in a line of text."""
    return text.split("‖w‖²", 1)[1].split()[0]


@sync
async def test_the_sweep_reports_the_same_sq_norm_as_the_main_view() -> None:
    """‖w‖² everywhere: the sweep's member for the live run's λ, trained with its settings,
    reads the same Σ‖w‖² as the main view's readout (and the per-parameter ‖w‖ squared)."""
    app = make_app(preset="line", lam=0.1, epochs=200)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish")
        run = live.current
        assert run is not None and run.last is not None
        main = str(app.query_one("#readout").render())
        shown = readout_sq_norm(main)
        assert shown == f"{run.last.weight_sq_norm:.4g}"
        stats = app.query_one("#stats", DataTable)
        weight_norm = float(str(stats.get_cell("weight", "‖w‖")))
        assert weight_norm**2 == pytest.approx(run.last.weight_sq_norm, rel=1e-3)

        screen = await open_sweep_view(pilot, app)
        field = screen.query_one("#lams", Input)
        field.focus()
        send(app, "end", *["backspace"] * len(field.value))
        await wait_for(pilot, lambda: field.value == "", "the λ field to be cleared")
        send(app, *"0.1")
        await wait_for(pilot, lambda: field.value == "0.1", "the λ list")
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.sweep is not None, "the sweep to start")
        await wait_for(pilot, screen.settled, "the sweep to finish", timeout=60)
        state = screen.state
        assert state is not None and state.best_lam() == 0.1  # the one member
        assert readout_sq_norm(str(screen.query_one("#sweep-readout").render())) == shown
        assert squash(f"‖w‖² {shown}") in shown_text(screen, "#sweep-readout")
        assert str(screen.query_one("#norm-box").border_title) == "‖w‖² vs λ"
        assert shown_text(screen, "#norm-legend").startswith(squash("━ ‖w‖²"))
