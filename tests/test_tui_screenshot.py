"""The palette's "Save screenshot" saves into the runs folder, else the current folder, and says
where (issue 10: Textual's default, ~/Downloads, is missing on many servers and the save
failed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.command import CommandInput, CommandList, CommandPalette
from textual.pilot import Pilot

from support.tui import make_app, running, send, sync, wait_for
from tui.app import WeightDecayApp
from tui.screenshot import ScreenshotError, save_screenshot

SVG = "<svg>x</svg>"
NAME = "wdtui-20260101-120000.svg"


def test_saves_in_the_runs_folder_creating_it(tmp_path: Path) -> None:
    runs = tmp_path / "deep" / "runs"
    saved = save_screenshot(SVG, runs, NAME)
    assert saved == runs.resolve() / NAME and saved.read_text() == SVG


def test_a_second_screenshot_in_the_same_second_keeps_the_first(tmp_path: Path) -> None:
    first = save_screenshot(SVG, tmp_path, NAME)
    second = save_screenshot("<svg>y</svg>", tmp_path, NAME)
    assert second.name == "wdtui-20260101-120000-2.svg"
    assert first.read_text() == SVG and second.read_text() == "<svg>y</svg>"


def test_a_runs_folder_that_cannot_be_made_falls_back_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the folder should be")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    saved = save_screenshot(SVG, blocker, NAME)
    assert saved == here.resolve() / NAME and saved.read_text() == SVG


def unwritable_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs folder that cannot be made (a file is in its way) and a current folder that is
    gone: refused to root too. Returns the runs folder."""
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    return blocker / "runs"


def test_neither_folder_writable_is_one_line_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = unwritable_places(tmp_path, monkeypatch)
    with pytest.raises(ScreenshotError) as caught:
        save_screenshot(SVG, runs, NAME)
    assert str(caught.value) == (
        f"the runs folder {runs}: Not a directory; the current folder: No such file or directory"
    )


def notes(app: WeightDecayApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def run_from_palette(pilot: Pilot, app: WeightDecayApp, query: str, title: str) -> None:
    send(app, "ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.focused, CommandInput), "the palette's input")
    send(app, *query)

    def first_hit() -> str:
        screen = app.screen
        if not isinstance(screen, CommandPalette):
            return ""
        commands = screen.query_one(CommandList)
        return str(commands.get_option_at_index(0).hit.text) if commands.option_count else ""

    await wait_for(pilot, lambda: first_hit() == title, f"{title!r} first for {query!r}")
    send(app, "enter")


SAVED = re.compile(r"screenshot saved: (.+\.svg)$")


@sync
async def test_the_palette_saves_a_screenshot_in_the_runs_folder_without_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/Downloads
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    app = make_app(runs_dir=str(tmp_path / "runs"))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await run_from_palette(pilot, app, "screenshot", "Save screenshot")
        await wait_for(pilot, lambda: any(map(SAVED.match, notes(app))), "the saved note")
    (note,) = [n for n in notes(app) if SAVED.match(n)]
    path = Path(SAVED.match(note).group(1))  # type: ignore[union-attr]
    assert path.is_absolute() and path.parent == (tmp_path / "runs").resolve()
    text = path.read_text()
    assert text.startswith("<svg") and "loss per epoch" in text.replace("&#160;", " ")
    assert not (tmp_path / "Downloads").exists()


@sync
async def test_an_unwritable_place_is_one_red_line_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = unwritable_places(tmp_path, monkeypatch)
    app = make_app(runs_dir=str(runs))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await run_from_palette(pilot, app, "screenshot", "Save screenshot")
        await wait_for(
            pilot,
            lambda: any(n.startswith("screenshot not saved: the runs folder") for n in notes(app)),
            "the refusal",
        )
        (note,) = [n for n in notes(app) if n.startswith("screenshot not saved")]
        assert "\n" not in note and "the current folder: No such file or directory" in note
        severities = [n.severity for n in app._notifications]
        assert "error" in severities
        await running(pilot, min_epoch=live_epoch(app) + 5)  # still training, still drawn
        assert app.is_running and app.return_code is None


def live_epoch(app: WeightDecayApp) -> int:
    run = app.explorer.live.current
    return 0 if run is None else run.epoch
