"""A CSV's header row and what can be checked from it alone (torch-free: the explorer checks a
file's target column on the command line, before the screen opens and torch loads)."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.config import DataError

COLUMNS_SHOWN = 5  # a message lists this many columns of a wide file, then a count
COLUMN_NAME_SHOWN = 40  # characters of one column's name in such a list


def read_header(path: str, target: str) -> list[str]:
    """The first non-blank row's names, stripped, checked: distinct, the target among them,
    a feature besides it. Reads no further than that row. Raises DataError (one line)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            first = next((row for row in csv.reader(handle) if any(c.strip() for c in row)), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if first is None:
        raise DataError(f"{path} is empty")
    header = [name.strip() for name in first]
    check_header(path, header, target)
    return header


def check_header(path: str, header: list[str], target: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                f"{path} has two columns named {name!r}: rename one (each column must have "
                "its own name)"
            )
        seen.add(name)
    if target not in header:
        raise DataError(f"{path} has no column {target!r}; {column_list(header)}")
    if len(header) < 2:
        raise DataError(f"{path} needs at least one feature column besides {target!r}")


def column_list(header: list[str]) -> str:
    """'the file has 3 columns: 'a', 'b', 'y'', shortened for a wide file to a few and a count:
    one line of a readable length, whatever the file."""

    def shown(name: str) -> str:
        if len(name) > COLUMN_NAME_SHOWN:
            name = name[: COLUMN_NAME_SHOWN - 1] + "…"
        return repr(name)

    n = len(header)
    noun = "column" if n == 1 else "columns"
    if n <= COLUMNS_SHOWN + 1:  # "… (and 1 more)" would be no shorter than the name
        return f"the file has {n} {noun}: {', '.join(shown(h) for h in header)}"
    first = ", ".join(shown(h) for h in header[:COLUMNS_SHOWN])
    return f"the file has {n} columns: {first}, … (and {n - COLUMNS_SHOWN} more)"
