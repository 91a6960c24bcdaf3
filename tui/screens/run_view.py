"""A saved run's whole curve and what it came to; or two saved runs on one chart, with only the
settings that differ between them.

The runs are replayed through `RunState.from_saved` (the events a live run emits), so the chart
is the explorer's own `LossChart` with the same views (y, v, x). Nothing trains here and nothing
changes after the screen opens: the chart and the text are drawn once, and again on a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from engine.catalog import read_entry
from engine.events import RUNNING
from tui.download import deliver_saved, folder_note
from tui.state.run_outcome import outcome
from tui.state.run_state import RunState
from tui.theme import MARK_COLOR, NORM_COLOR, OVERLAY_COLORS, TEST_COLOR, TRAIN_COLOR, swatch
from tui.widgets.key_footer import KeyFooter
from tui.widgets.loss_chart import VIEW_BINDINGS, VIEW_TITLES, ChartView, LossChart, next_view
from tui.widgets.loss_legend import scale_tag
from tui.widgets.run_summary import Shown, comparison, summary

NARROW_BELOW = 110  # columns: below, the one run's panel is narrower
NOTE_S = 12.0  # how long D's note shows (long enough to copy a folder's path)
WIDE = 100  # columns: from here, a comparison's settings and outcome tables side by side

if TYPE_CHECKING:  # engine.store imports torch, loaded by the time a saved run is opened
    from engine.store import SavedRun


def shown_run(saved: SavedRun, state: RunState) -> Shown:
    """What the view lists of `saved`: config.json as saved, and its outcome (the changes with
    their steps from summary.json, when the folder has one)."""
    entry = read_entry(Path(saved.path))
    record = entry.config or dict(saved.started.config)
    has_summary = (Path(saved.path) / "summary.json").is_file()
    still_running = saved.finished is None and entry.status == RUNNING
    return Shown(
        Path(saved.path).name,
        record,
        outcome(saved, entry.changes if has_summary else None, still_running=still_running),
        state.is_classifier,
    )


class RunViewScreen(Screen[None]):
    """`RunViewScreen([saved])`: one run's whole curve, its λ/lr marks and its summary.
    `RunViewScreen([a, b])`: both on one chart (A bright, B dimmed) and a table of the settings
    that differ, then both outcomes. Escape or q closes it."""

    AUTO_FOCUS = "#rv-panel"  # the text scrolls with the arrow keys at once

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Close the run view"),
        # y, v and x as in the explorer: two (three) bindings per key, each labelled with what
        # it switches to; check_action keeps the one that applies.
        Binding(
            "y", "toggle_log('linear')", "Linear y", tooltip="Draw the chart on a linear y axis"
        ),
        Binding("y", "toggle_log('log')", "Log y", tooltip="Draw the chart on a log y axis"),
        *VIEW_BINDINGS,
        Binding("x", "toggle_log_x('log')", "Log x", tooltip="Draw the chart on a log epoch axis"),
        Binding(
            "x",
            "toggle_log_x('linear')",
            "Linear x",
            tooltip="Draw the chart on a linear epoch axis again",
        ),
        Binding(
            "D",
            "download",
            "Download",
            tooltip="The run's files (each compared run's): in a browser (wdtui serve), "
            "metrics.csv, config.json and weights.pt downloaded; in a terminal, their folder",
        ),
    ]

    DEFAULT_CSS = """
    RunViewScreen { layout: vertical; background: $background; }
    RunViewScreen #rv-body { height: 1fr; }
    RunViewScreen.-compare #rv-body { layout: vertical; }
    RunViewScreen #rv-chart-box {
        width: 1fr;
        height: 1fr;
        min-height: 8;
        border: round $primary 50%;
        border-title-color: $text-muted;
    }
    RunViewScreen #rv-legend { height: auto; max-height: 3; padding: 0 1; }
    RunViewScreen #rv-panel {
        width: 46;
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $text-muted;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    RunViewScreen.-narrow #rv-panel { width: 36; }
    RunViewScreen.-compare #rv-panel { width: 1fr; height: auto; max-height: 50%; }
    RunViewScreen #rv-panel:focus { border: round $primary; }
    """

    def __init__(self, saved: Sequence[SavedRun]) -> None:
        if len(saved) not in (1, 2):
            raise ValueError(f"the run view shows one run or two, not {len(saved)}")
        super().__init__()
        self.runs = [RunState.from_saved(run, n) for n, run in enumerate(saved, 1)]
        self.shown = [shown_run(run, state) for run, state in zip(saved, self.runs, strict=True)]
        self.folders = [Path(run.path) for run in saved]
        self.log_y = True
        self.log_x = False
        self.chart_view: ChartView = "loss"
        self.set_class(len(saved) == 2, "-compare")

    def compose(self) -> ComposeResult:
        with Horizontal(id="rv-body"):
            with Vertical(id="rv-chart-box"):
                yield LossChart(id="rv-chart")
                yield Static(id="rv-legend")
            with VerticalScroll(id="rv-panel"):
                yield Static(id="rv-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#rv-panel").border_title = (
            "saved run" if len(self.shown) == 1 else "A against B"
        )
        self._fit()
        self._redraw()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The panel's text for the terminal's width: a comparison's two tables side by side
        from WIDE columns."""
        width = self.app.size.width
        self.set_class(width < NARROW_BELOW, "-narrow")
        text = self.query_one("#rv-text", Static)
        if len(self.shown) == 1:
            text.update(summary(self.shown[0]))
        else:
            text.update(comparison(self.shown[0], self.shown[1], wide=width >= WIDE))

    # ----- drawing --------------------------------------------------------------------------

    @property
    def view(self) -> ChartView:
        """The chart's view: accuracy falls back to the loss for a regression."""
        classifier = self.runs[0].is_classifier
        return "loss" if self.chart_view == "accuracy" and not classifier else self.chart_view

    def _redraw(self) -> None:
        current, earlier = self.runs[0], self.runs[1:]
        self.query_one("#rv-chart-box").border_title = VIEW_TITLES[self.view]
        self.query_one(LossChart).show(current, earlier, self.log_y, self.view, self.log_x)
        self.query_one("#rv-legend", Static).update(self.legend())

    def legend(self) -> Text:
        """Each run's colours and name (A, B: their λ, optimizer, problem), the marks' key,
        and the axes' scales."""
        view = self.view
        text = Text()
        for n, run in enumerate(self.runs):
            if n:
                text.append("  ")
                text.append("B ", style="bold")
                text.append("━━", style=f"bold {swatch(OVERLAY_COLORS[0])}")
            else:
                text.append("A " if len(self.runs) == 2 else "", style="bold")
                if view == "norm":
                    text.append("━━", style=f"bold {swatch(NORM_COLOR)}")
                else:
                    text.append("━", style=f"bold {swatch(TEST_COLOR)}")
                    text.append("━", style=f"bold {swatch(TRAIN_COLOR)}")
            text.append(f" {run.label} {run.config.source_name}")
            if n and run.epochs_seen > self.runs[0].epochs_seen:
                text.append(f" (cut at A's {self.runs[0].epochs_seen:,} epochs)", style="dim")
        if self.runs[0].marks:
            text.append("  │ λ/lr changed", style=swatch(MARK_COLOR))
        text.append(f"  {scale_tag(self.log_y, view, self.log_x)}", style="dim italic")
        return text

    # ----- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_log" and parameters:
            return parameters[0] == ("linear" if self.log_y else "log")
        if action == "toggle_log_x" and parameters:
            return parameters[0] == ("linear" if self.log_x else "log")
        if action == "chart_view" and parameters:
            return parameters[0] == self._next_view()
        return True

    def _next_view(self) -> ChartView:
        return next_view(self.view, self.runs[0].is_classifier)

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.refresh_bindings()
        self._redraw()

    def action_toggle_log_x(self) -> None:
        self.log_x = not self.log_x
        self.refresh_bindings()
        self._redraw()

    def action_chart_view(self, view: str) -> None:
        self.chart_view = self._next_view()
        self.refresh_bindings()
        self._redraw()

    def action_close(self) -> None:
        self.dismiss()

    def action_download(self) -> None:
        """Each run's files as they are in its folder (tui/download.py)."""
        if self.app.is_web:
            note = deliver_saved(self.app, self.folders)
        else:  # the files are on this machine already
            note = "; ".join(folder_note(folder) for folder in self.folders)
        self.notify(note, markup=False, timeout=NOTE_S)


__all__ = ["RunViewScreen"]
