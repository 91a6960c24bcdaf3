"""One line under the chart: the newest epoch's numbers, to read rather than eyeball."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.state.run_state import RunState
from tui.theme import TEST_COLOR, TRAIN_COLOR, swatch


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def readout_text(run: RunState | None) -> Text:
    text = Text()
    last = None if run is None else run.last
    if last is None:
        text.append("waiting for the first epoch…", style="dim")
        return text
    text.append("train ", style="dim")
    text.append(num(last.train_loss), style=f"bold {swatch(TRAIN_COLOR)}")
    text.append("  test ", style="dim")
    text.append(num(last.test_loss), style=f"bold {swatch(TEST_COLOR)}")
    text.append("  ‖w‖² ", style="dim")
    text.append(num(last.weight_sq_norm))
    text.append("  λ‖w‖² ", style="dim")
    text.append(num(last.penalty))
    text.append("  objective ", style="dim")
    text.append(num(last.objective))
    return text


class Readout(Static):
    def show(self, run: RunState | None) -> None:
        self.update(readout_text(run), layout=False)
