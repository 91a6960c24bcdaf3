"""The base of every chart: a subclass says what to draw (`build`); `Plot` lays it out at the
widget's size on each frame, renders it, and times the frame.

Rendering skips plotext's ANSI round trip: plotext would join its character matrix into an
ANSI string and Rich would parse it back, a third of a frame's cost. Here the matrix becomes a
Text directly, one style per run of a colour. That reads plotext 5's private parts
(`_PlotextInternals`); should they move, a frame falls back to textual-plotext's public path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from plotext import _utility as plotext_utility
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot as Figure

MIN_WIDTH, MIN_HEIGHT = 10, 5  # the smallest figure drawn (a smaller widget crops it)


class Plot(PlotextPlot):
    """A chart drawn afresh on every frame, where its size is known, so the data can be laid
    out to its columns. It remembers what its last frame showed and cost."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_y = True  # y drawn as log10(y), with `ticks` labels
        # The last frame: its y scale, when it was painted (the tests' and the benchmark's
        # key-to-screen checks), how long it took (the sweep view paces its charts on it).
        self.painted_log_y: bool | None = None
        self.painted_at = 0.0
        self.last_cost_s = 0.0
        self.frames = 0

    def build(self, plt: Figure, width: int, height: int) -> None:
        """Draw on `plt`, a cleared figure of `width` × `height` cells."""
        raise NotImplementedError

    def lay_out(self, width: int, height: int) -> None:
        lay_out(self.plt, width, height, self.build)

    def draw(self, width: int, height: int, theme: str | None) -> Text:
        """The frame as Text: `build` on one figure the size of the widget. A chart made of
        panels stacked one above the other overrides this (`matrix_text`'s `into`)."""
        self.lay_out(width, height)
        if theme is not None:  # after the layout: clearing the figure resets its theme
            self.plt.theme(theme)
        return matrix_text(self.plt, width, height)

    def render(self) -> RenderResult:
        started = time.perf_counter()
        width, height = max(MIN_WIDTH, self.size.width), max(MIN_HEIGHT, self.size.height)
        theme = self._get_plotext_theme_name(self.app.theme)
        try:
            result: RenderResult = self.draw(width, height, theme)
        except Exception:  # plotext's internals moved: the slower, public way (one figure)
            self.lay_out(width, height)
            self.plt.theme(theme)
            result = super().render()
        self.painted_log_y, self.painted_at = self.log_y, time.perf_counter()
        self.last_cost_s = self.painted_at - started
        self.frames += 1
        return result


def lay_out(
    plt: Figure, width: int, height: int, build: Callable[[Figure, int, int], None]
) -> None:
    """Clear `plt`, size it, and let `build` draw on it."""
    plt.clear_figure()
    plt.plotsize(width, height)
    build(plt, width, height)


def render_text(plot: Plot, width: int, height: int) -> Text:
    """Lay out and render at a given size without a screen (the benchmark, the tests): the
    same work as a frame of the live widget."""
    return plot.draw(width, height, None)


_Colors = tuple[object, object, object]  # plotext's (foreground, style, background) of a cell


class _Matrix(Protocol):
    # One list per row, the bottom row first; one entry per column.
    marker: list[list[str]]
    fullground: list[list[object]]
    style: list[list[object]]
    background: list[list[object]]


class _Monitor(Protocol):
    matrix: _Matrix


class _PlotextInternals(Protocol):
    """What the fast path reads of plotext 5's figure, beyond textual-plotext's typed API."""

    monitor: _Monitor

    def _set_sizes(self) -> None: ...

    def _build_matrix(self) -> None: ...


def matrix_text(
    plt: Figure,
    width: int,
    height: int,
    *,
    into: Text | None = None,
    rows: int | None = None,
    title: Sequence[Text] = (),
    joined: bool = False,
) -> Text:
    """What `PlotextPlot.render` draws, as a Text made straight from plotext's matrix.

    For a panel of a stacked chart: appended to `into` (after a line break), only its first
    `rows` rows, and its `title` written into its top frame line (`frame_title`)."""
    plt.plotsize(width, height)
    plt._set_size(width, height)  # as textual-plotext does: plotsize alone may not resize
    figure = cast(_PlotextInternals, plt)
    figure._set_sizes()
    figure._build_matrix()
    matrix = figure.monitor.matrix
    text = Text(no_wrap=True, overflow="crop") if into is None else into
    top = len(matrix.marker) - 1
    bottom = 0 if rows is None else max(0, top + 1 - rows)
    for row in range(top, bottom - 1, -1):
        if row != top or into is not None:
            text.append("\n")
        markers = matrix.marker[row]
        colors = list(
            zip(matrix.fullground[row], matrix.style[row], matrix.background[row], strict=True)
        )
        if row == top and (title or joined):
            frame_title(text, list(markers), colors, title, joined)
        else:
            _append_runs(text, markers, colors, 0, len(markers))
    return text


def _append_runs(
    text: Text, markers: Sequence[str], colors: Sequence[_Colors], start: int, end: int
) -> None:
    """Columns start..end of a row, one span per run of a colour."""
    run = start
    for col in range(start + 1, end + 1):
        if col == end or colors[col] != colors[run]:
            text.append("".join(markers[run:col]), _rich_style(colors[run]))
            run = col


def frame_title(
    text: Text, markers: list[str], colors: Sequence[_Colors], title: Sequence[Text], joined: bool
) -> None:
    """A panel's top frame line with `title` written in after the corner ('┌─ test (log) ──┐'):
    a name that costs no row. The title's parts go in order, as many as there is room for.
    `joined`: the panel continues the one above, so its corners are ├ and ┤."""
    corner = markers.index("┌") if "┌" in markers else -1
    close = len(markers) - 1 - markers[::-1].index("┐") if "┐" in markers else -1
    if corner < 0 or close < corner:
        _append_runs(text, markers, colors, 0, len(markers))
        return
    if joined:
        markers[corner], markers[close] = "├", "┤"
    start = corner + 2
    written = 0
    fitting = []
    for part in title:
        if written + len(part) > close - 1 - start:
            break
        fitting.append(part)
        written += len(part)
    _append_runs(text, markers, colors, 0, start if written else len(markers))
    if written:
        for part in fitting:
            text.append_text(part)
        _append_runs(text, markers, colors, start + written, len(markers))


_STYLES: dict[tuple[object, object, object], Style] = {}


def _rich_style(colors: tuple[object, object, object]) -> Style:
    """plotext's (foreground, style, background) as a Rich Style, via its own ANSI codes
    (cached: a plot uses a handful of colour triples)."""
    style = _STYLES.get(colors)
    if style is None:
        fg, st, bg = colors
        ansi = plotext_utility.colors_to_ansi(fg, st, bg)
        parsed = Text.from_ansi(f"{ansi}x{plotext_utility.ansi_end}")
        style = parsed.get_style_at_offset(Console(), 0) if parsed.spans else Style()
        _STYLES[colors] = style
    return style
