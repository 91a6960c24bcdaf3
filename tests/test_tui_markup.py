"""Text from the user or their data is shown as it is, never parsed as markup.

Review finding: `[/` typed into the λ, lr or epochs field ended the app with a MarkupError
(the error message quoting it was parsed as markup), `[b]x` was reported as "got 'x'"; a CSV's
column or file name with brackets was shown mangled, or crashed the app.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static

from engine.config import RunConfig
from support.tui import (
    LONG,
    SIZE,
    error_of,
    keys,
    make_app,
    open_sweep_view,
    running,
    send,
    status_of,
    sync,
    type_into,
    wait_for,
)
from tui.app import WeightDecayApp
from tui.screens.sweep_screen import SweepScreen

TYPED = ["[/", "[b]x", "[/]", "[b]x[/i]"]


def screen_text(app: App[object]) -> str:
    """Every character on screen, as a person reads it (from Textual's own screenshot)."""
    svg = app.export_screenshot()
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(texts)).replace("\xa0", " ")


@pytest.mark.parametrize("field", ["lam", "lr", "epochs"])
@sync
async def test_markup_typed_into_a_field_is_quoted_as_typed(field: str) -> None:
    app = make_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        for text in TYPED:
            await type_into(pilot, field, text)  # typed, then Enter
            assert app.is_running and app.return_code is None, text
            assert f"'{text}'" in error_of(app, field), (text, error_of(app, field))
        assert "'[b]x[/i]'" in screen_text(app)
        run = live.current
        assert run is not None and run.status == "running"


@sync
async def test_markup_typed_into_the_sweep_lambda_list_is_quoted_as_typed() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        screen = await open_sweep_view(pilot, app)
        field = screen.query_one("#lams", Input)
        error = screen.query_one("#lams-error", Static)
        for text in TYPED:
            field.focus()
            send(app, "end", *["backspace"] * len(field.value))
            await wait_for(pilot, lambda: field.value == "", "the λ list to be cleared")
            send(app, *text)
            await wait_for(pilot, lambda t=text: field.value == t, f"the λ list {text!r}")
            await keys(pilot, "enter")
            refused = f"'{text}' (not started)"
            await wait_for(pilot, lambda r=refused: r in str(error.render()), "the refusal")
            assert app.is_running and app.return_code is None, text
            assert f"'{text}'" in str(error.render()), str(error.render())
        assert isinstance(app.screen, SweepScreen) and app.screen.sweep is None


@sync
async def test_a_csv_with_brackets_in_its_names_is_shown_literally(tmp_path: Path) -> None:
    # The file's name and a column's name look like markup ([b] would be bold, [/ a closing
    # tag); so does the folder the runs go to.
    csv = tmp_path / "[b]d.csv"
    rows = "\n".join(f"{x},{2 * x + 1}" for x in range(30))
    csv.write_text(f"[red]x[/,y\n{rows}\n")
    runs_dir = tmp_path / "[b]runs"
    config = RunConfig(data=str(csv), target="y", epochs=LONG, save=True, runs_dir=str(runs_dir))
    app = WeightDecayApp(config)
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        values = app.query_one("#values", DataTable)
        await wait_for(pilot, lambda: "weight:0" in values.rows, "the weight rows")
        assert str(values.get_row("weight:0")[0]) == "w·[red]x[/"
        preset = app.query_one("#preset #label", Static)
        assert str(preset.render()).startswith("csv: ") and "[b]d.csv" in str(preset.render())
        await wait_for(pilot, lambda: "[b]runs" in status_of(app), "the run folder")
        assert "[b]d.csv" in status_of(app)
        await pilot.pause(0.1)
        shown = screen_text(app)
        assert "w·[red]x[/" in shown
        assert "[b]d.csv" in shown

        await keys(pilot, "w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
        await pilot.pause(0.1)
        assert "λ sweep · [b]d.csv" in screen_text(app)
        assert app.is_running and app.return_code is None
