"""A terminal narrower than the explorer's frames (a phone's browser, a split pane, a window
dragged small) draws what fits, and never crashes: the loss chart's legend once got no column
at all below 40 columns, and wrapping to width 0 raised inside rich."""

from __future__ import annotations

import pytest

from support.tui import keys, make_app, running, sync, wait_for

SCREENS = ("?", "w", "d", "o", ":")  # help, sweep, decay, runs, palette


@pytest.mark.parametrize(("columns", "rows"), [(10, 3), (30, 24)])
@sync
async def test_every_screen_survives_a_tiny_terminal(columns: int, rows: int) -> None:
    app = make_app()
    async with app.run_test(size=(columns, rows)) as pilot:
        await running(pilot, 3)
        explorer = app.screen
        for key in SCREENS:
            await keys(pilot, key)
            await wait_for(pilot, lambda: app.screen is not explorer, f"{key} to open a screen")
            await keys(pilot, "escape")
            await wait_for(pilot, lambda: app.screen is explorer, f"escape to close {key}")
        await pilot.resize_terminal(columns - 1, rows)
        await wait_for(pilot, lambda: app.screen.size.width == columns - 1, "the resize")
