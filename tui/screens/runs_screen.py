"""`o`: every run and sweep saved under a runs folder, in a table to sort, filter and act on.

The rows are `engine.catalog`'s (this session's runs, earlier sessions', broken and foreign
folders, each with its status and reason). The catalog is read on a thread (`runs-catalog`)
when the screen shows and on `g`; a run or sweep is loaded on another (`runs-load`), as
`load_run` loads its dataset again. Keys: `enter` opens the highlighted folder (a run's full
curve, a sweep in the sweep view), `a` draws a run on the explorer's chart, `space` marks two
runs and `c` compares them, `d` deletes a folder after a y/n question.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from engine.catalog import (
    COLUMN_NAMES,
    COLUMNS,
    FOREIGN,
    CatalogEntry,
    catalog,
    filter_entries,
    fitting_columns,
    sort_entries,
)
from engine.errors import StoreError
from engine.events import RUNNING
from engine.json_file import one_line
from tui.state.run_state import RunState
from tui.widgets.key_footer import KeyFooter
from tui.widgets.runs_text import MARK, cell_texts, detail_text, heading, row_cells

if TYPE_CHECKING:
    from tui.screens.explorer import ExplorerScreen

TOLD_S = 5.0
MARK_COLUMN = "mark"
COMPARE_HINT = "mark two runs with space, then c compares them"
LIVE_REASON = "the run training in this app now"


def first_direction(column: str) -> bool:
    """Whether a column is first sorted descending: the newest first, the rest ascending."""
    return column == "when"


def same_folder(a: str | Path | None, b: str | Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


class RunsScreen(Screen[None]):
    """`RunsScreen(runs_dir, marked=(), cursor=None)`: the folders under `runs_dir`;
    `marked` are marked for comparison, the cursor starts on `cursor` (`wdtui open`)."""

    CSS_PATH = "runs_screen.tcss"
    AUTO_FOCUS = "#runs-table"

    # KeyFooter shows them in this order, as many as fit (at 80 columns: up to Filter).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", key_display="?", show=False),
        # Priority: the table's own enter (select the row) would hide this one from the Footer.
        Binding(
            "enter",
            "open_row",
            "Open",
            key_display="⏎",
            priority=True,
            tooltip="Open the highlighted folder: a run's full curve and summary, a sweep in "
            "the sweep view",
        ),
        Binding(
            "a",
            "overlay",
            "Overlay",
            tooltip="Draw the highlighted saved run on the explorer's loss chart, dimmed, "
            "beside the live run (as an earlier run; c there clears them)",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            tooltip="Mark or unmark the highlighted run for comparison (c compares two)",
        ),
        Binding(
            "c",
            "compare",
            "Compare",
            tooltip="Compare the two marked runs: both curves together, the settings that "
            "differ side by side",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            tooltip="Delete the highlighted folder from the disk, after a y/n question",
        ),
        Binding("escape,q", "back", "Back", tooltip="Back to the explorer"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter the rows: every word must appear in the row (lbfgs highdim), or "
            "key=value matches one column (mode=wd, status=completed); Escape leaves the field",
        ),
        Binding(
            "s",
            "sort_next",
            "Sort",
            tooltip="Sort by the next column (when, data, model, … best test); clicking a "
            "heading sorts by it",
        ),
        Binding("S", "sort_reverse", "Reverse", tooltip="Reverse the sort order"),
        Binding(
            "g",
            "refresh",
            "Refresh",
            tooltip="Read the runs folder again (it is also read whenever this screen shows)",
        ),
    ]

    def __init__(
        self,
        runs_dir: str | Path,
        *,
        marked: Iterable[str | Path] = (),
        cursor: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.marked: set[Path] = {Path(p) for p in marked}
        self.sort_column = "when"
        self.descending = True
        self.filter_text = ""
        self.entries: list[CatalogEntry] = []  # every folder, as last read
        self.shown: list[CatalogEntry] = []  # the rows, filtered and sorted
        self.columns: list[tuple[str, str]] = list(COLUMNS)  # those that fit the width
        self.loads = 0  # catalogs read and shown (tests wait on it)
        self._cursor = Path(cursor) if cursor is not None else None

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title", markup=False)
        yield Input(
            placeholder="/ filter: words (highdim sgd), or key=value (mode=wd status=completed)",
            id="runs-filter",
            compact=True,
        )
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="runs-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._table = self.query_one(DataTable)
        self._filter = self.query_one("#runs-filter", Input)
        self._title = self.query_one("#runs-title", Static)
        self._detail = self.query_one("#runs-detail", Static)
        self._show_title()

    def on_resize(self) -> None:
        if self.is_mounted and self.entries:
            self._rebuild()  # another width: other columns fit

    def on_screen_resume(self) -> None:
        # Shown first, and shown again (back from a run's view, another session's runs since).
        self.action_refresh()

    # ----- reading the folder -------------------------------------------------------------------

    def action_refresh(self) -> None:
        self._read_catalog()

    @work(thread=True, exclusive=True, group="runs-catalog", name="runs-catalog")
    def _read_catalog(self) -> None:
        worker = get_current_worker()
        try:
            entries = catalog(self.runs_dir)
        except StoreError as exc:
            if not worker.is_cancelled:
                self._from_thread(self._tell, str(exc))
            return
        if not worker.is_cancelled:
            self._from_thread(self._show_entries, entries)

    def _show_entries(self, entries: list[CatalogEntry]) -> None:
        live = self._live_run_dir()
        name = None if live is None else Path(live).name
        self.entries = [
            # Its summary may not be written yet, or be a second behind: this app knows.
            replace(e, status=RUNNING, reason=LIVE_REASON)
            if e.name == name and same_folder(e.path, live)
            else e
            for e in entries
        ]
        self.loads += 1
        self._rebuild()

    # ----- the table ----------------------------------------------------------------------------

    def _rebuild(self) -> None:
        """Fill the table from `entries`: filtered, sorted, the cursor kept on its folder."""
        keep = self._cursor or self.highlighted_path()
        row_before = self._table.cursor_row
        self._cursor = None
        self.shown = sort_entries(
            filter_entries(self.entries, self.filter_text),
            self.sort_column,
            descending=self.descending,
        )
        table = self._table
        year = datetime.now().year
        table.clear(columns=True)
        table.add_column(Text(" "), key=MARK_COLUMN)
        # As many columns as fit, so that the status and the losses show at 80 columns; the
        # rest show wider. Each cell has a column of padding on either side; the mark column
        # and, when the rows overflow, the scrollbar take their share.
        scrollbar = 2 if len(self.shown) >= table.size.height else 0
        width = (table.size.width or self.app.size.width) - (len(MARK) + 2) - scrollbar
        cells = [cell_texts(entry, year) for entry in self.shown]
        self.columns = fitting_columns(cells, width - 2, gap=2)
        for name, title in self.columns:
            label = heading(name, title, self.sort_column, self.descending)
            # Widths given, not measured by the table: rows added before the first layout
            # were otherwise cut to their heading's width.
            width = max([label.cell_len, *(len(c[name]) for c in cells)])
            table.add_column(label, key=name, width=width)
        for entry in self.shown:
            marked = entry.path in self.marked
            table.add_row(*row_cells(entry, marked, year, self.columns), key=str(entry.path))
        rows = [e.path for e in self.shown]
        if rows:  # on its folder; that one gone (deleted, filtered out), on its row
            row = rows.index(keep) if keep in rows else min(row_before, len(rows) - 1)
            table.move_cursor(row=max(row, 0), animate=False)
        self._show_title()
        self._show_detail()

    def highlighted(self) -> CatalogEntry | None:
        row = self._table.cursor_row
        if not self.shown or not 0 <= row < len(self.shown):
            return None
        return self.shown[row]

    def highlighted_path(self) -> Path | None:
        entry = self.highlighted()
        return None if entry is None else entry.path

    def _show_title(self) -> None:
        shown, total = len(self.shown), len(self.entries)
        count = f"{total:,} folders" if shown == total else f"{shown:,} of {total:,} folders"
        title = next(t for n, t in COLUMNS if n == self.sort_column)
        arrow = "▼" if self.descending else "▲"
        marked = f", {len(self.marked)} marked" if self.marked else ""
        text = f"{self.runs_dir}: {count}, sorted by {title} {arrow}{marked}"
        self._title.update(Text(text))

    def _show_detail(self) -> None:
        self._detail.update(detail_text(self.highlighted()))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._show_detail()

    # ----- sorting and filtering ----------------------------------------------------------------

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        if column not in COLUMN_NAMES:
            return
        if descending is None:
            descending = not self.descending if column == self.sort_column else None
        self.sort_column = column
        self.descending = first_direction(column) if descending is None else descending
        self._rebuild()

    def action_sort_next(self) -> None:
        index = COLUMN_NAMES.index(self.sort_column)
        self.sort_by(COLUMN_NAMES[(index + 1) % len(COLUMN_NAMES)])

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, not self.descending)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        # The same heading again reverses the order.
        self.sort_by(str(event.column_key.value))

    def action_filter(self) -> None:
        self._filter.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._rebuild()

    def action_back(self) -> None:
        if self._filter.has_focus:  # Escape leaves the filter (it stays applied)
            self._table.focus()
            return
        self.dismiss()

    # ----- marking and comparing ----------------------------------------------------------------

    def action_mark(self) -> None:
        entry = self.highlighted()
        if entry is None:
            return
        if entry.path in self.marked:
            self.marked.discard(entry.path)
        else:
            self.marked.add(entry.path)
        marked = entry.path in self.marked
        self._table.update_cell(str(entry.path), MARK_COLUMN, Text(MARK if marked else ""))
        self._show_title()
        self._table.action_cursor_down()

    def marked_entries(self) -> list[CatalogEntry]:
        return [e for e in self.entries if e.path in self.marked]

    def action_compare(self) -> None:
        chosen = self.marked_entries()
        runs = [e for e in chosen if e.kind == "run" and e.readable]
        if len(chosen) != 2 or len(runs) != 2:
            self._tell(f"{COMPARE_HINT} ({len(chosen)} marked, {len(runs)} of them runs)")
            return
        self._load([e.path for e in runs], "compare")

    # ----- opening ------------------------------------------------------------------------------

    def action_open_row(self) -> None:
        if self._filter.has_focus:  # Enter in the filter: back to the rows, filtered
            self._table.focus()
            return
        entry = self._openable()
        if entry is not None:
            self._load([entry.path], "sweep" if entry.kind == "sweep" else "view")

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_row()  # a click on the highlighted row

    def action_overlay(self) -> None:
        entry = self._openable()
        if entry is None:
            return
        if entry.kind == "sweep":
            self._tell(f"{entry.name} is a sweep: enter opens it in the sweep view")
            return
        explorer = self._explorer()
        if explorer is None:
            return
        live = explorer.live
        drawn = [live.current, *live.earlier]
        if any(run is not None and same_folder(run.run_dir, entry.path) for run in drawn):
            self._tell(f"{entry.name} is already on the chart")
            return
        self._load([entry.path], "overlay")

    def _openable(self) -> CatalogEntry | None:
        """The highlighted folder, if it can be read; else None, said in one line."""
        entry = self.highlighted()
        if entry is None:
            self._tell(self._nothing_highlighted())
            return None
        if not entry.readable:
            what = "is not a wdtui run" if entry.kind == FOREIGN else "cannot be read"
            self._tell(f"{entry.name} {what}: {entry.reason}")
            return None
        return entry

    @work(thread=True, group="runs-load", name="runs-load")
    def _load(self, paths: list[Path], purpose: str) -> None:
        """Read the folders (their datasets load again: seconds for a large CSV), then show
        them on the UI thread. A folder that cannot be read is one line."""
        from engine.store import load_run, load_sweep  # torch-backed

        try:
            if purpose == "sweep":
                loaded: list[Any] = [load_sweep(paths[0])]
            else:
                loaded = [load_run(path) for path in paths]
                if purpose == "overlay":  # replayed here, off the UI thread
                    loaded = [RunState.from_saved(loaded[0], run_id=0)]
        except StoreError as exc:
            self._from_thread(self._tell, f"cannot open: {exc}")
            return
        except Exception as exc:  # a corrupt weights file, an unreadable CSV
            self._from_thread(
                self._tell, f"cannot open {paths[0].name}: {type(exc).__name__}: {one_line(exc)}"
            )
            return
        self._from_thread(self._loaded, purpose, loaded)

    def _loaded(self, purpose: str, loaded: list[Any]) -> None:
        if purpose == "overlay":
            self._add_to_chart(loaded[0])
        elif purpose == "sweep":
            from tui.screens.sweep_screen import SweepScreen

            screen = SweepScreen.for_saved(loaded[0], datasets=getattr(self.app, "datasets", None))
            explorer: ExplorerScreen | None = getattr(self.app, "explorer", None)
            if explorer is not None:  # `a` there applies its best λ if it fits the live run
                screen.use_config(explorer.live.settings())
            self.app.push_screen(screen)
        else:
            from tui.screens.run_view import RunViewScreen

            self.app.push_screen(RunViewScreen(loaded))

    def _add_to_chart(self, run: RunState) -> None:
        explorer = self._explorer()
        if explorer is None:
            return
        explorer.add_saved_run(run)
        self._tell(
            f"drawn on the explorer's loss chart, dimmed: {run.label} {run.config.source_name}"
        )

    def _explorer(self) -> ExplorerScreen | None:
        explorer: ExplorerScreen | None = getattr(self.app, "explorer", None)
        if explorer is None:
            self._tell("no explorer to draw on")
        return explorer

    # ----- deleting -----------------------------------------------------------------------------

    def action_delete(self) -> None:
        from tui.screens.confirm_screen import ConfirmScreen

        entry = self.highlighted()
        if entry is None:
            self._tell(self._nothing_highlighted())
            return
        refusal = self._delete_refusal(entry)
        if refusal:
            self._tell(refusal)
            return
        question = Text()
        question.append("Delete ")
        question.append(entry.name, style="bold")
        question.append(f"?\n(in {entry.path.parent})")
        if entry.kind == FOREIGN:
            question.append(f"\nIt is not a wdtui run ({entry.reason}).")
        elif entry.kind == "sweep":
            question.append(f"\nA sweep: all its {entry.members or 0} members' results.")
        question.append("\ny: delete it, n: keep it")

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(entry)

        self.app.push_screen(ConfirmScreen(question), answered)

    def _live_run_dir(self) -> str | None:
        """The folder of the run training in this app, if one is."""
        explorer: ExplorerScreen | None = getattr(self.app, "explorer", None)
        current = None if explorer is None else explorer.live.current
        return current.run_dir if current is not None and current.active else None

    def _delete_refusal(self, entry: CatalogEntry) -> str:
        if same_folder(self._live_run_dir(), entry.path):
            return f"{entry.name} is the run training now: stop it (s) before deleting it"
        if entry.status == RUNNING:
            return f"{entry.name} is still training in another process: not deleted"
        return ""

    def _nothing_highlighted(self) -> str:
        if self.loads == 0:
            return f"still reading {self.runs_dir}"
        if self.entries:
            return f"no row: the filter shows none of the {len(self.entries)} folders"
        return f"no runs in {self.runs_dir}"

    def _delete(self, entry: CatalogEntry) -> None:
        # Renamed out of the listing first (atomic, and refused whole where the folder cannot
        # be changed), then removed: a delete that cannot happen leaves the run as it was.
        doomed = entry.path.with_name(f".deleting-{entry.name}")
        try:
            entry.path.rename(doomed)
        except OSError as exc:
            self._tell(f"{entry.name} not deleted: {one_line(exc)}")
            return
        try:
            shutil.rmtree(doomed)
        except OSError as exc:  # renamed away already: no longer listed
            self._tell(f"{entry.name} deleted, but {doomed} is left over: {one_line(exc)}")
        self.marked.discard(entry.path)
        self.entries = [e for e in self.entries if e.path != entry.path]
        self._rebuild()
        self._tell(f"deleted {entry.path}")

    def _from_thread(self, callback: Callable[..., object], *args: object) -> None:
        """Run `callback` on the UI thread, from a worker; nothing if the app has closed
        meanwhile (quit while a folder was being read)."""
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(callback, *args)

    def _tell(self, text: str) -> None:
        self.notify(text, markup=False, timeout=TOLD_S)


__all__ = ["RunsScreen"]
