"""The sweep view's two lines of text: the status row and the best-λ readout."""

from __future__ import annotations

from rich.text import Text

from tui.state.sweep_state import SweepState
from tui.theme import message_style, status_style


def status_text(state: SweepState | None, stopping: bool) -> Text:
    """The status row: what the sweep is doing; no timing once it has ended (snapshots).
    One line, cut at the screen's edge: errors go under the λ field instead, in full."""
    text = Text()
    if state is None:
        text.append("● ready", style=status_style("ready"))
        text.append("  Enter starts a sweep of the λ values above", style="dim")
    else:
        status = "stopping" if stopping and state.active else state.status
        text.append(f"● {status}", style=status_style(status))
        text.append(f"  epoch {state.epoch:,}/{state.total_epochs:,}")
        text.append(f"  {len(state.lams)} members")
        rate = state.rate()
        if state.active and rate is not None:  # no timing once finished (snapshots)
            text.append(f"  {rate:,.0f} epochs/s")
        where = f"saved in {state.run_dir}" if state.run_dir else "not saved"
        text.append(f"  {where}", style="dim")
    return text


def readout_text(state: SweepState | None) -> Text:
    """The best λ and its numbers; the members not plotted, and why."""
    text = Text()
    if state is None:
        text.append("best λ: none yet", style="dim")
        return text
    k = state.best_index()
    if k is None:
        text.append("best λ: none yet", style="dim")
    else:
        basis = "train loss (no test split)" if state.test is None else "test loss"
        text.append(f"best λ = {state.lams[k]:g}", style="bold green")
        text.append(" (so far)" if state.active else "", style="dim")
        text.append(f"  lowest {basis}: {state.scores[k]:.4g}")
        text.append(f"  train {state.train[k]:.4g}  ‖w‖ {state.norm[k]:.4g}", style="dim")
        text.append("  a: apply it to the live run", style="italic")
    off = sorted(state.off_scale())
    if off:
        which = ", ".join(f"{state.lams[k]:g}" for k in off)
        text.append(f"\noff the charts' scale (train loss blew up, not yet inf): λ {which}")
    diverged = state.diverged()
    if diverged:
        which = ", ".join(f"{lam:g}" for lam in diverged)
        text.append(f"\ndiverged (not plotted): λ {which}", style=status_style("diverged"))
    if state.message and state.status in ("failed", "stopped"):
        text.append(f"\n{state.message}", style=message_style(state.status))
    return text
