"""The status line: what the run is doing, how fast, on what, and where it is saved."""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widgets import Static

from tui.state.run_state import RunState
from tui.theme import ALERT_STYLE, message_style, status_style


def status_text(
    run: RunState | None, rate: float | None, note: str = "", loading: bool = False
) -> Text:
    """One or two lines; nothing in a finished run's text depends on timing (for snapshots)."""
    text = Text()
    if run is None:
        waiting = "● starting  loading PyTorch…" if loading else "no run"
        text.append(waiting, style=status_style("starting"))
    else:
        c = run.config
        text.append(f"● {run.status}", style=status_style(run.status))
        # Fixed widths while running, so the text keeps its length and needs no layout pass.
        total = f"{run.total_epochs:,}"
        epoch = f"{run.epoch:,}".rjust(len(total)) if run.active else f"{run.epoch:,}"
        text.append(f"  epoch {epoch}/{total}")
        if run.active:  # the speed only while training (blank, same width, when paused)
            running = run.status == "running" and rate is not None
            text.append(f"  {rate:>7,.0f} epochs/s" if running else "  " + " " * 16)
        text.append(f"  {run.device or c.device}", style="dim" if not run.device else "")
        model = "" if c.model == "linear" else f"mlp {'×'.join(map(str, c.hidden))}  "
        text.append(f"  {model}{c.reg} + {c.optimizer}  λ={run.lam:g} lr={run.lr:g}")
        text.append(f"  {c.source_name}", style="italic")
        where = f"saved in {run.run_dir}" if run.run_dir else "not saved"
        text.append(f"  {where}", style="dim")
        if run.message and run.status != "completed":
            text.append(f"\n{run.message}", style=message_style(run.status))
    if note:
        text.append(f"\n{note}", style=ALERT_STYLE)
    return text


class StatusLine(Static):
    painted = ""  # the text of the last frame painted (the benchmark's key-to-screen check)

    _shape: tuple[int, int] = (-1, -1)
    _last: Text | None = None

    def show(
        self, run: RunState | None, rate: float | None, note: str = "", loading: bool = False
    ) -> None:
        text = status_text(run, rate, note, loading)
        if text == self._last:  # an idle app (finished run) should cost nothing
            return
        self._last = text
        # A layout pass (the whole screen) only when the text may need another line; the
        # epoch counter changing 12 times a second only repaints this widget.
        shape = (len(text.plain), text.plain.count("\n"))
        self.update(text, layout=shape != self._shape)
        self._shape = shape

    def render_line(self, y: int) -> Strip:
        if y == 0:
            self.painted = str(self.render())
        return super().render_line(y)
