"""Keys a browser keeps for itself have others (`wdtui serve`): `:` for ctrl+p (print),
alt+backspace for ctrl+w (close the tab) in a field, and `q` for ctrl+q (quit) on every
screen. The Footer in a browser names `:` as the palette key.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual._xterm_parser import XTermParser
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from engine.config import RunConfig
from engine.events import Finished
from engine.store import load_run
from engine.trainer import Trainer
from support.tui import make_app, open_sweep_view, running, send, sync, type_into, until, wait_for
from support.web import browser_app
from tui.app import WeightDecayApp
from tui.screens.decay_screen import DecayScreen
from tui.screens.explorer import ExplorerScreen
from tui.screens.help_screen import HelpScreen
from tui.screens.run_view import RunViewScreen
from tui.screens.runs_screen import RunsScreen
from tui.widgets.key_footer import KeyFooter

# What a browser's terminal (xterm.js) sends for alt+backspace, as most terminals do.
ALT_BACKSPACE = "\x1b\x7f"


def palette_key(app: WeightDecayApp) -> tuple[str, str] | None:
    keys = [k for k in app.explorer.query_one(KeyFooter).query(FooterKey)]
    palette = [k for k in keys if "-command-palette" in k.classes]
    return (palette[0].key_display, palette[0].description) if palette else None


@sync
async def test_in_a_browser_the_footer_names_colon_as_the_palette_key() -> None:
    app = browser_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await wait_for(pilot, lambda: palette_key(app) == (":", "palette"), "`: palette`")


@sync
async def test_in_a_terminal_the_footer_keeps_ctrl_p() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await wait_for(pilot, lambda: palette_key(app) == ("^p", "palette"), "`^p palette`")


@sync
async def test_colon_opens_the_palette_and_is_typed_into_a_field() -> None:
    app = browser_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        send(app, ":")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        send(app, "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplorerScreen), "the explorer")
        # ctrl+p still opens it (a terminal's key), even from a field.
        send(app, "l", "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        send(app, "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplorerScreen), "the explorer")
        field = app.explorer.query_one("#lam", Input)
        field.focus()
        await pilot.pause(0.05)
        send(app, "end", ":")
        await wait_for(pilot, lambda: field.value.endswith(":"), "`:` typed into the λ field")
        assert isinstance(app.screen, ExplorerScreen)


def send_bytes(app: WeightDecayApp, data: str) -> None:
    """Post the keys `data` parses into, as Textual's drivers (the WebDriver too) do."""
    parser = XTermParser()
    for message in [*parser.feed(data), *parser.feed("")]:
        message.set_sender(app)
        app.post_message(message)


@sync
async def test_alt_backspace_deletes_the_word_left_of_the_cursor_in_a_field() -> None:
    """Textual reads ESC DEL (alt+backspace) as ctrl+w: the Input deletes back to the start
    of the word, as ctrl+w does where the browser leaves it alone."""
    app = browser_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        await type_into(pilot, "lam", "0.001", enter=False)
        field = app.explorer.query_one("#lam", Input)
        send_bytes(app, ALT_BACKSPACE)
        await wait_for(pilot, lambda: field.value == "0.", "the last word deleted")
        send(app, "ctrl+w")
        await wait_for(pilot, lambda: field.value == "", "the word before it deleted")
        assert app.focused is field


def saved_run(folder: Path) -> Path:
    events: list[Any] = []
    config = RunConfig(preset="line", epochs=5, runs_dir=str(folder.parent / "made"))
    Trainer(config, events.append).run()
    (finished,) = [e for e in events if isinstance(e, Finished)]
    shutil.move(finished.run_dir, folder)
    return folder


async def q_goes_back(pilot: Pilot, app: WeightDecayApp, screen: type) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, screen), screen.__name__)
    send(app, "q")
    await wait_for(pilot, lambda: isinstance(app.screen, ExplorerScreen), f"q to leave {screen}")


@sync
async def test_q_leaves_every_screen_and_quits_from_the_explorer(tmp_path) -> None:
    """ctrl+q's alternative: q goes back from the help, the runs screen, the sweep view, the
    decay view and the run view, and quits from the explorer; in a field Escape comes first."""
    run = saved_run(tmp_path / "a-run")
    app = browser_app(runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        for key, screen in (("question_mark", HelpScreen), ("o", RunsScreen), ("d", DecayScreen)):
            send(app, key)
            await q_goes_back(pilot, app, screen)
        await open_sweep_view(pilot, app)
        send(app, "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplorerScreen), "q to leave")
        app.push_screen(RunViewScreen([load_run(run)]))
        await q_goes_back(pilot, app, RunViewScreen)
        field = app.explorer.query_one("#lam", Input)
        send(app, "l")
        await wait_for(pilot, lambda: app.focused is field, "l to focus the λ field")
        send(app, "q")
        await wait_for(pilot, lambda: field.value.endswith("q"), "q typed into the field")
        assert app.return_code is None
        send(app, "escape")
        await wait_for(pilot, lambda: app.focused is None, "Escape to leave the field")
        send(app, "q")
        await until(lambda: app.return_code == 0, "q to quit")
