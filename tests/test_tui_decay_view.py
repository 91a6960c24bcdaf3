"""The decay view (`d`, issue 13): each epoch's update split into its data and decay parts, ‖w‖²
per decayed weight, the shrink per step and τ, BatchNorm's effective lr, the ridge path early
stopping walks, and which parameters decay, all for the live run.

Numbers are checked against the run's own events and against references computed here (a hand
count, a closed-form ridge solve in numpy, the model's weights). Every wait polls a condition.
"""

from __future__ import annotations

import math
import re

import numpy as np
from textual.pilot import Pilot
from textual.widgets import Select

from engine.config import RunConfig
from engine.decay_timescale import decay_timescale
from engine.early_stopping import WalkClock, lam_at_step
from engine.schedule import Change
from support.engine import epochs_of, run_to_end, started_of
from support.tui import live_of, make_app, send, settle, shown_text, squash, sync, wait_for
from tui.app import WeightDecayApp
from tui.screens.decay_screen import DecayScreen
from tui.state.decay_view import short, walk_lams
from tui.state.run_state import RunState
from tui.widgets.decay_charts import EpochChart, WalkChart
from tui.widgets.plot import render_text


async def open_view(pilot: Pilot, app: WeightDecayApp) -> DecayScreen:
    send(app, "d")
    await wait_for(pilot, lambda: isinstance(app.screen, DecayScreen), "the decay view")
    screen = app.screen
    assert isinstance(screen, DecayScreen)
    return screen


async def paused_and_shown(pilot: Pilot, app: WeightDecayApp, screen: DecayScreen) -> RunState:
    """Pause the run (space, in the view) and wait until the view shows its last epoch."""
    run = live_of(pilot).current
    assert run is not None
    send(app, "space")
    await wait_for(pilot, lambda: run.status == "paused", "the run to pause")
    await wait_for(pilot, lambda: screen._drawn_version == run.version, "the view to catch up")
    return run


async def epochs_reach(pilot: Pilot, epoch: int) -> None:
    live = live_of(pilot)
    await wait_for(
        pilot, lambda: live.current is not None and live.current.epoch >= epoch, "epochs"
    )


def words(screen: DecayScreen, widget_id: str) -> str:
    return shown_text(screen, f"#{widget_id}")


@sync
async def test_d_opens_the_view_whose_split_is_the_last_epochs_and_follows_new_ones() -> None:
    app = make_app(preset="highdim", lam=0.1, batch_size=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await epochs_reach(pilot, 3)
        screen = await open_view(pilot, app)
        run = await paused_and_shown(pilot, app, screen)
        last = run.last
        assert last is not None and last.decay_update_norm and last.data_update_norm
        # The series hold every epoch's event values, the newest last.
        assert len(run.data_update_norm) == run.epoch == len(run.update_norm)
        assert run.data_update_norm.last() == last.data_update_norm
        assert run.decay_update_norm.last() == last.decay_update_norm
        ratio = last.decay_update_norm / last.data_update_norm
        expected = squash(
            f"‖data‖ {short(last.data_update_norm)}  ‖decay‖ "
            f"{short(last.decay_update_norm)}  ‖Δw‖ {short(last.update_norm)}  "
            f"decay/data {short(ratio)}"
        )
        assert expected in words(screen, "split-words")
        first_epoch = run.epoch

        send(app, "space")  # resume: new epochs come in, and the view shows them
        await wait_for(pilot, lambda: run.epoch > first_epoch + 5, "more epochs")
        run = await paused_and_shown(pilot, app, screen)
        last = run.last
        assert last is not None and run.epoch > first_epoch
        assert squash(f"‖data‖ {short(last.data_update_norm)}") in words(screen, "split-words")
        assert squash(f"‖Δw‖ {short(last.update_norm)}") in words(screen, "split-words")
        # The chart draws all three, named in its frame.
        chart = render_text(screen.query_one("#split-chart", EpochChart), 80, 12).plain
        assert "━ data" in chart and "━ decay" in chart and "━ ‖Δw‖" in chart

        send(app, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DecayScreen), "escape closes")
        screen = await open_view(pilot, app)
        send(app, "d")
        await wait_for(pilot, lambda: not isinstance(app.screen, DecayScreen), "d closes")


@sync
async def test_the_shrink_and_tau_follow_lambda_raised_in_the_view() -> None:
    # highdim's own minibatches: 20 rows in batches of 5, 4 steps per epoch.
    app = make_app(preset="highdim", lam=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        live = live_of(pilot)
        await epochs_reach(pilot, 1)
        screen = await open_view(pilot, app)
        run = live.current
        assert run is not None and live.trainer is not None
        assert run.steps_per_epoch == live.trainer.steps_per_epoch == 4
        before = decay_timescale("sgd", "l2", 0.1, 0.003, steps_per_epoch=4)
        assert before is not None
        await wait_for(
            pilot, lambda: squash(before.words()) in words(screen, "tau-words"), "the words"
        )
        assert "4stepsperepoch" in words(screen, "tau-words")
        send(app, "+")
        after = decay_timescale("sgd", "l2", 1.0, 0.003, steps_per_epoch=4)
        assert after is not None and after.words() != before.words()
        await wait_for(
            pilot, lambda: squash(after.words()) in words(screen, "tau-words"), "λ ×10's words"
        )
        await wait_for(pilot, lambda: run.lam == 1.0, "the trainer to use λ = 1")


@sync
async def test_an_mlp_with_batch_norm_lists_its_layers_and_their_effective_lr() -> None:
    app = make_app(preset="line", model="mlp", hidden=(8, 8), norm="batch", lam=0.01)
    async with app.run_test(size=(120, 40)) as pilot:
        live = live_of(pilot)
        await epochs_reach(pilot, 3)
        screen = await open_view(pilot, app)
        run = await paused_and_shown(pilot, app, screen)
        trainer = live.trainer
        assert trainer is not None and run.last is not None
        model = trainer.model
        decayed = [name for name, p in model.named_parameters() if p.ndim >= 2]
        assert decayed == ["0.weight", "3.weight", "6.weight"] == list(run.layer_names)
        layers = words(screen, "layers-words")
        chart = render_text(screen.query_one("#layers-chart", EpochChart), 100, 14).plain
        for name in decayed:
            assert name in layers and f"━ {name}" in chart
        # Paused on a full batch: the weights are those of the epoch shown.
        weights = dict(model.named_parameters())
        text = words(screen, "bn-words")
        for name in ("0.weight", "3.weight"):  # each followed by a BatchNorm
            sq_norm = float(weights[name].detach().double().pow(2).sum())
            reported = run.last.layer_sq_norms[run.layer_names.index(name)]
            assert math.isclose(reported, sq_norm, rel_tol=1e-5)
            expected = run.last.lr / reported
            assert squash(f"{name}: {short(expected)}") in text
        assert "6.weight:" not in text  # the output layer feeds no BatchNorm
        assert "raisestheireffectivelr" in text
        assert "notshown:thewalkisforalinearmodel" in words(screen, "walk-words")
        assert not screen.query_one(WalkChart).display


@sync
async def test_the_counts_match_a_hand_count_and_the_toggles_set_the_next_run() -> None:
    app = make_app(preset="line", model="mlp", hidden=(8, 8), norm="batch", lam=0.01)
    async with app.run_test(size=(120, 40)) as pilot:
        live = live_of(pilot)
        await epochs_reach(pilot, 1)
        screen = await open_view(pilot, app)
        # line has 1 feature: 0.weight 8×1, BN 1 (γ, β: 8 each), 3.weight 8×8, BN 4 (8, 8),
        # 6.weight 1×8 and 6.bias 1. Decayed: 8 + 64 + 8; free: 8 + 8 + 8 + 8 + 1.
        hand = "λ decays 3 tensors (80 values); 5 tensors free (33 values)"
        await wait_for(pilot, lambda: squash(hand) in words(screen, "params-words"), "counts")
        bias = app.explorer.query_one("#decay-bias", Select)
        norm = app.explorer.query_one("#decay-norm", Select)
        assert (bias.value, norm.value) == (False, False)
        send(app, "b")
        await wait_for(pilot, lambda: bias.value is True, "b to set biases decayed")
        await wait_for(
            pilot, lambda: "biasesdecayed(b)" in words(screen, "params-words"), "b's words"
        )
        send(app, "g")
        await wait_for(pilot, lambda: norm.value is True, "g to set BN γ, β decayed")
        send(app, "g")
        await wait_for(pilot, lambda: norm.value is False, "g again: free")
        send(app, "g")
        await wait_for(pilot, lambda: norm.value is True, "g: decayed")
        first = live.current
        send(app, "r")  # the next run, with both
        await wait_for(pilot, lambda: live.current is not first, "r to restart")
        run = live.current
        assert run is not None and run.config.decay_bias and run.config.decay_norm
        every = "λ decays 8 tensors (113 values); 0 tensors free (0 values)"
        await wait_for(pilot, lambda: squash(every) in words(screen, "params-words"), "recount")


@sync
async def test_a_full_batch_linear_run_walks_the_ridge_path() -> None:
    app = make_app(preset="highdim", batch_size=0, init="zeros")
    async with app.run_test(size=(160, 45)) as pilot:
        live = live_of(pilot)
        await epochs_reach(pilot, 100)
        screen = await open_view(pilot, app)
        run = await paused_and_shown(pilot, app, screen)
        assert screen.query_one(WalkChart).display
        text = " ".join(str(screen.query_one("#walk-words").render()).split())
        lam_t = lam_at_step(0.003, run.epoch)  # one step per epoch
        assert f"after t = {run.epoch:,} steps" in text
        assert f"λ_t {lam_t:.3g}:" in text
        # Ridge at λ_t with the bias penalized (the path GD from 0 walks), solved here in numpy.
        trainer = live.trainer
        assert trainer is not None
        x = trainer.dataset.x_train.double().numpy()
        y = trainer.dataset.y_train.double().numpy().reshape(-1)
        a = np.hstack([x, np.ones((len(x), 1))])
        n = len(x)
        theta = np.linalg.solve(a.T @ a / n + lam_t * np.eye(a.shape[1]), a.T @ y / n)
        ridge_sq = float(theta[:-1] @ theta[:-1])
        shown = re.search(r"ridge ([0-9.e+-]+)", text)
        assert shown is not None
        assert math.isclose(float(shown.group(1)), ridge_sq, rel_tol=1e-3)
        assert f"run ‖w‖² {short(run.last.weight_sq_norm)}" in text  # type: ignore[union-attr]
        # From w = 0 at λ = 0, GD's share of each direction is 1 to 1.3 times ridge's at λ_t
        # (engine/early_stopping.py): the two Σ‖w‖² agree within 1.3².
        ratio = run.last.weight_sq_norm / ridge_sq  # type: ignore[union-attr]
        assert 1 / 1.69 <= ratio <= 1.69
        chart = render_text(screen.query_one(WalkChart), 100, 20).plain
        assert "ridge ‖w*(λ)‖²" in chart and "•" in chart


def test_walk_lams_follow_the_walk_clock_through_lr_changes() -> None:
    """λ_t from the run's λ/lr changes, vectorised, equals ridgewalk's WalkClock epoch by epoch."""
    _, events = run_to_end(
        preset="highdim",
        epochs=12,
        schedule=(Change(4, "lr", 0.01), Change(9, "lr", 0.001)),
    )
    run = RunState(1, RunConfig(preset="highdim", epochs=12, save=False).resolved())
    for event in events:
        run.apply(event)
    clock = WalkClock(run.steps_per_epoch)
    expected = [clock.point(epoch).lam for epoch in epochs_of(events)]
    assert len({lr for _, _, lr in run.lam_lr_changes}) == 3
    got = walk_lams(run, np.arange(1, 13, dtype=np.float64))
    assert np.allclose(got, expected, rtol=1e-12)


def test_run_state_keeps_the_split_and_each_layers_norm_per_epoch() -> None:
    _, events = run_to_end(preset="line", model="mlp", hidden=(4,), epochs=7, lam=0.01)
    run = RunState(1, RunConfig(preset="line", epochs=7, save=False).resolved())
    for event in events:
        run.apply(event)
    started = started_of(events)
    epochs = epochs_of(events)
    assert run.layer_names == started.layer_names == ("0.weight", "2.weight")
    for i in range(len(started.layer_names)):
        assert run.layer_sq_norms[i].values().tolist() == [e.layer_sq_norms[i] for e in epochs]
    assert run.data_update_norm.values().tolist() == [e.data_update_norm for e in epochs]
    assert run.decay_update_norm.values().tolist() == [e.decay_update_norm for e in epochs]
    assert run.update_norm.values().tolist() == [e.update_norm for e in epochs]


async def decay_view_of_a_finished_run(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("d")
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    screen = app.screen
    assert isinstance(screen, DecayScreen)
    run = app.explorer.live.current
    assert run is not None
    await wait_for(pilot, lambda: screen._drawn_version == run.version, "the view drawn")
    await pilot.pause(0.1)


def test_decay_view_at_80x24(snap_compare) -> None:
    app = WeightDecayApp(
        RunConfig(preset="highdim", epochs=100, seed=0, lam=0.1, batch_size=0, save=False)
    )
    assert snap_compare(app, terminal_size=(80, 24), run_before=decay_view_of_a_finished_run)
