"""Snapshot tests of the main screen and the help screen (pytest-textual-snapshot).

Deterministic by construction: fixed seed, short runs that have completed (and settled on
screen) before the snapshot, nothing saved, and a finished run's status line shows no timing.
Regenerate with: .venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from textual.pilot import Pilot

from engine.config import RunConfig
from support.tui import settle
from tui.app import WeightDecayApp
from tui.screens.help_screen import HelpScreen

SIZE = (120, 40)


async def overfit_then_regularize(pilot: Pilot) -> None:
    """The d2l demo: λ = 0 overfits `highdim`; a new run with λ = 3 is drawn over it."""
    await settle(pilot)
    await pilot.press("l")
    await pilot.press("end", "backspace", "3", "enter")
    await pilot.press("n")
    await settle(pilot)


def highdim_app() -> WeightDecayApp:
    return WeightDecayApp(RunConfig(preset="highdim", epochs=100, seed=0, save=False))


def test_main_screen(snap_compare) -> None:
    assert snap_compare(highdim_app(), terminal_size=SIZE, run_before=overfit_then_regularize)


def test_main_screen_at_80x24(snap_compare) -> None:
    """The same comparison on a small terminal: test and train in panels of their own."""
    assert snap_compare(highdim_app(), terminal_size=(80, 24), run_before=overfit_then_regularize)


def test_main_screen_small_linear_model(snap_compare) -> None:
    app = WeightDecayApp(RunConfig(preset="poly", epochs=50, seed=0, save=False))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_help_screen(snap_compare) -> None:
    async def open_help(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(highdim_app(), terminal_size=SIZE, run_before=open_help)
