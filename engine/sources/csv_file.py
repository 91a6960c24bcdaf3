"""A CSV file with a header row: numeric feature columns, and a target column that holds numbers
(regression) or class labels (classification)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from engine.config import DataError
from engine.sources.csv_header import check_header
from engine.sources.labels import encode_labels
from engine.sources.table import Table


def read_csv(path: str, target: str, task: str = "auto") -> Table:
    """Read `path`; `target` may be any column. `task` "auto" reads a target with any cell
    that is not a number as class labels, and a numeric one as a regression target;
    "classification" reads it as labels always (whole numbers are then the classes);
    "regression" as numbers always. Raises DataError with one line."""
    header, rows = _read_rows(path, target)
    t = header.index(target)
    labelled = task == "classification" or (task == "auto" and _holds_text(rows, t))
    numeric = [i for i in range(len(header)) if not (labelled and i == t)]
    values: list[list[float]] = []
    labels: list[str] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path} line {line_no}: {len(row)} cells where the header has {len(header)}"
            )
        parsed = []
        for i, (name, cell) in enumerate(zip(header, row, strict=True)):
            if labelled and i == t:
                labels.append(_label(path, line_no, name, cell))
            else:
                parsed.append(_number(path, line_no, name, cell))
        values.append(parsed)
    table = torch.tensor(values, dtype=torch.float32)
    if not torch.isfinite(table).all():  # finite as a Python float, beyond float32's range
        row, col = (~torch.isfinite(table)).nonzero()[0].tolist()
        name, cell = header[numeric[col]], rows[row + 1][numeric[col]].strip()
        raise DataError(
            f"{path} line {row + 2}, column {name!r}: {cell!r} is too large for float32"
        )
    features = [i for i in range(len(header)) if i != t]
    names = [header[i] for i in features]
    if not labelled:
        return Table(table[:, features], table[:, t : t + 1], names)
    if task == "classification":
        labels = _whole_number_labels(path, target, labels)
    classes, y = encode_labels(labels, f"{path}: column {target!r}")
    return Table(table, y, names, classes)


def _read_rows(path: str, target: str) -> tuple[list[str], list[list[str]]]:
    """The header (names stripped) and every non-blank row, header first, checked for what
    any task needs: distinct column names, the target among them, a feature, two data rows."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty")
    header = [name.strip() for name in rows[0]]
    check_header(path, header, target)
    if len(rows) < 3:
        raise DataError(f"{path} needs at least 2 data rows, found {len(rows) - 1}")
    return header, rows


def _holds_text(rows: list[list[str]], column: int) -> bool:
    """Whether any non-empty cell of `column` is not a number (an empty cell decides nothing:
    it is an error whichever way the column is read)."""
    for row in rows[1:]:
        cell = row[column].strip() if column < len(row) else ""
        if cell:
            try:
                float(cell)
            except ValueError:
                return True
    return False


def _number(path: str, line_no: int, name: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(
            f"{path} line {line_no}, column {name!r}: {cell.strip()!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{path} line {line_no}, column {name!r}: {cell.strip()!r} is not finite")
    return value


def _label(path: str, line_no: int, name: str, cell: str) -> str:
    label = cell.strip()
    if not label:
        raise DataError(
            f"{path} line {line_no}, column {name!r}: no class label (the cell is empty)"
        )
    return label


def _whole_number_labels(path: str, target: str, labels: list[str]) -> list[str]:
    """Labels that are all numbers must be whole numbers, each written one way ("3.0" is "3");
    labels with any text are kept as written."""
    numbers: list[float] = []
    for label in labels:
        try:
            numbers.append(float(label))
        except ValueError:
            return labels
    for line_no, (label, number) in enumerate(zip(labels, numbers, strict=True), start=2):
        if not (math.isfinite(number) and number.is_integer()):
            raise DataError(
                f"--task classification: {path}'s column {target!r} is continuous (line "
                f"{line_no}: {label!r} is not a whole number); class labels are text or whole "
                "numbers"
            )
    return [str(_as_int(label, number)) for label, number in zip(labels, numbers, strict=True)]


def _as_int(label: str, number: float) -> int:
    try:
        return int(label)  # exact beyond 2**53, where the float is not
    except ValueError:
        return int(number)  # "3.0", "3e2"
