"""`wdtui runs`: every saved run and sweep, as a table or JSON lines (engine/catalog.py).

No torch: the listing reads small JSON files only, so it answers at once.
"""

from __future__ import annotations

import argparse
import json
import shutil

from engine.catalog import (
    COLUMN_NAMES,
    FOREIGN,
    CatalogEntry,
    catalog,
    column_of,
    filter_entries,
    fitting_columns,
    sort_entries,
)
from engine.cli.options import OneLineParser, fail
from engine.cli.output import print_quietly
from engine.errors import StoreError


def runs_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui runs", description="List every saved run and sweep, newest first."
    )
    parser.add_argument(
        "--runs-dir", default="runs", help="the folder runs are saved in (default: runs)"
    )
    parser.add_argument(
        "--jsonl", action="store_true", help="one JSON object per line (default: a table)"
    )
    parser.add_argument(
        "--sort",
        metavar="COLUMN",
        default="-when",
        help=f"sort by one of {', '.join(COLUMN_NAMES)}, smallest first; --sort=-COLUMN "
        "sorts largest first; rows without a value go last (default: newest first)",
    )
    parser.add_argument("--reverse", action="store_true", help="reverse the sort order")
    parser.add_argument(
        "--filter",
        metavar="TEXT",
        default="",
        help="keep rows holding every word of TEXT (any column, the folder's name, the "
        "status); KEY=VALUE matches one column exactly, e.g. mode=wd (default: all)",
    )
    return parser


def runs_command(argv: list[str]) -> int:
    parser = runs_parser()
    args = parser.parse_args(argv)
    column, descending = column_of(args.sort)
    descending ^= args.reverse
    if column not in COLUMN_NAMES:
        fail(parser.prog, f"cannot sort by {args.sort!r}; choose one of {', '.join(COLUMN_NAMES)}")
    try:
        entries = catalog(args.runs_dir)
    except StoreError as exc:
        fail(parser.prog, str(exc))
    entries = sort_entries(filter_entries(entries, args.filter), column, descending=descending)
    if args.jsonl:
        for entry in entries:
            print_quietly(json.dumps(entry.to_json(), ensure_ascii=False))
    else:
        # A pipe gets every column; a terminal, those that fit its width.
        print_quietly(table(entries, shutil.get_terminal_size((10**6, 24)).columns))
    return 0


def table(entries: list[CatalogEntry], width: int = 200) -> str:
    """The rows aligned under their headings, each followed by its folder (and, for a folder
    that is not a finished run, why)."""
    if not entries:
        return "no runs saved here"
    rows = [entry.cells() for entry in entries]
    shown = fitting_columns(rows, width)  # the folder goes on the next line: only cells count
    sizes = [max([len(heading), *(len(r[name]) for r in rows)]) for name, heading in shown]
    numeric = {"epochs", "train_loss", "test_loss", "best_test_loss"}

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(size) if name in numeric else cell.ljust(size)
            for (name, _), cell, size in zip(shown, cells, sizes, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line([heading for _, heading in shown])]
    for entry, row in zip(entries, rows, strict=True):
        out.append(line([row[name] for name, _ in shown]))
        note = f"  {entry.name}"
        if entry.reason and (entry.kind == FOREIGN or entry.status not in ("completed",)):
            note += f": {entry.reason}"
        out.append(note)
    count = f"{len(entries):,} " + ("entry" if len(entries) == 1 else "entries")
    return "\n".join([*out, count])
