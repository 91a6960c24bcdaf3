"""The status line: what the run is doing, how fast, on what, and where it is saved; and, while
it trains with lr·2λ ≥ 1, the engine's warning that the decay step alone overshoots w = 0."""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widgets import Static

from engine.diagnosis import decay_step_warning
from tui.state.pace import pace_text
from tui.state.run_state import RunState
from tui.theme import ALERT_STYLE, WARNING_STYLE, message_style, status_style

# A caution, not an error: the run goes on (it may yet diverge, and then says so in red).


def run_warning(run: RunState) -> str | None:
    """The live run's decay-step warning (engine/diagnosis.py), or None. From the λ and lr the
    trainer reports in use (`RunState.lam`, `.lr`), so it follows every live change of either,
    from the epoch that uses it, as the `λ=… lr=…` beside it does."""
    return decay_step_warning(run.config, run.lam, run.lr) if run.active else None


CLASS_NAMES_SHOWN = 40  # characters of class names the status line spells out


def classes_text(classes: tuple[str, ...]) -> str:
    """'classes benign, malignant', or '10 classes (0 … 9)' when the names are long."""
    names = ", ".join(classes)
    if len(names) <= CLASS_NAMES_SHOWN:
        return f"classes {names}"
    return f"{len(classes)} classes ({classes[0]} … {classes[-1]})"


def status_text(
    run: RunState | None,
    rate: float | None,
    note: str = "",
    loading: bool = False,
    pace: float | None = None,
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
            text.append(f" {pace_text(pace)}", style="dim")
        text.append(f"  {run.device or c.device}", style="dim" if not run.device else "")
        norm = " BN" if c.norm == "batch" else ""
        model = "" if c.model == "linear" else f"mlp {'×'.join(map(str, c.hidden))}{norm}  "
        text.append(f"  {model}{c.reg} + {c.optimizer}  λ={run.lam:g} lr={run.lr:g}")
        text.append(f"  {c.source_name}", style="italic")
        if run.classes is not None:  # classification: its classes, by name where they fit
            text.append(f" {classes_text(run.classes)}", style="dim")
        where = f"saved in {run.run_dir}" if run.run_dir else "not saved"
        text.append(f"  {where}", style="dim")
        warning = run_warning(run)
        if warning is not None:
            text.append(f"\n⚠ {warning}", style=WARNING_STYLE)
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
        self,
        run: RunState | None,
        rate: float | None,
        note: str = "",
        loading: bool = False,
        pace: float | None = None,
    ) -> None:
        text = status_text(run, rate, note, loading, pace)
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
