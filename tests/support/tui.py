"""Helpers for the explorer's Pilot tests: making the app, typing into it, waiting on it.

Keys are posted to the app the way the terminal driver posts them (`send`), because
`Pilot.press` waits for the process to go idle, which never happens while a trainer runs. Every
wait polls a condition with a timeout; nothing assumes a fixed sleep is long enough.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from engine.config import RunConfig
from tui.app import WeightDecayApp
from tui.screens.sweep_screen import SweepScreen
from tui.state.live_run import LiveRun
from tui.widgets.status_line import StatusLine

LONG = 10**6  # epochs: a run or a sweep that is still going whenever a test looks
SIZE = (120, 40)


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run (the project has no pytest asyncio plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def make_app(**overrides: object) -> WeightDecayApp:
    settings: dict[str, object] = {"preset": "line", "epochs": LONG, "save": False}
    settings.update(overrides)
    return WeightDecayApp(RunConfig(**settings))  # type: ignore[arg-type]


def live_of(pilot: Pilot) -> LiveRun:
    """The explorer's runs."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    return app.explorer.live


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


async def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll without the pilot: an app that is exiting no longer answers pauses."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def send(app: WeightDecayApp, *keys: str) -> None:
    """Queue key events in order, as the terminal driver does (names like 'enter', or one
    character)."""
    for key in keys:
        char = key if len(key) == 1 else {"enter": "\r", "space": " "}.get(key)
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char)
        event.set_sender(app)
        app.post_message(event)


async def keys(pilot: Pilot, *names: str) -> None:
    send(pilot.app, *names)  # type: ignore[arg-type]
    await pilot.pause(0.05)


async def open_sweep_view(pilot: Pilot, app: WeightDecayApp) -> SweepScreen:
    """Press w and wait for the sweep view; returns it."""
    await keys(pilot, "w")
    await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
    screen = app.screen
    assert isinstance(screen, SweepScreen)
    return screen


async def type_into(pilot: Pilot, field: str, text: str, enter: bool = True) -> None:
    """Focus a field, clear it, type `text` character by character, and press Enter."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    box = app.query_one(f"#{field}", Input)
    box.focus()
    await pilot.pause(0.05)
    # Editing keys run as binding actions, after directly handled characters already queued:
    # clear first, then type, as a person would.
    if box.value:
        send(app, "end", *["backspace"] * len(box.value))
        await wait_for(pilot, lambda: box.value == "", f"{field} to be cleared")
        await pilot.pause(0.05)
    send(app, *text)
    await wait_for(pilot, lambda: box.value == text, f"{field} == {text!r}")
    if enter:
        send(app, "enter")
        # Enter has been handled once its outcome shows: a value the field or the trainer
        # refused says "(not applied)"; an applied λ or lr leaves the field. (A valid epochs
        # value waits for r or n: Enter changes nothing there.)
        await wait_for(
            pilot,
            lambda: (
                error_of(app, field).endswith("(not applied)")
                or app.focused is not box
                or (field == "epochs" and not error_of(app, field))
            ),
            f"Enter in {field} to be handled",
        )


def status_of(app: WeightDecayApp) -> str:
    return str(app.query_one(StatusLine).render())


def error_of(app: WeightDecayApp, field: str) -> str:
    error = app.query_one(f"#{field}-error", Static)
    return str(error.render()) if error.display else ""


async def running(pilot: Pilot, min_epoch: int = 5) -> None:
    live = live_of(pilot)
    await wait_for(
        pilot,
        lambda: (
            live.current is not None
            and live.current.status == "running"
            and live.current.epoch >= min_epoch
        ),
        "the run to be training",
    )


async def epochs_advance(pilot: Pilot) -> None:
    run = live_of(pilot).current
    assert run is not None
    start = run.epoch
    await wait_for(pilot, lambda: run.epoch > start + 10, "more epochs")


def live_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def trainer_thread() -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == "wdtui-trainer")


async def wait_for_thread_end(thread: threading.Thread, timeout: float = 10) -> None:
    """Poll without the pilot: after quitting, the app no longer processes pauses."""
    await until(lambda: not thread.is_alive(), "the trainer thread to end", timeout)


def shown_text(screen: Screen[Any], selector: str) -> str:
    """What a widget shows on screen, as the terminal draws it (wrapped, cut at its size),
    without whitespace: a long word may be folded mid-word where it wraps."""
    widget = screen.query_one(selector)
    region = widget.region
    if not widget.display or not region.area:
        return ""
    assert screen.region.contains_region(region), "the widget is (partly) off screen"
    lines = widget.render_lines(Region(0, 0, region.width, region.height))
    return squash("".join(strip.text for strip in lines))


def squash(text: str) -> str:
    return "".join(text.split())


def title_of(screen: SweepScreen) -> str:
    """The sweep view's title: the settings of the results it shows."""
    return str(screen.query_one("#sweep-top").border_title)


def notices(app: App[object]) -> list[str]:
    """The notifications shown so far, as text."""
    return [str(notification.message) for notification in app._notifications]


async def settle(pilot: Pilot, timeout: float = 60) -> None:
    """Wait until the run has finished and every widget shows its final state, then a frame
    more (snapshots are taken right after)."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, app.explorer.settled, "the run to finish and show", timeout)
    await pilot.pause(0.1)


class SweepHost(App[None]):
    """The explorer's wiring in miniature: one installed SweepScreen, opened with `w` (and at
    once), ApplyLam recorded, the sweep stopped and joined on quit."""

    BINDINGS = [Binding("w", "sweep", "Sweep")]  # noqa: RUF012

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.config = config
        self.applied: list[float] = []
        self.sweep_screen = SweepScreen(config)

    def compose(self) -> ComposeResult:
        yield Static("the live run", id="main")

    def on_mount(self) -> None:
        self.install_screen(self.sweep_screen, "sweep")
        self.action_sweep()

    def action_sweep(self) -> None:
        if not isinstance(self.screen, SweepScreen):
            self.sweep_screen.use_config(self.config)
            self.push_screen("sweep")

    def on_sweep_screen_apply_lam(self, message: SweepScreen.ApplyLam) -> None:
        self.applied.append(message.lam)

    async def action_quit(self) -> None:
        self.sweep_screen.stop_and_join()
        self.exit()
