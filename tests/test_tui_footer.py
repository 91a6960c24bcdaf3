"""The Footer shows the essential keys whole at 80 columns, more on wider terminals, and y's
label names the axis it switches to.

Issue 10: at 80 columns the Footer ended `r Restart n N▏^p paletteo`: s, w and q could not be
seen, a label was cut, and a stray letter showed beside the palette key.
"""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from support.tui import make_app, running, send, sync, wait_for
from tui.app import WeightDecayApp
from tui.screens.explorer import ExplorerScreen
from tui.widgets.key_footer import PALETTE_BORDER, KeyFooter, key_width

ESSENTIAL = [
    ("?", "Help"),
    ("space", "Pause"),
    ("+", "λ↑"),
    ("-", "λ↓"),
    ("r", "Restart"),
    ("n", "New"),
    ("s", "Stop"),
    ("w", "Sweep"),
    ("q", "Quit"),
]
# v names the chart view it switches to: for a regression, from the loss straight to ‖w‖².
AT_120 = [("l", "Edit λ"), ("y", "Linear y"), ("*", "lr×2"), ("/", "lr÷2"), ("v", "‖w‖²")]
AT_200 = [
    ("o", "Runs"),
    ("x", "Log x"),
    ("L", "Edit lr"),
    ("[", "Slower"),
    ("]", "Faster"),
    (".", "One epoch"),
    ("c", "Clear"),
    ("m", "Smooth"),
]
# Shown where a Footer is wider than 200 columns (and always in the help and the palette).
BEYOND_200 = [("e", "Export"), ("D", "Download"), ("d", "Decay"), ("tab", "Fields")]


def footer_keys(app: WeightDecayApp) -> list[FooterKey]:
    return list(app.explorer.query_one(KeyFooter).query(FooterKey))


def shown_keys(app: WeightDecayApp) -> list[tuple[str, str]]:
    """(key, description) of every key the Footer shows, the palette key left out, each
    checked to be on screen whole: every column of it is that key, not another widget."""
    shown = []
    for key in footer_keys(app):
        region = key.region
        palette = "-command-palette" in key.classes  # drawn with a border on its left
        margin = 1 - (PALETTE_BORDER if palette else 0)
        assert region.width == key_width(key.key_display, key.description) - margin
        for x in range(region.x, region.right):
            widget, _ = app.screen.get_widget_at(x, region.y)
            assert widget is key, f"{key.key_display} {key.description} is covered at x={x}"
        if not palette:
            shown.append((key.key_display, key.description))
    return shown


async def footer_shown(pilot, app: WeightDecayApp, count: int) -> list[tuple[str, str]]:
    await wait_for(
        pilot,
        lambda: len(footer_keys(app)) >= count and all(k.region.width for k in footer_keys(app)),
        f"{count} keys in the Footer",
    )
    return shown_keys(app)


@sync
async def test_at_80_columns_the_footer_shows_every_essential_key_whole() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        shown = await footer_shown(pilot, app, len(ESSENTIAL) + 1)
        assert shown == ESSENTIAL
        palette = footer_keys(app)[-1]
        assert (palette.key_display, palette.description) == ("^p", "palette")
        assert palette.region.right <= 80


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (120, ESSENTIAL + AT_120),
        (
            200,
            ESSENTIAL + AT_120 + AT_200,
        ),
    ],
)
@sync
async def test_wider_terminals_show_more_keys_in_the_declared_order(
    width: int, expected: list[tuple[str, str]]
) -> None:
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await running(pilot)
        assert await footer_shown(pilot, app, len(expected) + 1) == expected


def test_every_key_the_explorer_shows_is_in_the_declared_order() -> None:
    """The declared lists and the bindings agree: each shown key is in ESSENTIAL, AT_120,
    AT_200 or BEYOND_200 (y, v and x counted once: their bindings alternate; t, the class
    templates, is shown for a linear classifier on images only)."""
    shown = {b.key for b in ExplorerScreen.BINDINGS if isinstance(b, Binding) and b.show}
    declared = ESSENTIAL + AT_120 + AT_200 + BEYOND_200
    assert len(shown) == len(declared) + 1


@sync
async def test_the_footer_shows_more_keys_when_the_terminal_widens() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        assert await footer_shown(pilot, app, len(ESSENTIAL) + 1) == ESSENTIAL
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: len(footer_keys(app)) == len(ESSENTIAL + AT_120) + 1, "wider")
        assert await footer_shown(pilot, app, len(ESSENTIAL + AT_120) + 1) == ESSENTIAL + AT_120
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: len(footer_keys(app)) == len(ESSENTIAL) + 1, "narrower")
        assert shown_keys(app) == ESSENTIAL


def y_label(app: WeightDecayApp) -> str:
    """y's label in the Footer ("" while the Footer recomposes)."""
    return next((k.description for k in footer_keys(app) if k.key == "y"), "")


@sync
async def test_y_is_labelled_with_the_axis_it_switches_to() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        await footer_shown(pilot, app, len(ESSENTIAL + AT_120) + 1)
        legend = app.explorer.query_one("#legend")
        assert app.explorer.log_y
        await wait_for(pilot, lambda: y_label(app) == "Linear y", "y's label to say Linear y")
        send(app, "y")
        await wait_for(pilot, lambda: not app.explorer.log_y, "y to switch to linear")
        await wait_for(pilot, lambda: y_label(app) == "Log y", "y's label to say Log y")
        await wait_for(pilot, lambda: "linear y" in str(legend.render()), "the chart's legend")
        send(app, "y")
        await wait_for(pilot, lambda: app.explorer.log_y, "y to switch back to log")
        await wait_for(pilot, lambda: y_label(app) == "Linear y", "y's label to say Linear y")
