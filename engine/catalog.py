"""Every saved run and sweep under a runs folder, one row each: what `wdtui runs` and the
explorer's runs screen list. No torch here: `wdtui runs` answers without loading it.

Fast on thousands of folders: a row reads only `config.json` and `summary.json` (a few hundred
bytes each), never the metrics. A folder saved before summaries falls back to `results.json`
and its CSV's last rows. A folder that is broken, partial or not a run at all is listed as such,
with the reason, and never stops the listing.
"""

from __future__ import annotations

import csv
import errno
import math
import os
import socket
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import StoreError
from engine.events import RUNNING, UNFINISHED
from engine.json_file import JsonFileError, one_line, read_json_object

BROKEN = "broken"  # a wdtui folder whose files cannot be read
FOREIGN = "foreign"  # not a run or a sweep of wdtui's
KINDS = ("run", "sweep", FOREIGN)

# The table's columns, in order: (name, heading). `--sort` takes the names.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("when", "when"),
    ("data", "data"),
    ("model", "model"),
    ("optimizer", "optim"),
    ("mode", "mode"),
    ("lam", "λ"),
    ("epochs", "epochs"),
    ("status", "status"),
    ("train_loss", "train"),
    ("test_loss", "test"),
    ("best_test_loss", "best test"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
# Columns dropped, in this order, where a table is too narrow for all of them: the losses and
# the status stay longest.
NARROW_DROPS = ("mode", "optimizer", "best_test_loss", "model", "when")
# A folder saved before summaries is read from its CSV; a bigger file is not a metrics log.
METRICS_MAX_BYTES = 1 << 30


@dataclass(frozen=True)
class CatalogEntry:
    """One folder under the runs folder, as the listing shows it."""

    path: Path
    kind: str  # run | sweep | foreign
    status: str  # completed, stopped, diverged, failed, running, unfinished, broken, foreign
    reason: str = ""  # why it is broken, foreign or unfinished
    started: float | None = None  # when config.json was written (seconds since the epoch)
    data: str = ""
    model: str = ""
    optimizer: str = ""
    mode: str = ""
    lam_start: float | None = None  # a sweep's: its smallest λ
    lam_end: float | None = None  # a sweep's: its largest
    epochs: int | None = None
    train_loss: float | None = None  # a sweep's: its best λ's member's
    test_loss: float | None = None
    best_test_loss: float | None = None
    best_epoch: int | None = None
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    changes: tuple[dict[str, Any], ...] = ()
    best_lam: float | None = None  # sweeps only
    members: int | None = None  # sweeps only
    config: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def readable(self) -> bool:
        return self.kind != FOREIGN and self.status != BROKEN

    def to_json(self) -> dict[str, Any]:
        """One `wdtui runs --jsonl` line."""
        return {
            "path": str(self.path),
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "started": None if self.started is None else _iso(self.started),
            "data": self.data,
            "model": self.model,
            "optimizer": self.optimizer,
            "mode": self.mode,
            "lam_start": self.lam_start,
            "lam_end": self.lam_end,
            "epochs": self.epochs,
            "train_loss": self.train_loss,
            "test_loss": self.test_loss,
            "best_test_loss": self.best_test_loss,
            "best_epoch": self.best_epoch,
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "best_lam": self.best_lam,
            "members": self.members,
            "changes": list(self.changes),
            "config": self.config,
        }

    def cells(self) -> dict[str, str]:
        """The table's text, by column name."""
        return {
            "when": "" if self.started is None else _when(self.started),
            "data": self.data,
            "model": self.model,
            "optimizer": self.optimizer,
            "mode": self.mode,
            "lam": self.lam_text,
            "epochs": "" if self.epochs is None else f"{self.epochs:,}",
            "status": self.status,
            "train_loss": _number(self.train_loss),
            "test_loss": _number(self.test_loss),
            "best_test_loss": _number(self.best_test_loss),
        }

    @property
    def lam_text(self) -> str:
        """`0.01`, `0 → 3` (changed during the run), `0 … 10 (9)` (a sweep's grid)."""
        start, end = self.lam_start, self.lam_end
        if start is None:
            return ""
        if self.kind == "sweep":
            count = f" ({self.members})" if self.members else ""
            return f"{start:g}{count}" if end in (None, start) else f"{start:g} … {end:g}{count}"
        return f"{start:g}" if end in (None, start) else f"{start:g} → {end:g}"

    def sort_key(self, column: str) -> tuple[int, Any]:
        """Orders `column`'s values; a row without one goes last either way (see sort_entries)."""
        value: Any = {
            "when": self.started,
            "data": self.data,
            "model": self.model,
            "optimizer": self.optimizer,
            "mode": self.mode,
            "lam": self.lam_end if self.lam_end is not None else self.lam_start,
            "epochs": self.epochs,
            "status": self.status,
            "train_loss": self.train_loss,
            "test_loss": self.test_loss,
            "best_test_loss": self.best_test_loss,
        }[column]
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            return (1, 0)
        return (0, value.lower() if isinstance(value, str) else value)


def fitting_columns(
    rows: Sequence[dict[str, str]], width: int, gap: int = 2
) -> list[tuple[str, str]]:
    """The COLUMNS that fit `width` with these cells (`gap` between two columns), dropping
    NARROW_DROPS in order until they do (or none is left to drop)."""
    shown = list(COLUMNS)

    def needed() -> int:
        cells = sum(max([len(heading), *(len(r[name]) for r in rows)]) for name, heading in shown)
        return cells + gap * (len(shown) - 1)

    for drop in NARROW_DROPS:
        if needed() <= width:
            break
        shown = [(name, heading) for name, heading in shown if name != drop]
    return shown


def catalog(runs_dir: str | Path) -> list[CatalogEntry]:
    """Every folder under `runs_dir`, newest first; [] when it does not exist. Raises
    StoreError (one line) only when the folder itself cannot be listed."""
    root = Path(runs_dir)
    entries = []
    try:
        with os.scandir(root) as it:
            for item in it:
                if item.name.startswith("."):
                    continue
                try:
                    is_folder = item.is_dir()
                except OSError as exc:  # a symlink loop, say: listed, never fatal
                    entries.append(CatalogEntry(Path(item.path), FOREIGN, BROKEN, one_line(exc)))
                    continue
                if is_folder:
                    entries.append(read_entry(Path(item.path)))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot list {root}: {one_line(exc)}") from None
    return sort_entries(entries, "when", descending=True)


def read_entry(path: Path) -> CatalogEntry:
    """One folder as a row: never raises for what the folder holds."""
    try:
        config_stat = os.stat(path / "config.json")
    except FileNotFoundError:
        return CatalogEntry(path, FOREIGN, FOREIGN, "no config.json: not a wdtui run")
    except OSError as exc:
        return CatalogEntry(path, FOREIGN, BROKEN, f"config.json: {one_line(exc)}")
    started = config_stat.st_mtime
    try:
        config = read_json_object(path / "config.json")
    except (OSError, JsonFileError) as exc:
        return CatalogEntry(path, "run", BROKEN, f"config.json: {one_line(exc)}", started)
    if not isinstance(config.get("optimizer"), str) or "lr" not in config:
        return CatalogEntry(
            path, FOREIGN, FOREIGN, "config.json is not a wdtui run's", started, config=config
        )
    kind = "sweep" if "lams" in config else "run"
    broken = CatalogEntry(path, kind, BROKEN, "", started, config=config)
    try:
        base = _from_config(path, kind, started, config)
    except (TypeError, ValueError, ArithmeticError) as exc:  # hand-edited: 1e400 as digits
        return _replace(broken, reason=f"config.json: {one_line(exc)}")
    try:
        summary = _read_optional(path / "summary.json")
        results = _read_optional(path / "results.json")
    except StoreError as exc:
        return _replace(base, status=BROKEN, reason=str(exc))
    try:
        if summary is not None:
            return _with_summary(base, summary, results)
        return _without_summary(base, results)
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        return _replace(base, status=BROKEN, reason=f"summary.json: {one_line(exc)}")
    except StoreError as exc:
        return _replace(base, status=BROKEN, reason=str(exc))


def sort_entries(
    entries: Iterable[CatalogEntry], column: str, *, descending: bool = False
) -> list[CatalogEntry]:
    """Sorted by `column` (one of COLUMN_NAMES); rows without a value last either way."""
    if column not in COLUMN_NAMES:
        raise StoreError(f"cannot sort by {column!r}; choose one of {', '.join(COLUMN_NAMES)}")
    present = [e for e in entries if e.sort_key(column)[0] == 0]
    missing = [e for e in entries if e.sort_key(column)[0] == 1]
    present.sort(key=lambda e: e.sort_key(column), reverse=descending)
    return present + missing


def filter_entries(entries: Iterable[CatalogEntry], text: str) -> list[CatalogEntry]:
    """Rows whose text holds every word of `text` (case-insensitive), looked for in the
    cells, the folder's name, the kind and the reason. `key=value` words match one column
    exactly (`mode=wd`, `status=completed`, `optimizer=adamw`)."""
    words = text.lower().split()
    return [e for e in entries if all(_matches(e, word) for word in words)]


def column_of(text: str) -> tuple[str, bool]:
    """A --sort argument (`test_loss`, `-when`: descending) as (column, descending)."""
    descending = text.startswith("-")
    column = text.removeprefix("-").replace("-", "_")
    aliases = {"λ": "lam", "best": "best_test_loss", "train": "train_loss", "test": "test_loss"}
    return aliases.get(column, column), descending


def _matches(entry: CatalogEntry, word: str) -> bool:
    cells = entry.cells()
    key, equals, value = word.partition("=")
    if equals and key in cells:
        return cells[key].lower() == value
    haystack = " ".join([*cells.values(), entry.name, entry.kind, entry.reason]).lower()
    return word in haystack


def _from_config(path: Path, kind: str, started: float, config: dict[str, Any]) -> CatalogEntry:
    data = config.get("data")
    source = Path(data).name if isinstance(data, str) else str(config.get("preset") or "line")
    model = str(config.get("model", ""))
    hidden = config.get("hidden")
    if model == "mlp" and isinstance(hidden, list) and hidden:
        model = "mlp " + "-".join(str(h) for h in hidden)
    lam_start = lam_end = None
    members = None
    if kind == "sweep":
        lams = config.get("lams")
        numbers = [float(v) for v in lams if _number_like(v)] if isinstance(lams, list) else []
        if numbers:
            lam_start, lam_end, members = min(numbers), max(numbers), len(numbers)
    elif _number_like(config.get("lam")):
        lam_start = lam_end = 0.0 if config.get("reg") == "none" else float(config["lam"])
    return CatalogEntry(
        path,
        kind,
        UNFINISHED,
        started=started,
        data=source,
        model=model,
        optimizer=str(config.get("optimizer", "")),
        mode=str(config.get("reg", "")),
        lam_start=lam_start,
        lam_end=lam_end,
        members=members,
        config=config,
    )


def _with_summary(
    base: CatalogEntry, summary: dict[str, Any], results: dict[str, Any] | None
) -> CatalogEntry:
    status = str(summary.get("status", UNFINISHED))
    reason = str(summary.get("message", ""))
    if results is not None:  # written last: how it really ended (a failed save, say)
        status, reason = str(results.get("status", status)), str(results.get("message", reason))
    elif status == RUNNING and not _alive(summary):
        status, reason = UNFINISHED, "its process ended before the run did (killed?)"
    changes = summary.get("changes", [])
    return _replace(
        base,
        status=status,
        reason=reason,
        epochs=_whole_or_none(summary.get("epochs")),
        train_loss=_float_or_none(summary.get("train_loss")),
        test_loss=_float_or_none(summary.get("test_loss")),
        best_test_loss=_float_or_none(summary.get("best_test_loss")),
        best_epoch=_whole_or_none(summary.get("best_epoch")),
        train_accuracy=_float_or_none(summary.get("train_accuracy")),
        test_accuracy=_float_or_none(summary.get("test_accuracy")),
        lam_end=base.lam_end
        if base.kind == "sweep"
        else _float_or_none(summary.get("lam_end"), base.lam_end),
        changes=tuple(c for c in changes if isinstance(c, dict))
        if isinstance(changes, list)
        else (),
        best_lam=_float_or_none(summary.get("best_lam")),
    )


def _without_summary(base: CatalogEntry, results: dict[str, Any] | None) -> CatalogEntry:
    """A folder saved before summaries: how it ended from results.json, the losses from the
    CSV's rows (read once; older folders are few)."""
    status = UNFINISHED if results is None else str(results.get("status", UNFINISHED))
    reason = "no results.json: its process ended before the run did" if results is None else ""
    if results is not None:
        reason = str(results.get("message", ""))
    if base.kind == "sweep":
        best_lam = None if results is None else _float_or_none(results.get("best_lam"))
        epochs = None if results is None else _whole_or_none(results.get("epochs"))
        return _replace(base, status=status, reason=reason, best_lam=best_lam, epochs=epochs)
    rows = _metric_rows(base.path / "metrics.csv")
    tests = [r["test_loss"] for r in rows if _finite(r.get("test_loss"))]
    last = rows[-1] if rows else {}
    return _replace(
        base,
        status=status,
        reason=reason,
        epochs=_whole_or_none(last.get("epoch")),
        train_loss=last.get("train_loss"),
        test_loss=last.get("test_loss"),
        best_test_loss=min(tests, default=None),
        lam_end=last.get("lam", base.lam_end),
        train_accuracy=last.get("train_accuracy"),
        test_accuracy=last.get("test_accuracy"),
    )


def _metric_rows(path: Path) -> list[dict[str, Any]]:
    """The CSV's rows; raises StoreError for a file that is not a regular one of sane size (a
    FIFO would block the listing, /dev/zero fill the memory)."""
    try:
        info = os.stat(path)
    except OSError:
        return []
    if not stat.S_ISREG(info.st_mode) or info.st_size > METRICS_MAX_BYTES:
        raise StoreError(
            f"{path.name} is not a regular file of at most {METRICS_MAX_BYTES:,} bytes"
        )
    try:
        with path.open(newline="") as handle:
            return [
                {k: _float_or_none(_parse(v)) for k, v in row.items()}
                for row in csv.DictReader(handle)
            ]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _read_optional(path: Path) -> dict[str, Any] | None:
    try:
        return read_json_object(path)
    except FileNotFoundError:
        return None
    except (OSError, JsonFileError) as exc:
        raise StoreError(f"{path.name}: {one_line(exc)}") from None


def _alive(summary: dict[str, Any]) -> bool:
    """Whether the process that writes this summary still runs (on this machine; one on
    another machine is taken to be alive)."""
    pid, host = summary.get("pid"), summary.get("host")
    if host != socket.gethostname():
        return True
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OverflowError:  # no process has such a number
        return False
    except OSError as exc:
        return exc.errno == errno.EPERM  # someone else's process: alive
    try:  # a killed process its parent has not reaped yet is a zombie: dead
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return True


def _replace(entry: CatalogEntry, **changes: Any) -> CatalogEntry:
    return replace(entry, **changes)


def _parse(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _number_like(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _number_like(value) and math.isfinite(value)


def _float_or_none(value: Any, default: float | None = None) -> float | None:
    return float(value) if _number_like(value) else default  # OverflowError: the row's broken


def _whole_or_none(value: Any) -> int | None:
    if _number_like(value) and float(value).is_integer():
        return int(value)
    return None


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")
