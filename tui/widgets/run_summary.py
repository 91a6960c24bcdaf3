"""The run view's text: one saved run's summary, or two runs side by side (only the settings
that differ, then both outcomes). Rich renderables built from plain data; every piece of text
that comes from a folder (its name, a message, a CSV's path) is a `Text`, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tui.state.run_diff import differences, label, only_seed, settings, shown
from tui.state.run_outcome import Change, Outcome
from tui.theme import message_style, status_style

MAX_LIST = 6  # a list setting (64 feature names) shows its first few and its length
HEADING = "bold"
NAME = "dim"


@dataclass(frozen=True)
class Shown:
    """One saved run as the view shows it: its folder's name, its config.json as saved (the
    settings), and what it came to."""

    name: str
    record: Mapping[str, Any]
    outcome: Outcome
    classifier: bool


def number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def setting(key: str, value: Any) -> str:
    """A setting's value, a long list cut to its first few."""
    if isinstance(value, (list, tuple)) and key != "schedule" and len(value) > MAX_LIST:
        head = shown(key, list(value[: MAX_LIST - 1]))
        return f"{head}, … ({len(value):,})"
    return shown(key, value)


def change_text(change: Change) -> str:
    """`epoch 5 (step 4): λ = 3, at` — step left out when the change has none."""
    step = "" if change.step is None else f" (step {change.step:,})"
    key = "λ" if change.key == "lam" else change.key
    source = {"at": "scripted (--at)", "live": "typed live"}.get(change.source, change.source)
    return f"epoch {change.epoch:,}{step}: {key} = {change.value:g}, {source}"


def _grid() -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style=NAME, no_wrap=True)
    table.add_column()
    return table


def _status(outcome: Outcome) -> Text:
    text = Text(outcome.status, style=status_style(outcome.status))
    if outcome.message:
        text.append(f" ({outcome.message})", style=message_style(outcome.status) or "dim")
    return text


def _from_to(start: float, end: float) -> str:
    return f"{start:g}" if start == end else f"{start:g} → {end:g}"


def outcome_rows(run: Shown, classifier: bool | None = None) -> list[tuple[str, Text]]:
    """The outcome's rows, (name, value), in the order both views list them; the accuracies
    for a classifier (`classifier`: whether to list them, when another run decides)."""
    o = run.outcome
    final = o.final
    rows = [
        ("status", _status(o)),
        ("epochs", Text(f"{o.epochs:,} of {_epochs_asked(run.record)}")),
        ("final train", Text(number(None if final is None else final.train_loss))),
        ("final test", Text(number(None if final is None else final.test_loss))),
        ("best train", Text(number(o.best_train_loss))),
        ("best test", Text(number(o.best_test_loss))),
        ("best epoch", Text("–" if o.best_epoch is None else f"{o.best_epoch:,}")),
    ]
    if run.classifier if classifier is None else classifier:
        rows += [
            ("final train acc", Text(percent(None if final is None else final.train_accuracy))),
            ("final test acc", Text(percent(None if final is None else final.test_accuracy))),
            ("best train acc", Text(percent(o.best_train_accuracy))),
            ("best test acc", Text(percent(o.best_test_accuracy))),
        ]
    rows += [
        ("λ", Text(_from_to(o.lam_start, o.lam_end))),
        ("lr", Text(_from_to(o.lr_start, o.lr_end))),
    ]
    return rows


def _epochs_asked(record: Mapping[str, Any]) -> str:
    asked = record.get("epochs")
    return f"{asked:,}" if isinstance(asked, int) else "?"


def summary(run: Shown) -> RenderableType:
    """One run: its folder, outcome, changes and every setting."""
    table = _grid()
    for name, value in outcome_rows(run):
        table.add_row(name, value)
    parts: list[RenderableType] = [Text(run.name, style=HEADING), table]
    parts.append(Text("\nchanges", style=HEADING))
    if run.outcome.changes:
        parts += [Text(change_text(c)) for c in run.outcome.changes]
    else:
        parts.append(Text("none: λ and lr as set", style="dim"))
    parts.append(Text("\nsettings", style=HEADING))
    listed = _grid()
    for key, value in settings(run.record):
        listed.add_row(label(key), Text(setting(key, value)))
    parts.append(listed)
    return Group(*parts)


def comparison(a: Shown, b: Shown, wide: bool = False) -> RenderableType:
    """Two runs: which is which, the settings that differ, then both outcomes (`wide`: the
    two tables side by side)."""
    parts: list[RenderableType] = [
        Text.assemble(("A ", HEADING), Text(a.name)),
        Text.assemble(("B ", HEADING), Text(b.name)),
        Text(),
    ]
    found = differences(a.record, b.record)
    if not found:
        parts.append(Text("No setting differs: the same run twice (a replay?).", style="italic"))
    elif only_seed(found):
        _, seed_a, seed_b = found[0]
        parts.append(
            Text(
                f"Only the seed differs ({seed_a} vs {seed_b}): any gap between them is the "
                "seed's alone.",
                style="italic",
            )
        )
    rows = [(label(key), Text(setting(key, va)), Text(setting(key, vb))) for key, va, vb in found]
    settings_table = _side_by_side("settings that differ", rows) if rows else None
    outcome_table = _side_by_side("outcome", _outcomes(a, b))
    if settings_table is None:
        parts.append(outcome_table)
    elif wide:
        both = Table.grid(padding=(0, 4))
        both.add_row(settings_table, outcome_table)
        parts.append(both)
    else:
        parts += [settings_table, Text(), outcome_table]
    return Group(*parts)


def _outcomes(a: Shown, b: Shown) -> list[tuple[str, Text, Text]]:
    classifier = a.classifier or b.classifier
    rows = [
        (name, va, vb)
        for (name, va), (_, vb) in zip(
            outcome_rows(a, classifier), outcome_rows(b, classifier), strict=True
        )
    ]
    changes_a, changes_b = (Text(_changes_short(r.outcome.changes)) for r in (a, b))
    rows.append(("changes", changes_a, changes_b))
    return rows


def _side_by_side(title: str, rows: Sequence[tuple[str, Text, Text]]) -> Table:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, expand=False)
    table.add_column(title, style=NAME, header_style=HEADING, no_wrap=True)
    table.add_column("A", header_style=HEADING)
    table.add_column("B", header_style=HEADING)
    for name, va, vb in rows:
        table.add_row(name, va, vb)
    return table


def _changes_short(changes: Sequence[Change]) -> str:
    if not changes:
        return "none"
    return ", ".join(f"{c.epoch}:{'λ' if c.key == 'lam' else c.key}={c.value:g}" for c in changes)
