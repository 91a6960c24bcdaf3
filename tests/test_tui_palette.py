"""The command palette survives PageUp / PageDown pressed before its list is laid out.

Review finding (a Textual 8.2 bug, worked around in tui/palette.py): `ctrl+p` followed at once
by PageUp or PageDown ended the app with `KeyError: 0` from OptionList._move_page.
"""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from support.tui import keys, make_app, running, send, sync, wait_for
from tui.app import WeightDecayApp


def palette_list(app: WeightDecayApp) -> CommandList | None:
    screen = app.screen
    return screen.query_one(CommandList) if isinstance(screen, CommandPalette) else None


async def wait_for_commands(pilot: Pilot, app: WeightDecayApp) -> CommandList:
    def listed() -> bool:
        commands = palette_list(app)
        return commands is not None and commands.option_count > 0

    await wait_for(pilot, listed, "the palette's commands")
    commands = palette_list(app)
    assert commands is not None
    return commands


@pytest.mark.parametrize("key", ["pageup", "pagedown"])
@sync
async def test_a_page_key_right_after_ctrl_p_leaves_the_app_running(key: str) -> None:
    """As it happens: both keys arrive together (a fast typist, a pasted sequence). Whether
    the list is laid out before the page key is handled depends on timing; a few rounds."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        for _ in range(8):
            send(app, "ctrl+p", key)
            await wait_for_commands(pilot, app)
            await pilot.pause(0.05)
            assert app.is_running and app.return_code is None
            await keys(pilot, "escape")
            await wait_for(pilot, lambda: palette_list(app) is None, "the palette to close")


@pytest.mark.parametrize("key", ["pageup", "pagedown"])
@sync
async def test_page_keys_with_no_room_for_the_list_do_nothing(key: str) -> None:
    """Deterministic: on a terminal too short to show any command the list never gets a
    size, the state the race above leaves for a moment."""
    app = make_app()
    async with app.run_test(size=(80, 4)) as pilot:
        await running(pilot)
        await keys(pilot, "ctrl+p")
        commands = await wait_for_commands(pilot, app)
        await wait_for(pilot, lambda: commands.highlighted == 0, "a highlighted command")
        await keys(pilot, key)
        await pilot.pause(0.1)
        assert app.is_running and app.return_code is None
        assert commands.highlighted == 0


@sync
async def test_page_keys_page_through_the_commands() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await keys(pilot, "ctrl+p")
        commands = await wait_for_commands(pilot, app)
        await wait_for(pilot, lambda: bool(commands.scrollable_content_region), "the list")
        await wait_for(pilot, lambda: commands.highlighted == 0, "the first command")
        await keys(pilot, "pagedown")
        await wait_for(pilot, lambda: (commands.highlighted or 0) > 0, "a page down")
        await keys(pilot, "pageup")
        await wait_for(pilot, lambda: commands.highlighted == 0, "a page up")
