"""The help screen scrolls by keyboard from the start, and names every key."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll

from support.tui import make_app, send, sync, wait_for
from tui.app import WeightDecayApp
from tui.screens.explorer import ExplorerScreen
from tui.screens.help_screen import HelpScreen


async def open_help(pilot, app: WeightDecayApp) -> VerticalScroll:
    send(app, "?")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
    await wait_for(pilot, lambda: bool(app.screen.query("#help-body Markdown")), "the help text")
    body = app.screen.query_one("#help-body", VerticalScroll)
    await wait_for(pilot, lambda: body.max_scroll_y > 0, "the help text to overflow at 80×24")
    return body


@sync
async def test_help_scrolls_with_the_arrows_and_page_keys_without_tab() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        body = await open_help(pilot, app)
        send(app, "down")
        await wait_for(pilot, lambda: body.scroll_y > 0, "down to scroll the help")
        after_down = body.scroll_y
        send(app, "pagedown")
        await wait_for(pilot, lambda: body.scroll_y > after_down, "pagedown to scroll further")
        send(app, "end")
        await wait_for(pilot, lambda: body.scroll_y == body.max_scroll_y, "end to reach the bottom")
        send(app, "home")
        await wait_for(pilot, lambda: body.scroll_y == 0, "home to reach the top")
        send(app, "q")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "q to close help")


@sync
async def test_help_scrolls_even_when_the_text_is_not_focused() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        body = await open_help(pilot, app)
        app.screen.set_focus(None)
        send(app, "pagedown")
        await wait_for(pilot, lambda: body.scroll_y > 0, "pagedown to scroll the help")
        send(app, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "escape to close")


@sync
async def test_help_names_tab_equals_and_the_sweep_views_apply_key() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_help(pilot, app)
        text = app.screen.query_one("#help-body Markdown").source  # type: ignore[attr-defined]
        assert "| `Tab` | move between the fields" in text
        assert "`+` (or `=`)" in text
        assert "| `a` (sweep view) | apply the best λ to the live run" in text
        assert "refused for results of other settings" in text


@sync
async def test_help_lists_every_key_of_the_explorer() -> None:
    """Issue 10: l, L, c and Tab were in no list; the pace keys are new. Every key the explorer
    declares (but Escape, which leaves a field) is in the help's table, as the Footer shows it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_help(pilot, app)
        text = app.screen.query_one("#help-body Markdown").source  # type: ignore[attr-defined]
        rows = [line for line in text.splitlines() if line.startswith("| `")]
        keys_column = " ".join(row.split(" | ")[0] for row in rows)
        declared = [b for b in ExplorerScreen.BINDINGS if isinstance(b, Binding) and b.show]
        # issue 11: v (three labels), x (two) and t; 12: m, e, o; 13: d; 14: D
        assert len(declared) == 31
        for binding in declared:
            shown = app.get_key_display(binding)
            assert f"`{shown}`".lower() in keys_column.lower(), shown
        for row in ("| `[` / `]` | slower / faster", "| `.` | while paused: train one more epoch"):
            assert row in text
        assert "| `y` | linear / log y axis" in text
