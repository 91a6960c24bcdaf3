"""A saved sweep reopened in the sweep view (`SweepScreen.for_saved`), over the explorer through
the Pilot: it shows what the live sweep showed when it had just finished, a killed one what it
got to, and it can still start a new sweep. The sweeps are real, trained into tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine.config import RunConfig
from engine.store import load_sweep
from engine.sweep.events import SweepEvent, SweepFinished
from engine.sweep.runner import Sweep
from support.tui import LONG, keys, make_app, notices, send, sync, title_of, wait_for
from tui.screens.sweep_screen import SweepScreen, lams_text
from tui.state.sweep_state import SweepState
from tui.widgets.sweep_text import readout_text, status_text

EPOCHS = 40
LAMS = [0.0, 0.01, 0.1, 1.0]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SweepState]:
    """A finished `highdim` sweep's folder, and the state the live view folded from its
    events as they came."""
    root = tmp_path_factory.mktemp("sweeps")
    config = RunConfig(preset="highdim", epochs=EPOCHS, runs_dir=str(root))
    events: list[SweepEvent] = []
    sweep = Sweep(config, LAMS, events.append)
    sweep.run()
    live = SweepState(sweep.lams, EPOCHS, sweep.config)
    for event in events:
        live.apply(event)
    (finished,) = [e for e in events if isinstance(e, SweepFinished)]
    assert finished.status == "completed" and finished.run_dir is not None
    return Path(finished.run_dir), live


async def opened(pilot: Pilot, screen: SweepScreen) -> SweepScreen:
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.settled(), "the view")
    return screen


def text(screen: SweepScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


@sync
async def test_a_saved_sweep_shows_what_the_live_one_did(swept: tuple[Path, SweepState]) -> None:
    folder, live = swept
    results = json.loads((folder / "results.json").read_text())
    app = make_app(epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, SweepScreen.for_saved(load_sweep(folder)))
        state = screen.state
        assert state is not None
        assert state.lams == tuple(LAMS)
        assert screen.query_one("#lams", Input).value == "0, 0.01, 0.1, 1"
        assert title_of(screen).startswith(f"saved sweep {folder.name} · λ sweep · highdim")
        assert state.best_lam() == results["best_lam"]
        assert f"best λ = {results['best_lam']:g}" in text(screen, "#sweep-readout")
        assert "● completed" in text(screen, "#sweep-status")
        # Member by member, the numbers the live view had at the end.
        assert state.test == pytest.approx(live.test, rel=1e-6)
        assert state.train == pytest.approx(live.train, rel=1e-6)
        assert state.sq_norm == pytest.approx(live.sq_norm, rel=1e-6)
        assert readout_text(state).plain == readout_text(live).plain


@sync
async def test_a_killed_sweep_shows_what_it_got_to_marked_unfinished(
    swept: tuple[Path, SweepState], tmp_path: Path
) -> None:
    folder, live = swept
    killed = tmp_path / "killed"
    shutil.copytree(folder, killed)
    (killed / "results.json").unlink()  # what a SIGKILL leaves: no results, no weights
    (killed / "weights.pt").unlink()
    app = make_app(epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, SweepScreen.for_saved(load_sweep(killed)))
        state = screen.state
        assert state is not None and state.status == "unfinished"
        assert state.epoch == EPOCHS
        status = text(screen, "#sweep-status")
        assert "● unfinished" in status and f"epoch {EPOCHS}/{EPOCHS}" in status
        readout = text(screen, "#sweep-readout")
        assert "no results.json" in readout
        # Its best λ by the engine's rule on the epoch it got to: every epoch here, so the
        # finished sweep's.
        assert f"best λ = {live.best_lam():g}" in readout


@sync
async def test_a_applies_the_best_lam_only_once_the_live_settings_are_known(
    swept: tuple[Path, SweepState],
) -> None:
    folder, live = swept
    app = make_app(preset="highdim", epochs=EPOCHS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, SweepScreen.for_saved(load_sweep(folder)))
        send(app, "a")
        await wait_for(pilot, lambda: any("not applied" in n for n in notices(app)), "refusal")
        assert app.screen is screen
        screen.use_config(app.explorer.live.settings())  # what the runs screen passes
        assert screen.settings_change() is None  # the same settings: not stale
        send(app, "a")
        await wait_for(pilot, lambda: app.screen is app.explorer, "back in the explorer")
        best = live.best_lam()
        await wait_for(pilot, lambda: app.explorer.live.lam == best, "λ applied")


@sync
async def test_enter_sweeps_again_in_the_sweep_view_never_beside_it(
    swept: tuple[Path, SweepState], tmp_path: Path
) -> None:
    folder, _ = swept
    saved = load_sweep(folder)
    # The sweep view trains the live run's settings: here the saved sweep's own.
    app = make_app(preset="highdim", epochs=EPOCHS, runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        saved_view = await opened(pilot, SweepScreen.for_saved(saved))
        send(app, "enter")
        # The app's one sweep view trains them: the saved view is closed.
        await wait_for(pilot, lambda: app.screen is app._sweep_screen, "the sweep view")
        screen = app._sweep_screen
        assert screen is not None and screen is not saved_view
        await wait_for(pilot, lambda: screen.state is not None and screen.settled(), "swept")
        state = screen.state
        assert state is not None and state.status == "completed"
        assert state.lams == tuple(LAMS) and state.run_dir != str(folder)
        assert saved.finished is not None and state.best_lam() == saved.finished.best_lam


@sync
async def test_enter_on_a_saved_sweep_is_refused_while_the_sweep_view_trains(
    swept: tuple[Path, SweepState],
) -> None:
    folder, _ = swept
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await keys(pilot, "w", "enter")  # a long sweep in the sweep view
        await wait_for(
            pilot, lambda: app._sweep_screen is not None and app._sweep_screen.running, "a sweep"
        )
        running = app._sweep_screen
        assert running is not None
        training = running.sweep
        await keys(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is app.explorer, "the explorer")
        await opened(pilot, SweepScreen.for_saved(load_sweep(folder)))
        send(app, "enter")
        await wait_for(
            pilot, lambda: any("a sweep is running" in n for n in notices(app)), "the refusal"
        )
        assert app.screen is running and running.sweep is training and running.running


def test_lams_text_gives_the_lams_back_exactly() -> None:
    lams = [0.0, 1e-5, 0.00031622776601683794, 0.1, 10.0]
    written = lams_text(lams)
    assert written.startswith("0, 1e-05, 0.00031622776601683794, 0.1, 10")
    assert [float(part) for part in written.split(",")] == lams


def test_status_of_an_unfinished_state() -> None:
    state = SweepState(LAMS, EPOCHS)
    state.end_unfinished("gone")
    assert status_text(state, False).plain.startswith("● unfinished")
    assert not state.active
    assert state.best_lam() is None  # no epoch: nothing to choose from
