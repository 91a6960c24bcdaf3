"""Pilot tests of the explorer: typing, keys, restarts, divergence, quitting.

Keys are posted the way the terminal driver posts them, and every wait polls a condition with a
timeout (tests/support/tui.py).
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Input, Select, Static

from engine.config import ConfigError, check_lr
from support.tui import (
    SIZE,
    epochs_advance,
    error_of,
    keys,
    make_app,
    running,
    send,
    status_of,
    sync,
    trainer_thread,
    type_into,
    wait_for,
    wait_for_thread_end,
)
from tui.app import WeightDecayApp, live_trainer_threads
from tui.palette_commands import screen_commands
from tui.screens.help_screen import HelpScreen
from tui.state.live_run import MAX_OVERLAYS
from tui.widgets.controls import Controls
from tui.widgets.loss_chart import LossChart

# ----- λ and lr -----------------------------------------------------------------------------


@sync
async def test_typed_lambda_and_lr_reach_the_trainer() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await type_into(pilot, "lam", "0.5")
        run = live.current
        assert run is not None
        # The run's λ comes from the trainer's Epoch events: the next epoch used it.
        await wait_for(pilot, lambda: run.lam == 0.5, "an epoch with λ = 0.5")
        assert live.trainer is not None and live.trainer.lam == 0.5
        assert any(m.text == "λ=0.5" for m in run.marks)

        await type_into(pilot, "lr", "0.02")
        await wait_for(pilot, lambda: run.lr == 0.02, "an epoch with lr = 0.02")
        assert live.trainer.lr == 0.02
        assert any(m.text == "lr=0.02" for m in run.marks)
        assert error_of(app, "lam") == "" and error_of(app, "lr") == ""


@pytest.mark.parametrize("field", ["lam", "lr"])
@sync
async def test_bad_values_show_an_error_and_are_not_applied(field: str) -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        assert live.trainer is not None
        before = (live.trainer.lam, live.trainer.lr)
        bad_values = ["", "abc", "-1", "nan", "inf", "1e999"] + (["0"] if field == "lr" else [])
        for bad in bad_values:
            await type_into(pilot, field, bad)
            message = error_of(app, field)
            assert message, f"no error shown for {bad!r}"
            assert "not applied" in message, message
            assert (live.trainer.lam, live.trainer.lr) == before, bad
            await epochs_advance(pilot)  # training goes on
            run = live.current
            assert run is not None and run.status == "running"
            assert (run.lam, run.lr) == before
        # Escape leaves the field and drops the unapplied edit.
        await type_into(pilot, field, "abc", enter=False)
        await keys(pilot, "escape")
        box = app.query_one(f"#{field}", Input)
        await wait_for(pilot, lambda: app.focused is None, "focus to leave the field")
        assert box.value == f"{before[0] if field == 'lam' else before[1]:g}"
        assert error_of(app, field) == ""
        # A good value clears the error and is applied.
        await type_into(pilot, field, "0.03")
        assert error_of(app, field) == ""
        await wait_for(
            pilot,
            lambda: (live.trainer.lam if field == "lam" else live.trainer.lr) == 0.03,  # type: ignore[union-attr]
            "the good value",
        )


@sync
async def test_errors_show_while_typing_before_enter() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await type_into(pilot, "lam", "-2", enter=False)
        assert "λ must be a finite number >= 0" in error_of(app, "lam")
        await type_into(pilot, "lr", "abc", enter=False)
        assert "learning rate must be a number" in error_of(app, "lr")


@sync
async def test_lambda_in_mode_none_is_refused_with_a_reason() -> None:
    app = make_app(reg="none")
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await type_into(pilot, "lam", "1")
        assert "mode 'none' has no penalty" in error_of(app, "lam")
        await epochs_advance(pilot)
        assert live.current is not None and live.current.lam == 0


@sync
async def test_step_keys_change_lambda_and_lr() -> None:
    app = make_app(lam=0.0, lr=0.01)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        assert run is not None
        lam_field = app.query_one("#lam", Input)
        lr_field = app.query_one("#lr", Input)
        await keys(pilot, "plus")
        await wait_for(pilot, lambda: run.lam == 1e-4, "λ 0 → 1e-4")
        assert lam_field.value == "0.0001"
        await keys(pilot, "plus")
        await wait_for(pilot, lambda: run.lam == pytest.approx(1e-3), "λ → 1e-3")
        await keys(pilot, "minus")
        await keys(pilot, "minus")
        await wait_for(pilot, lambda: run.lam == 0, "λ back to 0")
        assert lam_field.value == "0"
        await keys(pilot, "asterisk")
        await wait_for(pilot, lambda: run.lr == 0.02, "lr × 2")
        assert lr_field.value == "0.02"
        await keys(pilot, "slash", "slash")
        await wait_for(pilot, lambda: run.lr == 0.005, "lr ÷ 4")
        assert lr_field.value == "0.005"
        # Setting the fields from code is not typing: no error appeared.
        assert error_of(app, "lam") == "" and error_of(app, "lr") == ""


def largest_lr() -> float:
    """The largest power-of-two multiple of the float max that check_lr accepts: doubling it
    is refused (inf today; past float32's range if the engine checks that)."""
    lr = sys.float_info.max
    while True:
        try:
            return check_lr(lr)
        except ConfigError:
            lr /= 2


def smallest_lr() -> float:
    """The smallest power-of-two multiple of the least float that check_lr accepts: halving
    it is refused (0 today)."""
    lr = sys.float_info.min * sys.float_info.epsilon
    while True:
        try:
            return check_lr(lr)
        except ConfigError:
            lr *= 2


@pytest.mark.parametrize(("start", "key"), [(largest_lr, "asterisk"), (smallest_lr, "slash")])
@sync
async def test_lr_step_past_the_valid_range_is_refused_and_the_app_stays_up(
    start: Callable[[], float], key: str
) -> None:
    """Review finding: lr × 2 from 1e308 (inf) reached trainer.set_lr uncaught and ended the
    app with a traceback; on a finished run the field then showed inf."""
    lr = start()
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await keys(pilot, "space")  # paused: the run stays active at this lr
        await wait_for(pilot, lambda: "● paused" in status_of(app), "the run to pause")
        await type_into(pilot, "lr", repr(lr))
        trainer = live.trainer
        assert trainer is not None
        await wait_for(pilot, lambda: trainer.lr == lr, "the trainer to take the lr")
        await wait_for(pilot, lambda: app.focused is None, "Enter to leave the field")
        await keys(pilot, key)
        await wait_for(pilot, lambda: "not applied" in error_of(app, "lr"), "the error")
        assert "learning rate must be" in error_of(app, "lr")
        assert app.is_running and app.return_code is None
        assert trainer.lr == lr and live.lr == lr
        assert live.current is not None and live.current.status == "paused"
        # A run that has ended: the step is checked as well, and nothing is stored.
        await keys(pilot, "s")
        await wait_for(pilot, lambda: not live.active, "the run to stop")
        app.query_one(Controls).show_error("lr", "")
        await keys(pilot, key)
        await wait_for(pilot, lambda: "not applied" in error_of(app, "lr"), "the error again")
        assert live.lr == lr
        assert app.query_one("#lr", Input).value == f"{lr:g}"


@sync
async def test_lambda_step_past_the_float_range_on_an_ended_run_is_refused() -> None:
    app = make_app(epochs=5)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish")
        live.lam = sys.float_info.max  # as a typed 1.7e308 would leave it
        await keys(pilot, "plus")
        await wait_for(pilot, lambda: "not applied" in error_of(app, "lam"), "the error")
        assert "λ must be" in error_of(app, "lam")
        assert live.lam == sys.float_info.max


# ----- keys -----------------------------------------------------------------------------------


@sync
async def test_log_toggle_redraws_the_chart() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # Long enough for the loss (13.6 → 0.99) to span a decade: ticks 1e0 and 1e1.
        await running(pilot, min_epoch=1000)
        chart = app.query_one(LossChart)
        since = time.perf_counter()
        await wait_for(pilot, lambda: chart.painted_at > since, "a fresh frame")
        legend = app.query_one("#legend", Static)
        await wait_for(pilot, lambda: chart.painted_log_y is True, "a log-y frame")
        # Log y: decade tick labels (1e0, 1e1) drawn by hand on a log10 axis.
        assert re.search(r"1e-?\d", str(chart.render()))
        assert "log y" in str(legend.render())
        await keys(pilot, "y")
        await wait_for(pilot, lambda: chart.painted_log_y is False, "a linear frame")
        assert app.explorer.log_y is False
        assert not re.search(r"1e-?\d", str(chart.render()))
        assert "linear y" in str(legend.render())
        await keys(pilot, "y")
        await wait_for(pilot, lambda: chart.painted_log_y is True, "log-y again")


@sync
async def test_pause_resume_and_stop() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        assert run is not None
        await keys(pilot, "space")
        await wait_for(pilot, lambda: "● paused" in status_of(app), "the status to say paused")
        held = run.epoch
        await pilot.pause(0.3)
        assert run.epoch <= held + 1  # at most the epoch in flight finishes
        await keys(pilot, "space")
        await wait_for(pilot, lambda: "● running" in status_of(app), "running again")
        await epochs_advance(pilot)
        await keys(pilot, "s")
        await wait_for(pilot, lambda: "● stopped" in status_of(app), "the status to say stopped")
        assert live.trainer is not None and live.trainer.join(5)
        assert "stopped by request" in status_of(app)


@sync
async def test_restart_replaces_the_run_and_new_run_keeps_it() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot, min_epoch=50)
        first = live.current
        assert first is not None
        await keys(pilot, "r")
        await wait_for(pilot, lambda: live.current is not first, "a restarted run")
        assert live.earlier == []
        assert first.status == "stopped"
        assert len(live_trainer_threads()) <= 1
        second = live.current
        assert second is not None
        await running(pilot, min_epoch=5)

        await type_into(pilot, "lam", "3")
        await wait_for(pilot, lambda: second.lam == 3, "λ = 3")
        await keys(pilot, "n")
        await wait_for(pilot, lambda: live.current is not second, "a new run")
        assert live.earlier == [second]
        assert second.label == "λ=0.01→3 sgd"  # λ changed during that run
        await running(pilot)
        legend = app.query_one("#legend", Static)
        await wait_for(pilot, lambda: "λ=0.01→3 sgd" in str(legend.render()), "old legend")
        assert len(live_trainer_threads()) == 1


@sync
async def test_only_the_earlier_runs_that_are_drawn_are_kept() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        runs = []
        for _ in range(MAX_OVERLAYS + 3):
            await running(pilot, min_epoch=1)
            runs.append(live.current)
            await keys(pilot, "n")
            await wait_for(pilot, lambda: live.current is not runs[-1], "a new run")
            assert len(live.earlier) <= MAX_OVERLAYS
        # The newest ones, oldest first; the older runs (and their loss histories) are gone.
        assert live.earlier == runs[-MAX_OVERLAYS:]
        legend = app.query_one("#legend", Static)
        await wait_for(pilot, lambda: "earlier" in str(legend.render()), "the earlier legend")


@sync
async def test_restart_applies_mode_optimizer_preset_and_epochs() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        app.query_one("#optim", Select).value = "adamw"
        app.query_one("#mode", Select).value = "wd"
        await type_into(pilot, "epochs", "123", enter=False)
        await keys(pilot, "escape")
        await keys(pilot, "r")
        await wait_for(
            pilot,
            lambda: live.current is not None and live.current.config.optimizer == "adamw",
            "an adamw run",
        )
        config = live.current.config  # type: ignore[union-attr]
        assert (config.reg, config.epochs, config.preset) == ("wd", 123, "line")
        assert "wd + adamw" in status_of(app)

        app.query_one("#preset", Select).value = "highdim"
        await keys(pilot, "r")
        await wait_for(
            pilot,
            lambda: live.current is not None and live.current.config.preset == "highdim",
            "a highdim run",
        )
        # A new problem takes its own λ and lr defaults.
        assert live.current is not None
        assert (live.current.lam, live.current.lr) == (0.0, 0.003)
        assert app.query_one("#lr", Input).value == "0.003"


@sync
async def test_diverging_run_is_reported_and_the_app_stays_usable() -> None:
    app = make_app(lr=1e6, epochs=1000)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "● diverged" in status_of(app), "divergence")
        assert "diverged at epoch" in status_of(app)
        await type_into(pilot, "lr", "0.01")
        await keys(pilot, "escape", "r")
        await wait_for(
            pilot,
            lambda: live.current is not None and live.current.status == "completed",
            "the restarted run to complete",
        )
        assert live.current is not None and live.current.lr == 0.01
        assert "● completed" in status_of(app)


@sync
async def test_help_screen_opens_and_closes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        await keys(pilot, "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        # The screen is current before its children are mounted: wait for the text too.
        await wait_for(pilot, lambda: bool(app.screen.query("Markdown")), "the help text")
        text = app.screen.query_one("Markdown").source  # type: ignore[attr-defined]
        assert "weight_decay = 2λ" in text and "AdamW" in text
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "help to close")
        await epochs_advance(pilot)  # the run trained on behind the help screen


@sync
async def test_every_action_is_in_the_command_palette() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        titles = " ".join(c.title for c in screen_commands(app.screen))
        for action in ("Pause", "Stop", "Restart", "New", "Linear y", "Help", "λ↑", "lr÷2"):
            assert action in titles, action


@sync
async def test_small_linear_model_shows_weights_beside_the_ridge_optimum() -> None:
    app = make_app(preset="line", epochs=3000, lr=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        values = app.query_one("#values")
        assert values.display
        row = values.get_row("weight:0")  # type: ignore[attr-defined]
        label, value, optimum, true = row
        assert str(label) == "w·x" and true == "3"
        # SGD on this convex problem ends at the closed-form optimum.
        assert float(value) == pytest.approx(float(optimum), rel=1e-3)


def value_columns(app: WeightDecayApp) -> list[str]:
    values = app.query_one("#values", DataTable)
    return [str(column.label) for column in values.ordered_columns]


@sync
async def test_adamw_with_decoupled_decay_shows_no_ridge_optimum() -> None:
    """AdamW + wd has another fixed point than MSE + λ‖w‖²: no 'optimum' column then; it
    comes back on a restart with an optimizer that does reach it."""
    app = make_app(preset="line", epochs=300, optimizer="adamw", reg="wd", lam=0.1)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the AdamW run to finish")
        await pilot.pause(0.1)
        values = app.query_one("#values", DataTable)
        assert values.display
        assert value_columns(app) == ["weight", "value", "true"]
        assert "optimum" not in str(values.border_title)
        label, value, true = values.get_row("weight:0")
        assert str(label) == "w·x" and value and true == "3"

        app.query_one("#optim", Select).value = "sgd"
        await keys(pilot, "r")
        await wait_for(
            pilot,
            lambda: live.current is not None and live.current.config.optimizer == "sgd",
            "an sgd run",
        )
        await wait_for(pilot, app.explorer.settled, "the sgd run to finish")
        await pilot.pause(0.1)
        assert value_columns(app) == ["weight", "value", "optimum", "true"]
        assert values.get_row("weight:0")[2] != ""  # the closed form, filled in
        assert str(values.border_title).startswith("weights vs ridge optimum (λ=0.1)")


@sync
async def test_quit_from_an_input_leaves_no_trainer_thread() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        app.query_one("#lam", Input).focus()
        await pilot.pause(0.05)
        assert app.focused is app.query_one("#lam", Input)
        thread = trainer_thread()
        send(app, "ctrl+q")  # a priority binding: the focused Input cannot swallow it
        await wait_for_thread_end(thread)
    assert not live_trainer_threads()


@sync
async def test_q_quits_mid_run_and_joins_the_trainer() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        thread = trainer_thread()
        send(app, "q")
        await wait_for_thread_end(thread)
    assert not live_trainer_threads()


@sync
async def test_leaving_the_app_any_way_stops_the_trainer() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
    # The test harness tearing the app down (no quit key) still stops and joins it.
    assert not live_trainer_threads()


@sync
async def test_mode_none_restarts_at_lambda_zero_and_l2_brings_the_lambda_back() -> None:
    """λ in mode none is 0 (the engine refuses another); the λ chosen before comes back with
    l2 or wd."""
    app = make_app(lam=0.5)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        for mode, lam in (("none", 0.0), ("l2", 0.5), ("none", 0.0), ("wd", 0.5)):
            run = live.current
            app.query_one("#mode", Select).value = mode
            await keys(pilot, "r")
            await wait_for(pilot, lambda run=run: live.current is not run, f"a {mode} run")
            assert live.current is not None
            assert (live.current.config.reg, live.current.config.lam) == (mode, lam)
            await running(pilot, min_epoch=1)
            assert live.current.lam == lam


# ----- the parameters panel -----------------------------------------------------------------


def stats_column(app: WeightDecayApp, column: str) -> dict[str, str]:
    stats = app.query_one("#stats", DataTable)
    return {str(row.key.value): str(stats.get_cell(row.key, column)) for row in stats.ordered_rows}


@sync
async def test_mode_none_shows_every_parameter_unpenalized() -> None:
    app = make_app(reg="none", epochs=20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        assert stats_column(app, "penalized") == {"weight": "no", "bias": "no"}
    app = make_app(reg="l2", epochs=20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        assert stats_column(app, "penalized") == {"weight": "yes", "bias": "no"}


@sync
async def test_a_diverged_run_shows_the_weights_it_diverged_with() -> None:
    """Statistics come 4 times a second; the diverging epoch brings its own, so the table
    agrees with the readout's ‖w‖² instead of showing an earlier epoch's finite weights."""
    app = make_app(lr=50.0, epochs=1000)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to diverge and settle")
        run = live.current
        assert run is not None and run.status == "diverged" and run.last is not None
        norm = float(stats_column(app, "‖w‖")["weight"])
        sq_norm = run.last.weight_sq_norm
        if math.isfinite(sq_norm):
            assert norm**2 == pytest.approx(sq_norm, rel=1e-3) and sq_norm > 1e30
        else:
            assert not math.isfinite(norm)


@sync
async def test_csv_weights_say_they_are_standardized_and_have_no_true_column(tmp_path) -> None:
    data = tmp_path / "houses.csv"
    rows = [f"{r},{3 * r % 7},{2 * r + 1}" for r in range(40)]
    data.write_text("rooms,age,price\n" + "\n".join(rows) + "\n")
    app = make_app(preset=None, data=str(data), target="price", epochs=20)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        values = app.query_one("#values", DataTable)
        assert values.display
        assert value_columns(app) == ["weight", "value", "optimum"]
        # On the stats table: the values table's subtitle says how near the optimum it is.
        assert "per standardized feature" in str(app.query_one("#stats", DataTable).border_subtitle)
        assert str(values.get_row("weight:0")[0]) == "w·rooms"
    app = make_app(preset="line", epochs=20)  # a preset: its true weights, on its own scale
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        assert value_columns(app) == ["weight", "value", "optimum", "true"]
        assert "standardized" not in str(app.query_one("#values", DataTable).border_subtitle)
        assert not app.query_one("#stats", DataTable).border_subtitle
