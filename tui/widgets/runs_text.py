"""What the runs screen writes: a table row per folder, the headings with the sort arrow, and
the line under the table about the highlighted folder. Everything is rich `Text`: folder names,
reasons and settings come from files on disk and are never read as markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text

from engine.catalog import BROKEN, COLUMNS, FOREIGN, CatalogEntry

MARK = "●"  # a row marked for comparison (space)
ASCENDING, DESCENDING = "▲", "▼"
# How each status reads in the table: a run that did not end well stands out, one that is not
# a run at all (or cannot be read) is dimmed.
STATUS_STYLES = {
    "completed": "",
    "running": "bold",
    "stopped": "",
    "diverged": "red",
    "failed": "red",
    "unfinished": "yellow",
    BROKEN: "dim red",
    FOREIGN: "dim",
}
NUMERIC = frozenset({"epochs", "train_loss", "test_loss", "best_test_loss"})


def dimmed(entry: CatalogEntry) -> bool:
    """Rows that cannot be opened (broken, foreign) are shown dim."""
    return not entry.readable


def when_text(started: float | None, this_year: int) -> str:
    """`11-29 03:42` this year, `2024-03-05` (the date only) before, as `ls -l` does: the
    table's first column stays narrow enough for the status to show at 80 columns."""
    if started is None:
        return ""
    moment = datetime.fromtimestamp(started)
    return moment.strftime("%m-%d %H:%M" if moment.year == this_year else "%Y-%m-%d")


def cell_texts(entry: CatalogEntry, this_year: int | None = None) -> dict[str, str]:
    """The row's text by column name, `when` in the table's short form."""
    cells = entry.cells()
    cells["when"] = when_text(entry.started, this_year or datetime.now().year)
    return cells


def row_cells(
    entry: CatalogEntry,
    marked: bool,
    this_year: int | None = None,
    columns: Sequence[tuple[str, str]] = COLUMNS,
) -> list[Text]:
    """The mark, then the cells of `columns` (all of COLUMNS unless narrowed)."""
    base = "dim" if dimmed(entry) else ""
    cells = cell_texts(entry, this_year)
    row = [Text(MARK if marked else "", style="bold")]
    for name, _ in columns:
        style = STATUS_STYLES.get(entry.status, "") if name == "status" else base
        text = cells[name] or ("—" if name == "status" else "")
        row.append(Text(text, style=style or base, justify="right" if name in NUMERIC else "left"))
    return row


def heading(name: str, title: str, sort_column: str, descending: bool) -> Text:
    """A column's heading; the sort column's ends with ▲ (ascending) or ▼."""
    if name != sort_column:
        return Text(title)
    return Text(f"{title} {DESCENDING if descending else ASCENDING}", style="bold")


def changes_text(changes: Iterable[dict[str, Any]]) -> str:
    """`λ=3 at epoch 50, lr=0.05 at epoch 80` (the λ/lr changes a run received)."""
    parts = []
    for change in changes:
        key = {"lam": "λ"}.get(str(change.get("key")), str(change.get("key")))
        value = change.get("value")
        shown = f"{value:g}" if isinstance(value, (int, float)) else str(value)
        parts.append(f"{key}={shown} at epoch {change.get('epoch')}")
    return ", ".join(parts)


def detail_text(entry: CatalogEntry | None) -> Text:
    """The lines under the table: the folder's name and kind; why it cannot be opened, or how
    it went (best test loss, a sweep's best λ); the λ/lr changes it received."""
    if entry is None:
        return Text("no folder here", style="dim")
    text = Text()
    text.append(entry.name, style="bold")
    kind = "not a wdtui run" if entry.kind == FOREIGN else entry.kind
    text.append(f"  {kind}, {entry.status}")
    outcome = _outcome(entry)
    if outcome:
        text.append(f", {outcome}")
    if entry.reason:
        text.append("\n")
        text.append(entry.reason, style="yellow" if entry.readable else "dim")
    changes = changes_text(entry.changes)
    if changes:
        text.append("\nchanges: " + changes)
    return text


def _outcome(entry: CatalogEntry) -> str:
    if entry.kind == "sweep":
        if entry.best_lam is None:
            return f"{entry.members or 0} λ values"
        return f"best λ {entry.best_lam:g} of {entry.members or 0} λ values"
    if entry.best_test_loss is not None and entry.best_epoch is not None:
        return f"best test {entry.best_test_loss:.4g} at epoch {entry.best_epoch:,}"
    return ""


__all__ = ["MARK", "changes_text", "detail_text", "dimmed", "heading", "row_cells", "when_text"]
