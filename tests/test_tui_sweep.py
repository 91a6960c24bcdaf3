"""The sweep view: its λ field, its state and charts' helpers, the engine's live weights, and
the screen's keys through the Pilot, hosted in a tiny app wired the way the explorer wires it.

Every wait polls a condition with a timeout; nothing assumes a fixed sleep is long enough.
Regenerate the snapshot with: .venv/bin/pytest tests/test_tui_sweep.py --snapshot-update
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from engine.config import ConfigError, RunConfig
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished, member_warnings
from engine.sweep.lams import default_grid, edge_note
from engine.sweep.runner import Sweep
from support.tui import (
    LONG,
    SIZE,
    SweepHost,
    live_threads,
    shown_text,
    squash,
    sync,
    title_of,
    wait_for,
)
from tui.palette_commands import binding_commands
from tui.screens.sweep_screen import SweepScreen
from tui.state.sweep_state import SweepState
from tui.theme import TEST_COLOR, TRAIN_COLOR
from tui.widgets.sweep_charts import (
    BASELINE_LABEL,
    ValidationChart,
    clip,
    curve_legend,
    lam_positions,
    norm_legend,
    path_legend,
)
from tui.widgets.sweep_input import DEFAULT_TEXT, parse_sweep_lams
from tui.widgets.sweep_text import readout_text, warning_text
from tui.widgets.ticks import pow10_ticks


def line_config(**overrides: object) -> RunConfig:
    settings: dict[str, object] = {"preset": "line", "seed": 0, "save": False}
    settings.update(overrides)
    return RunConfig(**settings)  # type: ignore[arg-type]


def screen_of(pilot: Pilot) -> SweepScreen:
    return pilot.app.sweep_screen  # type: ignore[attr-defined]


def text_of(screen: SweepScreen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


async def type_lams(pilot: Pilot, text: str) -> None:
    """Focus the λ field with its key, clear it, type `text` (no Enter)."""
    screen = screen_of(pilot)
    await pilot.press("l")
    field = screen.query_one("#lams", Input)
    assert screen.focused is field
    await pilot.press("end", *["backspace"] * len(field.value), *text)
    assert field.value == text


def no_thread_left() -> bool:
    return not live_threads("wdtui-sweep")


# ----- the λ field ----------------------------------------------------------------------------


def test_default_text_is_the_engines_default_grid() -> None:
    assert parse_sweep_lams(DEFAULT_TEXT) == default_grid()


def test_lists_grids_and_zero_mix_sorted_without_duplicates() -> None:
    assert parse_sweep_lams("0.1, 0, 0.1") == [0.0, 0.1]
    assert parse_sweep_lams("1e-3:10:5, +0") == pytest.approx([0, 1e-3, 1e-2, 1e-1, 1, 10])
    assert parse_sweep_lams(" 1e-2 ") == [0.01]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "give λ values"),
        ("0,,1", "empty entry"),
        ("abc", "λ must be a number"),
        ("-1", ">= 0"),
        ("inf", "finite"),
        ("1e-4:1e2", "START:STOP:N"),
        ("0:1:3", "grid START"),
        ("1:0.1:3", "grid STOP"),
        ("1e-3:1:1", "grid N"),
        ("1:1e9:5000", "at most 4096"),
    ],
)
def test_bad_lam_text_is_one_line_without_cli_flags(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_sweep_lams(text)
    message = str(info.value)
    assert words in message and "\n" not in message and "--" not in message


# ----- helpers of the charts and the state ----------------------------------------------------


def test_lambda_zero_sits_one_decade_left_of_the_smallest_positive_lambda() -> None:
    xs, zero_x = lam_positions([0.0, 1e-3, 0.1])
    assert xs == pytest.approx([-4.0, -3.0, -1.0]) and zero_x == pytest.approx(-4.0)
    assert lam_positions([1e-3, 0.1])[1] is None


def test_decade_ticks_are_anchored_and_fit_the_slots() -> None:
    assert pow10_ticks(-4.2, 2.1, 10) == [-4, -3, -2, -1, 0, 1, 2]
    assert pow10_ticks(-4.2, 2.1, 3) == [-3, 0]
    few = pow10_ticks(-0.7, 0.85, 3)  # under two decades: 1-3 steps
    assert 2 <= len(few) <= 3 and 0.0 in few


def test_clip_keeps_what_is_in_view_and_cuts_at_the_edges() -> None:
    runs = clip([0, 1, 2, 3], [0, 5, 1e9, 5], -1, 10)
    assert runs[0][0][:2] == [0, 1] and runs[0][1][-1] == 10
    assert runs[1][1] == [10, 5]
    assert all(-1 <= y <= 10 for _, ys in runs for y in ys)
    ((xs, ys),) = clip([0, 1], [-1e9, 1e9], -1, 10)  # straight across: one edge to the other
    assert ys == [-1, 10] and all(0 < x < 1 for x in xs)


def _state_with(train: list[float], test: list[float] | None) -> SweepState:
    state = SweepState([0.0, 0.01, 0.1, 1.0, 10.0], 5)
    sq = tuple(1.0 for _ in train)
    state.apply(SweepEpoch(1, tuple(train), None if test is None else tuple(test), sq, 0.1))
    return state


def test_best_lambda_so_far_is_the_lowest_test_loss_then_the_train_loss() -> None:
    assert _state_with([1, 2, 3, 4, 5], [5, 4, 1, 2, 3]).best_lam() == 0.1
    assert _state_with([3, 1, 2, 4, 5], None).best_lam() == 0.01


def test_a_blown_up_member_is_off_scale_but_a_wide_smooth_spread_is_not() -> None:
    assert _state_with([0.04, 0.05, 0.1, 7.0, 1e37], None).off_scale() == {4}
    assert _state_with([1e-16, 1e-11, 1e-6, 1e-3, 0.02], None).off_scale() == set()
    assert _state_with([0.04, 0.05, 0.1, 1e3, 1e10], None).off_scale() == {4}


# ----- the engine's live weights ---------------------------------------------------------------


def _sweep_events(**settings: object) -> tuple[Sweep, list[SweepEvent]]:
    events: list[SweepEvent] = []
    sweep = Sweep(line_config(**settings), [0.0, 0.1, 1.0], events.append)
    sweep.run()
    return sweep, events


def test_live_weights_are_throttled_and_the_last_ones_are_the_results() -> None:
    _, events = _sweep_events(epochs=3000)
    epochs = [e for e in events if isinstance(e, SweepEpoch)]
    weighted = [e for e in epochs if e.weights is not None]
    assert 2 <= len(weighted) < len(epochs) / 5  # ~20 a second, never every epoch
    assert epochs[-1].weights is not None  # the last epoch always carries them
    (finished,) = [e for e in events if isinstance(e, SweepFinished)]
    for row, result in zip(epochs[-1].weights, finished.results, strict=True):
        assert list(row) == [*result.weights["weight"][0], *result.weights["bias"]]
    assert "weights" not in epochs[-1].to_json()


def test_no_live_weights_for_a_large_model() -> None:
    _, events = _sweep_events(preset="highdim", epochs=3)
    assert all(e.weights is None for e in events if isinstance(e, SweepEpoch))


# ----- the screen, through the Pilot -----------------------------------------------------------


@sync
async def test_a_typed_list_sweeps_and_the_best_lambda_shown_is_the_engines_argmin() -> None:
    lams = [0.0, 0.01, 0.1, 1.0]
    config = line_config(epochs=300)
    _, events = (lambda ev: (Sweep(config, lams, ev.append).run(), ev))([])
    (finished,) = [e for e in events if isinstance(e, SweepFinished)]
    scores = {r.lam: r.test_loss for r in finished.results}
    argmin = min(scores, key=lambda lam: scores[lam])  # type: ignore[arg-type,return-value]

    async with SweepHost(config).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_lams(pilot, "0.1, 0, 1, 0.01")
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        assert screen.sweep is not None and screen.sweep.lams == tuple(lams)
        readout = text_of(screen, "#sweep-readout")
        assert f"best λ = {argmin:g} " in readout and "so far" not in readout
        assert "completed" in text_of(screen, "#sweep-status")
        assert screen.focused is None  # Enter left the field: the keys work again


@sync
async def test_bad_grid_text_shows_an_error_and_starts_nothing() -> None:
    async with SweepHost(line_config(epochs=LONG)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_lams(pilot, "0, 1e-4:1e2")
        assert "START:STOP:N" in text_of(screen, "#lams-error")  # as you type
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "(not started)" in text_of(screen, "#lams-error")
        assert screen.sweep is None and no_thread_left()
        await pilot.press("backspace", "backspace", "backspace", "backspace", "2:3")
        assert text_of(screen, "#lams-error") == ""  # fixed: the error goes


def refusal(config: RunConfig) -> str:
    """The engine's own words for refusing to sweep `config`."""
    with pytest.raises(Exception) as info:
        Sweep(config.resolved(), [0.1], lambda event: None)
    exc = info.value
    return f"{exc}" if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"


@sync
async def test_mode_none_cannot_sweep_and_says_why() -> None:
    config = line_config(reg="none", epochs=LONG)
    message = f"cannot start: {refusal(config)}"
    assert "mode 'none'" in message
    async with SweepHost(config).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await pilot.pause(0.2)
        # The whole message, where it is drawn in full: the error line under the λ field.
        assert shown_text(screen, "#lams-error") == squash(message)
        assert "cannotstart" not in shown_text(screen, "#sweep-status")
        assert screen.sweep is None and no_thread_left()
        await type_lams(pilot, "0.1")  # a valid edit: the error goes
        assert shown_text(screen, "#lams-error") == ""


@sync
async def test_an_unreadable_csv_cannot_sweep_and_the_whole_reason_shows_at_80x24(
    tmp_path: Path,
) -> None:
    data = tmp_path / "prices.csv"
    data.write_text("size,price\n1,2\n[not a number],3\n")  # a feature: numbers only
    config = RunConfig(data=str(data), target="price", epochs=LONG, save=False)
    message = f"cannot start: {refusal(config)}"
    assert "line 3" in message and "[not a number]" in message
    async with SweepHost(config).run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert shown_text(screen, "#lams-error") == squash(message)
        assert screen.sweep is None and no_thread_left()


@sync
async def test_the_stop_key_stops_a_long_sweep_and_leaves_no_thread() -> None:
    async with SweepHost(line_config(epochs=LONG)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state is not None and screen.state.epoch > 5, "epochs")
        await pilot.press("s")
        await wait_for(pilot, lambda: "stopped" in text_of(screen, "#sweep-status"), "stopped")
        await wait_for(pilot, no_thread_left, "the sweep thread to end", timeout=10)
        assert screen.state is not None and screen.state.status == "stopped"
        assert screen.state.epoch < LONG


@sync
async def test_the_apply_key_posts_the_best_lambda_and_closes_the_view() -> None:
    async with SweepHost(line_config(epochs=100)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("a")  # nothing to apply yet: nothing posted
        await pilot.pause(0.1)
        assert pilot.app.applied == []  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        best = screen.sweep.best_lam() if screen.sweep is not None else None
        assert best is not None
        await pilot.press("a")
        await wait_for(pilot, lambda: pilot.app.applied != [], "ApplyLam")  # type: ignore[attr-defined]
        assert pilot.app.applied == [best]  # type: ignore[attr-defined]
        assert not isinstance(pilot.app.screen, SweepScreen)


@sync
async def test_escape_leaves_the_sweep_training_and_w_comes_back_to_it() -> None:
    async with SweepHost(line_config(epochs=LONG)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state is not None and screen.state.epoch > 0, "epochs")
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, SweepScreen)
        sweep = screen.sweep
        assert sweep is not None
        left_at = sweep.epoch
        await wait_for(pilot, lambda: sweep.epoch > left_at + 50, "training in the background")
        assert live_threads("wdtui-sweep")
        await pilot.press("w")
        assert pilot.app.screen is screen and screen.sweep is sweep
        await wait_for(pilot, lambda: screen.state.epoch > left_at + 50, "the view to catch up")  # type: ignore[union-attr]
        assert "running" in text_of(screen, "#sweep-status")
    # The app is gone: its sweep was stopped and joined with it.
    assert no_thread_left()


@sync
async def test_quitting_while_a_sweep_runs_stops_and_joins_it() -> None:
    async with SweepHost(line_config(epochs=LONG)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state is not None and screen.state.epoch > 0, "epochs")
        await pilot.app.action_quit()  # type: ignore[attr-defined]
        assert no_thread_left()


@sync
async def test_results_for_other_settings_are_shown_stale_at_80x24_and_a_applies_nothing() -> None:
    results = line_config(epochs=50)
    async with SweepHost(results).run_test(size=(80, 24)) as pilot:
        host: SweepHost = pilot.app  # type: ignore[assignment]
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        best = screen.sweep.best_lam() if screen.sweep is not None else None
        assert best is not None
        assert (
            title_of(screen).startswith("λ sweep · line ")
            and shown_text(screen, "#sweep-stale") == ""
        )
        # Back to the live run, whose lr changes; the view opens again for its settings.
        await pilot.press("escape")
        host.config = replace(results, lr=0.02, lam=0.5)
        await pilot.press("w")
        assert pilot.app.screen is screen
        # The title still names the results' settings, marked stale; the line says both.
        assert title_of(screen).startswith("stale λ sweep · line · linear · sgd + l2 · lr 0.01 ")
        assert shown_text(screen, "#sweep-stale") == squash(
            "⚠ stale: these results are for lr 0.01; the live run now has lr 0.02. "
            "Enter sweeps the live run's settings."
        )
        readout = shown_text(screen, "#sweep-readout")
        assert squash(f"best λ = {best:g} for the old settings") in readout
        assert squash("a will not apply it") in readout
        await pilot.press("a")
        await pilot.pause(0.1)
        assert host.applied == [] and pilot.app.screen is screen  # nothing applied, still here
        (notice,) = [str(n.message) for n in pilot.app._notifications]
        assert notice == (
            f"not applied: λ = {best:g} is the best for lr 0.01, not for the live run's lr 0.02"
        )
        # Another λ on the live run is not another setting: back to lr 0.01, the results count.
        await pilot.press("escape")
        host.config = replace(results, lam=0.5)
        await pilot.press("w")
        assert (
            title_of(screen).startswith("λ sweep · line ")
            and shown_text(screen, "#sweep-stale") == ""
        )
        await pilot.press("a")
        await wait_for(pilot, lambda: host.applied == [best], "ApplyLam")


@sync
async def test_unstable_lams_are_named_and_an_edge_best_is_said_at_80x24() -> None:
    # line, lr 0.01, 50 epochs: λ = 60 has lr·2λ = 1.2; the best is 0.1, the smallest tried.
    async with SweepHost(line_config(epochs=50)).run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await type_lams(pilot, "0.1, 1, 60")
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        assert shown_text(screen, "#sweep-warning") == squash(
            "⚠ λ 60 has lr·2λ ≥ 1: the decay step alone takes w to 0 or past it"
        )
        assert screen.sweep is not None and screen.sweep.best_lam() == 0.1
        assert shown_text(screen, "#sweep-readout").endswith(
            squash(
                "best λ = 0.1 is the smallest tried: the optimum may be below it; "
                "extend the grid (e.g. 0, 0.001:0.1:5)"
            )
        )
        # A grid without such a λ: no line.
        await type_lams(pilot, "0.1, 1, 10")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.settled() and screen.state is not None and 10.0 in screen.state.lams,
            "the second sweep to finish",
        )
        assert screen.query_one("#sweep-warning").display is False
        assert shown_text(screen, "#sweep-warning") == ""
        assert squash("extend the grid (e.g. 0, 0.001:0.1:5)") in shown_text(
            screen, "#sweep-readout"
        )


def test_warning_and_edge_texts() -> None:
    lams = [0.0, 0.1, 1.0, 60.0, 100.0, 200.0, 500.0]
    state = SweepState(lams, 3)
    assert str(warning_text(state)) == ""
    state.warnings = member_warnings(line_config(lr=0.01), lams)
    assert str(warning_text(state)) == (
        "⚠ λ ≥ 60 have lr·2λ ≥ 1: the decay step alone takes w to 0 or past it"
    )
    state.warnings = state.warnings[:2]
    assert str(warning_text(state)).startswith("⚠ λ 60, 100 have lr·2λ ≥ 1: ")
    # The edge note waits for the end: the best so far still moves.
    losses = (5.0, 4.0, 3.0, 2.0, 1.5, 1.2, 1.0)
    state.apply(SweepEpoch(1, losses, losses, losses, 0.1, ("running",) * 7))
    assert state.best_lam() == 500.0 and "extend the grid" not in str(readout_text(state))
    state.status = "completed"
    state.finished_best = 500.0
    note = edge_note(lams, 500.0)
    assert note is not None and str(readout_text(state)).endswith("\n" + note)


def test_nan_free_readout_for_a_diverging_member() -> None:
    state = SweepState([0.0, 1.0], 3)
    state.apply(
        SweepEpoch(
            1, (1.0, math.inf), (1.0, math.nan), (1.0, math.inf), 0.1, ("running", "diverged")
        )
    )
    assert state.diverged() == [1.0] and state.best_lam() == 0.0
    assert math.isnan(state.sq_norm[1])


def test_legends_break_between_entries_and_the_path_legend_fits_two_lines() -> None:
    state = SweepState([0.0, 1.0], 3)
    state.test, state.baseline_test_loss = [1.0, 1.5], 2.0
    assert curve_legend(state).plain == "━ train ━ test ━ predict mean"
    assert curve_legend(state, 22).plain == "━ train ━ test\n━ predict mean"
    assert norm_legend(state, 22).plain == "━ ‖w‖²"
    state.ridge_sq_norm = [1.0, 0.5]
    assert norm_legend(state, 22).plain == "━ ‖w‖² ━ ridge optimum"
    state.path_labels = [f"w[x^{i}]" for i in range(1, 21)]
    state.ridge_path = [[0.0] * 20, [0.0] * 20]
    wide = path_legend(state, 116).plain
    assert wide.startswith("━ w[x^1] ━ w[x^2] ━ w[x^3] ━ w[x^4] ━ w[x^5] ━ w[x^6] … (20 weights)")
    assert wide.endswith("dim: ridge optimum (closed form)") and wide.count("\n") <= 1
    # 30 columns: one name, the count, and the short tail fill two lines.
    assert path_legend(state, 30).plain == "━ w[x^1] … (20 weights)\ndim: ridge optimum"
    # Never fewer than one name, on a third line if need be.
    assert path_legend(state, 22).plain == "━ w[x^1]\n… (20 weights)\ndim: ridge optimum"


def baseline_of(sweep: Sweep) -> float:
    """The test loss of predicting the training targets' mean, from the sweep's own data."""
    data = sweep.dataset
    assert data.y_test is not None
    mean = float(data.y_train.double().mean())
    return float(((data.y_test.double() - mean) ** 2).mean())


@sync
async def test_the_validation_curve_draws_the_test_loss_of_predicting_the_mean() -> None:
    async with SweepHost(line_config(epochs=100)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        assert screen.sweep is not None and screen.state is not None
        assert screen.state.baseline_test_loss == pytest.approx(baseline_of(screen.sweep))
        drawn = squash(screen.query_one("#curve", ValidationChart).render().plain)  # type: ignore[union-attr]
        assert squash(BASELINE_LABEL) in drawn  # the line's label, on the chart
        assert shown_text(screen, "#curve-legend") == squash("━ train ━ test ━ predict mean")
    # Without a test split there is no test loss to compare: no line, no legend entry.
    async with SweepHost(line_config(epochs=20, test_fraction=0.0)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        assert screen.state is not None and screen.state.baseline_test_loss is None
        drawn = squash(screen.query_one("#curve", ValidationChart).render().plain)  # type: ignore[union-attr]
        assert squash(BASELINE_LABEL) not in drawn
        assert shown_text(screen, "#curve-legend") == squash("━ train")


def poly_config(**overrides: object) -> RunConfig:
    return line_config(preset="poly", epochs=400, **overrides)


@sync
async def test_at_80x24_the_charts_fill_the_width_and_every_line_is_whole() -> None:
    # poly: a path of 20 weights (three charts in a row), λ = 100 diverges and is warned about.
    async with SweepHost(poly_config()).run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        boxes = [screen.query_one(f"#{name}") for name in ("curve-box", "norm-box", "path-box")]
        assert [box.region.y for box in boxes] == [boxes[0].region.y] * 3  # one row
        assert sum(box.region.width for box in boxes) == 80
        legends = {
            "#curve-legend": "━ train ━ test ━ predict mean",
            "#norm-legend": "━ ‖w‖² ━ ridge optimum",
            "#path-legend": "━ w[x^1/1!] … (20 weights) dim: ridge optimum",
        }
        for selector, words in legends.items():
            await wait_for(
                pilot, lambda s=selector, w=words: shown_text(screen, s) == squash(w), selector
            )
        state = screen.state
        assert state is not None
        readout = shown_text(screen, "#sweep-readout")
        assert readout == squash(readout_text(state).plain)
        assert squash(f"‖w‖² {state.sq_norm[0]:.4g}  a: apply it to the live run") in readout
        assert readout.endswith(squash("diverged (not plotted): λ 100"))
        assert shown_text(screen, "#sweep-warning") == squash(
            "⚠ λ 100 has lr·2λ ≥ 1: the decay step alone takes w to 0 or past it"
        )
    # highdim: 200 weights, no path: the two charts share the whole width.
    async with SweepHost(line_config(preset="highdim", epochs=50)).run_test(size=(80, 24)) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        curve, norm = screen.query_one("#curve-box"), screen.query_one("#norm-box")
        assert not screen.query_one("#path-box").display
        assert curve.region.width + norm.region.width == 80 and curve.region.y == norm.region.y
        assert str(curve.border_title) == "validation curve: loss vs λ"
        assert str(norm.border_title) == "‖w‖² vs λ"


def y_key(screen: SweepScreen) -> str:
    """y's label in the sweep view's Footer ("" while the Footer recomposes)."""
    return next((k.description for k in screen.query(FooterKey) if k.key == "y"), "")


@sync
async def test_y_is_labelled_with_the_axis_it_switches_to_and_every_key_has_its_help() -> None:
    # The user test: the Footer said 'Log y' whatever the axis was.
    async with SweepHost(line_config(epochs=30)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        curve = screen.query_one("#curve", ValidationChart)
        assert screen.log_y and curve.painted_log_y
        await wait_for(pilot, lambda: y_key(screen) == "Linear y", "y's label: Linear y")
        y_help = [c.help for c in binding_commands(screen) if c.key == "y"]
        assert y_help == ["Draw the loss and ‖w‖² charts on a linear y axis (they are on a log "
                          "axis now)"]  # fmt: skip
        await pilot.press("y")
        await wait_for(pilot, lambda: curve.painted_log_y is False, "a linear frame")
        await wait_for(pilot, lambda: y_key(screen) == "Log y", "y's label: Log y")
        assert [c.name for c in binding_commands(screen) if c.key == "y"] == ["Log y"]
        await pilot.press("y")
        await wait_for(pilot, lambda: curve.painted_log_y is True, "a log frame")
        await wait_for(pilot, lambda: y_key(screen) == "Linear y", "y's label: Linear y")
        # Every key the palette offers here comes with what it does.
        commands = list(binding_commands(screen))
        assert {c.name for c in commands} >= {"Start", "Apply best λ", "Edit λ values", "About"}
        assert all(c.help for c in commands), [c.name for c in commands if not c.help]


# ----- the snapshots ---------------------------------------------------------------------------


async def sweep_to_the_end(pilot: Pilot) -> None:
    screen = screen_of(pilot)
    await pilot.press("enter")
    await wait_for(pilot, screen.settled, "the sweep to finish", timeout=60)
    await pilot.pause(0.1)


def test_sweep_view_after_a_line_sweep(snap_compare) -> None:
    # 500 epochs: every member has converged, and the test loss has its minimum inside the grid.
    app = SweepHost(line_config(epochs=500))
    assert snap_compare(app, terminal_size=SIZE, run_before=sweep_to_the_end)


def test_sweep_view_at_80x24(snap_compare) -> None:
    # poly: three charts in a row, each legend whole, the readout and the warning line in full.
    assert snap_compare(
        SweepHost(poly_config()), terminal_size=(80, 24), run_before=sweep_to_the_end
    )


def test_a_classification_sweeps_best_lambda_is_the_engines_rule_live_and_finished() -> None:
    events: list[SweepEvent] = []
    Sweep(RunConfig(preset="cancer", epochs=20, save=False), [0.0, 1e-3, 1.0], events.append).run()
    finished = events[-1]
    assert isinstance(finished, SweepFinished) and finished.best_by == "test_accuracy"
    live = SweepState((0.0, 1e-3, 1.0), 20)
    for event in events[:-1]:
        live.apply(event)
    assert live.active and live.best_by == "test_accuracy"
    # While it trains: the same rule on the latest epoch as the engine applies at the end.
    assert live.best_lam() == finished.best_lam
    live.apply(finished)
    assert live.best_lam() == finished.best_lam
    k = live.best_index()
    assert k is not None and live.test_accuracy is not None
    shown = readout_text(live).plain
    assert f"highest test accuracy: {live.test_accuracy[k]:.2%}" in shown


# ----- a classification sweep's accuracy view (v) ---------------------------------------------


def v_key(screen: SweepScreen) -> str:
    """v's label in the sweep view's Footer ("" when it has none, or while it recomposes)."""
    return next((k.description for k in screen.query(FooterKey) if k.key == "v"), "")


def dots(chart: ValidationChart, color: tuple[int, int, int]) -> list[tuple[float, float]]:
    """The members' dots the chart's last frame drew in `color`: plotext's scatter data."""
    monitor = chart.plt.monitor  # type: ignore[attr-defined]
    return [
        (x, y)
        for xs, ys, markers, colors in zip(
            monitor.x, monitor.y, monitor.marker, monitor.color, strict=True
        )
        if markers and markers[0] == "•" and colors[0] == color
        for x, y in zip(xs, ys, strict=True)
    ]


def y_labels(chart: ValidationChart) -> list[float]:
    """The y tick labels of the chart as drawn (the text left of each '┤')."""
    lines = chart.render().plain.split("\n")  # type: ignore[union-attr]
    return [float(line.split("┤")[0]) for line in lines if "┤" in line and "├" not in line]


@sync
async def test_v_draws_a_classification_sweeps_accuracies_against_lambda() -> None:
    config = RunConfig(preset="cancer", epochs=20, seed=0, save=False)
    async with SweepHost(config).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_lams(pilot, "0, 0.001, 0.01, 0.1")
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        state = screen.state
        assert state is not None and state.train_accuracy is not None
        assert state.test_accuracy is not None
        curve = screen.query_one("#curve", ValidationChart)
        await wait_for(pilot, lambda: v_key(screen) == "Accuracy", "v's label: Accuracy")
        assert curve.painted_view == "loss"
        v_help = [c.help for c in binding_commands(screen) if c.key == "v"]
        assert v_help == [
            "Draw the validation curve as each member's train and test accuracy (0–100%, "
            "linear) against λ instead of its loss (classification)"
        ]

        await pilot.press("v")
        await wait_for(pilot, lambda: curve.painted_view == "accuracy", "an accuracy frame")
        await wait_for(pilot, lambda: v_key(screen) == "Loss", "v's label: Loss")
        assert str(screen.query_one("#curve-box").border_title) == (
            "validation curve: accuracy % vs λ"
        )
        await wait_for(
            pilot,
            lambda: (
                shown_text(screen, "#curve-legend") == squash("━ train accuracy ━ test accuracy")
            ),
            "the accuracy legend",
        )
        # Each member's dot is its accuracy in %, at its λ's x: what the state (and the
        # engine's results) hold.
        xs, _ = lam_positions(state.lams)
        for color, accuracies in (
            (TEST_COLOR, state.test_accuracy),
            (TRAIN_COLOR, state.train_accuracy),
        ):
            assert dots(curve, color) == pytest.approx(
                [(x, 100 * a) for x, a in zip(xs, accuracies, strict=True)]
            )
        # A linear axis in %, whatever y says: round ticks inside the members' range.
        assert screen.log_y
        values = y_labels(curve)
        shown = [100 * a for a in (*state.train_accuracy, *state.test_accuracy)]
        assert len(values) >= 2 and values == sorted(values, reverse=True)
        assert min(shown) - 1e-9 <= values[-1] and values[0] <= max(shown) + 1e-9
        assert max(shown) <= 100
        step = values[0] - values[1]
        assert all(math.isclose(v / step, round(v / step), abs_tol=1e-6) for v in values)
        # The best λ (the engine's rule: the highest test accuracy) marked as on the loss.
        k = state.best_index()
        assert k is not None and state.best_by == "test_accuracy"
        assert state.test_accuracy[k] == max(state.test_accuracy)
        assert squash(f"best λ={state.lams[k]:.3g}") in squash(curve.render().plain)  # type: ignore[union-attr]

        await pilot.press("v")
        await wait_for(pilot, lambda: curve.painted_view == "loss", "a loss frame again")
        await wait_for(pilot, lambda: v_key(screen) == "Accuracy", "v's label: Accuracy")
        assert str(screen.query_one("#curve-box").border_title) == "validation curve: loss vs λ"
        log_test = [math.log10(v) for v in state.test or []]
        assert [y for _, y in dots(curve, TEST_COLOR)] == pytest.approx(log_test)


@sync
async def test_a_regression_sweep_has_no_accuracy_key() -> None:
    async with SweepHost(line_config(epochs=20)).run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to finish")
        curve = screen.query_one("#curve", ValidationChart)
        await wait_for(pilot, lambda: y_key(screen) == "Linear y", "the Footer")
        assert v_key(screen) == ""
        assert not [c for c in binding_commands(screen) if c.key == "v"]
        await pilot.press("v")
        assert screen.curve_view == "loss" and curve.view == "loss"
        assert str(screen.query_one("#curve-box").border_title) == "validation curve: loss vs λ"
