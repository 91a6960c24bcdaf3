"""The command palette survives PageUp / PageDown pressed before its list is laid out.

Review finding (a Textual 8.2 bug, worked around in tui/palette.py): `ctrl+p` followed at once
by PageUp or PageDown ended the app with `KeyError: 0` from OptionList._move_page.
"""

from __future__ import annotations

import pytest
from textual.command import CommandInput, CommandList, CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Select

from support.tui import keys, make_app, running, send, sync, wait_for
from tui.app import WeightDecayApp
from tui.palette_commands import literal_markup, screen_commands


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


# ----- finding and running commands (issue 10: the palette found nothing for lambda, decay,
# mode or preset; each help repeated its title; mode, optimizer, preset and epochs could not
# be set from it) -------------------------------------------------------------------------


def hit_titles(app: WeightDecayApp) -> list[str]:
    """The palette's results, best first ([] while it is not open)."""
    commands = palette_list(app)
    if commands is None:
        return []
    return [str(commands.get_option_at_index(i).hit.text) for i in range(commands.option_count)]


async def search(
    pilot: Pilot, app: WeightDecayApp, query: str, first: set[str], among: int = 0
) -> list[str]:
    """Open the palette, type `query`, and wait until `first` are its best results (or among
    its best `among`)."""
    among = among or len(first)
    send(app, "ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.focused, CommandInput), "the palette's input")
    send(app, *query)
    await wait_for(pilot, lambda: app.focused.value == query, f"{query!r} typed")  # type: ignore[union-attr]
    await wait_for(
        pilot,
        lambda: first <= set(hit_titles(app)[:among]),
        f"{sorted(first)} first for {query!r} (got {hit_titles(app)[:6]})",
    )
    return hit_titles(app)


async def run_command(pilot: Pilot, app: WeightDecayApp, query: str, title: str) -> None:
    """Search, check `title` is the best result, and run it with Enter."""
    await search(pilot, app, query, {title})
    send(app, "enter")
    await wait_for(pilot, lambda: palette_list(app) is None, "the palette to close")


async def close_palette(pilot: Pilot, app: WeightDecayApp) -> None:
    send(app, "escape")
    await wait_for(pilot, lambda: palette_list(app) is None, "the palette to close")


LAM_KEYS = {"λ↑ (+)", "λ↓ (-)", "Edit λ (l)"}
FOUND_BY = {
    "lambda": LAM_KEYS,
    "λ": LAM_KEYS,
    "mode": {"Set mode: l2 (current)", "Set mode: wd", "Set mode: none"},
    "preset": {"Set preset: line (current)", "Set preset: highdim", "Set preset: poly"},
    "optimizer": {"Set optimizer: sgd (current)", "Set optimizer: adam", "Set optimizer: adamw"},
    "epochs": {"Set epochs…"},
    "pace": {"Slower ([)", "Faster (])"},
    "screenshot": {"Save screenshot"},
    "linear": {"Linear y (y)"},
}


@sync
async def test_the_palette_finds_commands_by_what_they_do() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        for query, first in FOUND_BY.items():
            await search(pilot, app, query, first)
            await close_palette(pilot, app)
        # decay: λ's keys and wd mode (weight decay), after the decay view (d) and the
        # controls named decay-something.
        await search(pilot, app, "decay", LAM_KEYS | {"Set mode: wd", "Decay (d)"}, among=7)


@sync
async def test_every_command_says_more_than_its_title() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        commands = screen_commands(app.explorer)
        system = list(app.get_system_commands(app.explorer))
        titled = [(c.title, c.help) for c in commands] + [(c.title, c.help) for c in system]
        assert len(commands) > 30  # the keys, and every choice of every control
        for title, help_text in titled:
            new_words = set(help_text.lower().split()) - set(title.lower().split())
            assert len(new_words) >= 3, f"{title!r}: {help_text!r}"
        helps = dict(titled)
        assert "weight_decay = 2λ" in helps["Set mode: wd"]
        assert "runs/" in helps["Save screenshot"]


@sync
async def test_mode_and_preset_set_in_the_palette_are_the_next_runs() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await run_command(pilot, app, "mode wd", "Set mode: wd")
        await wait_for(pilot, lambda: app.query_one("#mode", Select).value == "wd", "mode wd")
        await run_command(pilot, app, "preset highdim", "Set preset: highdim")
        await wait_for(
            pilot, lambda: app.query_one("#preset", Select).value == "highdim", "highdim"
        )
        assert (live.base.reg, live.base.preset) == ("l2", "line")  # not before r
        send(app, "r")
        await wait_for(
            pilot,
            lambda: (live.base.reg, live.base.preset) == ("wd", "highdim"),
            "the restarted run to use wd on highdim",
        )
        await running(pilot)
        assert live.current is not None and live.current.config.reg == "wd"


@sync
async def test_epochs_and_lambda_typed_in_the_palette() -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        epochs = app.query_one("#epochs", Input)
        # No value typed: the command takes you to the field.
        await run_command(pilot, app, "epochs", "Set epochs…")
        await wait_for(pilot, lambda: app.focused is epochs, "the epochs field focused")
        send(app, "escape")
        await wait_for(pilot, lambda: app.focused is None, "the field left")
        # A value the field refuses: said, and nothing changes.
        await search(pilot, app, "epochs abc", {"Set epochs: abc"})
        commands = palette_list(app)
        assert commands is not None
        help_text = str(commands.get_option_at_index(0).hit.help)
        assert help_text.startswith("Not valid: ") and "abc" in help_text
        send(app, "enter")
        await wait_for(pilot, lambda: palette_list(app) is None, "the palette to close")
        await wait_for(pilot, lambda: "abc" in " ".join(notes(app)), "the refusal")
        assert epochs.value == str(10**6)
        # Words that name no field offer no value for one.
        offered = [c.title for c in screen_commands(app.explorer, "set wd") if ": wd" in c.title]
        assert offered == ["Set mode: wd"]
        # A valid one: in the field, and the next run's.
        await run_command(pilot, app, "epochs 500", "Set epochs: 500")
        await wait_for(pilot, lambda: epochs.value == "500", "epochs 500 in its field")
        # λ applies to the running trainer at once, as Enter in its field does.
        await run_command(pilot, app, "lambda 0.1", "Set λ: 0.1")
        await wait_for(pilot, lambda: live.lam == 0.1, "λ 0.1 for the running trainer")
        send(app, "r")
        await wait_for(pilot, lambda: live.base.epochs == 500, "the restart to train 500 epochs")


@sync
async def test_y_from_the_palette_switches_the_axis_and_offers_the_other() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await run_command(pilot, app, "linear", "Linear y (y)")
        await wait_for(pilot, lambda: not app.explorer.log_y, "a linear y axis")
        titles = [c.title for c in screen_commands(app.explorer)]
        assert "Log y (y)" in titles and "Linear y (y)" not in titles


def test_help_with_brackets_shows_as_typed() -> None:
    """The palette parses a command's help as markup: a CSV path or a typed value with
    brackets must show as it is."""
    for text in ("[b]bold[/b]", "runs [2] / x", "C:\\data\\[x].csv", "a [ b ] c"):
        assert Content.from_markup(literal_markup(text)).plain == text


def notes(app: WeightDecayApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]
