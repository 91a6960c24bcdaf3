"""One line under the chart: the newest epoch's numbers, to read rather than eyeball (R² of
the test loss beside the losses, for regression: engine/events.py `r_squared`)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.state.run_state import RunState
from tui.theme import TEST_COLOR, TRAIN_COLOR, swatch


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def readout_text(run: RunState | None, width: int | None = None) -> Text:
    """The newest epoch's numbers, most important first; with a `width`, only the fields that
    fit whole (a number cut at the edge would be a wrong number)."""
    last = None if run is None else run.last
    if last is None:
        return Text("waiting for the first epoch…", style="dim")
    r2 = run.r_squared if run is not None else None
    fields: list[tuple[str, float | None, str]] = [
        ("train", last.train_loss, f"bold {swatch(TRAIN_COLOR)}"),
        ("test", last.test_loss, f"bold {swatch(TEST_COLOR)}"),
        # R² on the test rows: 1 perfect, 0 no better than their mean, below 0 worse.
        *([("R²", r2, "bold")] if r2 is not None else []),
        ("‖w‖²", last.weight_sq_norm, ""),
        ("λ‖w‖²", last.penalty, ""),
        ("objective", last.objective, ""),
    ]
    text = Text()
    for label, value, style in fields:
        gap = "  " if text else ""
        if width is not None and text and len(text) + len(f"{gap}{label} {num(value)}") > width:
            break
        text.append(f"{gap}{label} ", style="dim")
        text.append(num(value), style=style)
    return text


class Readout(Static):
    """Redrawn for its width on every resize: it shows the fields that fit."""

    _run: RunState | None = None

    def show(self, run: RunState | None) -> None:
        self._run = run
        self.refresh()

    def render(self) -> Text:
        return readout_text(self._run, self.content_size.width or None)
