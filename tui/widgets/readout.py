"""One line under the chart: the newest epoch's numbers, to read rather than eyeball (R² of
the test loss beside the losses, for regression: engine/events.py `r_squared`; the train and
test accuracy first, for classification)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.state.run_state import RunState
from tui.theme import TEST_COLOR, TRAIN_COLOR, swatch


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def percent(share: float | None) -> str:
    """0.9778 → '97.78%'."""
    return "–" if share is None else f"{100 * share:.4g}%"


def readout_text(run: RunState | None, width: int | None = None) -> Text:
    """The newest epoch's numbers, most important first; with a `width`, only the fields that
    fit whole (a number cut at the edge would be a wrong number)."""
    last = None if run is None else run.last
    if last is None:
        return Text("waiting for the first epoch…", style="dim")
    train_style, test_style = f"bold {swatch(TRAIN_COLOR)}", f"bold {swatch(TEST_COLOR)}"
    fields: list[tuple[str, str, str]] = []
    if last.train_accuracy is not None:
        # Classification: what was predicted right comes first (R² means nothing here).
        fields.append(("train acc", percent(last.train_accuracy), train_style))
        if last.test_accuracy is not None:
            fields.append(("test acc", percent(last.test_accuracy), test_style))
    fields += [("train", num(last.train_loss), train_style)]
    if last.test_loss is not None or last.train_accuracy is None:
        fields.append(("test", num(last.test_loss), test_style))
    r2 = run.r_squared if run is not None and last.train_accuracy is None else None
    if r2 is not None:
        # R² on the test rows: 1 perfect, 0 no better than their mean, below 0 worse.
        fields.append(("R²", num(r2), "bold"))
    fields += [
        ("‖w‖²", num(last.weight_sq_norm), ""),
        ("λ‖w‖²", num(last.penalty), ""),
        ("objective", num(last.objective), ""),
    ]
    text = Text()
    for label, value, style in fields:
        gap = "  " if text else ""
        if width is not None and text and len(text) + len(f"{gap}{label} {value}") > width:
            break
        text.append(f"{gap}{label} ", style="dim")
        text.append(value, style=style)
    return text


class Readout(Static):
    """Redrawn for its width on every resize: it shows the fields that fit."""

    _run: RunState | None = None

    def show(self, run: RunState | None) -> None:
        self._run = run
        self.refresh()

    def render(self) -> Text:
        return readout_text(self._run, self.content_size.width or None)
