"""The sweep view's lines of text: the status row, the best-λ readout, the line that says
when the results on screen are for other settings than the live run's, and the one naming the
λ whose decay step alone is unstable."""

from __future__ import annotations

from rich.text import Text

from engine.sweep.lams import edge_note
from tui.state.ray_setting import setting_text
from tui.state.sweep_settings import SettingsChange
from tui.state.sweep_state import SweepState
from tui.theme import WARNING_STYLE, message_style, status_style


def stale_text(change: SettingsChange | None, running: bool) -> Text:
    """Under the progress row, when the live run's settings are no longer the sweep's: what
    the results are for, what the live run has now, and what Enter does. Empty otherwise."""
    text = Text()
    if change is None:
        return text
    if running:
        text.append("⚠ still training for the old settings", style=WARNING_STYLE)
        text.append(f": this sweep is for {change.then}; the live run now has {change.now}.")
        text.append(" s stops it; then Enter sweeps the live run's settings.", style="dim")
    else:
        text.append("⚠ stale", style=WARNING_STYLE)
        text.append(f": these results are for {change.then}; the live run now has {change.now}.")
        text.append(" Enter sweeps the live run's settings.", style="dim")
    return text


def refusal_text(lam: float, change: SettingsChange) -> str:
    """Why `a` applies nothing: one line."""
    return (
        f"not applied: λ = {lam:g} is the best for {change.then}, "
        f"not for the live run's {change.now}"
    )


def status_text(state: SweepState | None, stopping: bool, ray_address: str | None = None) -> Text:
    """The status row: what the sweep is doing; no timing once it has ended (snapshots).
    One line, cut at the screen's edge: errors go under the λ field instead, in full.
    `ray_address`: where the next sweep trains (None: here), said while none has run; a sweep
    on Ray says where it trains itself."""
    text = Text()
    if state is None:
        text.append("● ready", style=status_style("ready"))
        if ray_address is None:
            text.append("  Enter starts a sweep of the λ values above", style="dim")
        else:  # short: the address must fit at 80 columns
            text.append("  Enter sweeps ", style="dim")
            text.append(setting_text(ray_address))
    elif state.status == "starting" and state.ray_address is not None and not stopping:
        # Connecting and placing the workers can take seconds (minutes on a busy cluster).
        text.append("● connecting", style=status_style("starting"))
        text.append(f"  to Ray: {state.ray_address}, then placing the workers", style="dim")
    elif state.ray_address is not None and not state.started and not state.active:
        text.append(f"● {state.status}", style=status_style(state.status))  # said below
        text.append(f"  {setting_text(state.ray_address)}")
    else:
        status = "stopping" if stopping and state.active else state.status
        text.append(f"● {status}", style=status_style(status))
        text.append(f"  epoch {state.epoch:,}/{state.total_epochs:,}")
        text.append(f"  {len(state.lams)} members")
        failed = len(state.failed())
        if failed:
            text.append(f", {failed} failed", style=status_style("failed"))
        if state.ray_address is not None:
            text.append(f"  {state.device or setting_text(state.ray_address)}")
        rate = state.rate()
        if state.active and rate is not None:  # no timing once finished (snapshots)
            text.append(f"  {rate:,.0f} epochs/s")
        where = f"saved in {state.run_dir}" if state.run_dir else "not saved"
        text.append(f"  {where}", style="dim")
    return text


def readout_text(state: SweepState | None, stale: bool = False) -> Text:
    """The best λ and its numbers; the members not plotted, and why; whether the best λ is at
    the grid's edge (engine/sweep/lams.py `edge_note`). `stale`: the results are
    for other settings than the live run's, so `a` will not apply this λ."""
    text = Text()
    if state is None:
        text.append("best λ: none yet", style="dim")
        return text
    k = state.best_index()
    if k is None:
        text.append("best λ: none yet", style="dim")
    else:
        basis = "train loss (no test split)" if state.test is None else "test loss"
        text.append(f"best λ = {state.lams[k]:g}", style=WARNING_STYLE if stale else "bold green")
        text.append(" (so far)" if state.active else "", style="dim")
        if stale:
            text.append(" for the old settings", style=WARNING_STYLE)
        accuracies = state.accuracies
        if accuracies is not None:  # classification: engine/sweep/best.py's rule, in words
            split = "train" if state.test is None else "test"
            text.append(f"  highest {split} accuracy: {accuracies[k]:.2%}")
            text.append(f" (ties: lower loss, {state.scores[k]:.4g})", style="dim")
        else:
            text.append(f"  lowest {basis}: {state.scores[k]:.4g}")
        text.append(f"  train {state.train[k]:.4g}  ‖w‖² {state.sq_norm[k]:.4g}", style="dim")
        if stale:
            text.append("  a will not apply it", style="italic")
        else:
            text.append("  a: apply it to the live run", style="italic")
    off = sorted(state.off_scale())
    if off:
        which = ", ".join(f"{state.lams[k]:g}" for k in off)
        text.append(f"\noff the charts' scale (train loss blew up, not yet inf): λ {which}")
    diverged = state.diverged()
    if diverged:
        which = ", ".join(f"{lam:g}" for lam in diverged)
        text.append(f"\ndiverged (not plotted): λ {which}", style=status_style("diverged"))
    failed = state.failed()
    if failed and state.active:  # once ended, the message names them with the reason
        which = ", ".join(f"{lam:g}" for lam in failed)
        text.append(
            f"\nfailed on Ray (not plotted): λ {which}",
            style=status_style("failed"),
        )
    ended_with_news = state.status in ("failed", "stopped", "unfinished") or bool(failed)
    if state.message and ended_with_news and not state.active:
        style = message_style("failed" if failed else state.status)
        text.append(f"\n{state.message}", style=style)
    # Last (the readout's height is capped): once finished, as the best so far still moves.
    note = None if k is None or state.active else edge_note(state.lams, state.lams[k])
    if note is not None:
        text.append(f"\n{note}")
    return text


def warning_text(state: SweepState | None) -> Text:
    """Under the readout: the members whose λ trips the decay-step warning with the sweep's lr
    (engine/diagnosis.py says it in full; `wdtui sweep` prints that), in short. Empty without."""
    text = Text()
    if state is None or not state.warnings:
        return text
    lams = sorted(w.lam for w in state.warnings)
    which = ", ".join(f"{lam:g}" for lam in lams) if len(lams) <= 3 else f"≥ {lams[0]:g}"
    verb = "has" if len(lams) == 1 else "have"
    text.append(f"⚠ λ {which} {verb} lr·2λ ≥ 1", style=WARNING_STYLE)
    text.append(": the decay step alone takes w to 0 or past it", style=WARNING_STYLE)
    return text
