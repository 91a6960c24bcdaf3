"""Export what the loss chart shows (`e`): an SVG of the screen and a CSV of the drawn runs'
metrics, side by side with one stem (`wdtui-<yyyymmdd-hhmmss>.svg` and `.csv`), in the runs
folder, else the current one (tui/screenshot.py decides where, and never overwrites).

The CSV holds one row per drawn run per epoch, the raw numbers (never the smoothed ones),
written with repr() so they read back as the same floats; an empty cell where a number is
unknown (no test split, a regression's accuracy, a non-finite loss the chart shows as a gap).

A million-epoch run is a million rows, seconds of formatting: the numbers are copied on the UI
thread (cheap) and written on a thread of their own, to a temporary name renamed when complete,
so the screen stays live and a quit mid-write leaves no torn file. The note comes when done.
"""

from __future__ import annotations

import contextlib
import csv
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.app import App
from textual.notifications import SeverityLevel

from tui.screenshot import save_screenshot, screenshot_name
from tui.state.run_state import RunState

CSV_COLUMNS = (
    "run",
    "run_dir",
    "epoch",
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    "weight_sq_norm",
    "lam",
    "lr",
)
CHUNK_ROWS = 10_000  # rows formatted at a time: a million-row string is never built


def legend_label(run: RunState) -> str:
    """The run as the chart's legend names it: 'λ=0.1 sgd highdim'."""
    return f"{run.label} {run.config.source_name}"


def lam_lr_per_epoch(
    changes: Sequence[tuple[int, float, float]], epochs: int
) -> tuple[np.ndarray, np.ndarray]:
    """λ and lr of epochs 1..`epochs`, from the (first epoch, λ, lr) change points."""
    if not changes:
        return np.full(epochs, np.nan), np.full(epochs, np.nan)
    starts = np.array([c[0] for c in changes])
    which = np.searchsorted(starts, np.arange(1, epochs + 1), side="right") - 1
    lams = np.array([c[1] for c in changes], dtype=np.float64)
    lrs = np.array([c[2] for c in changes], dtype=np.float64)
    # Epochs before the first change point (none in practice) are unknown.
    known = which >= 0
    return np.where(known, lams[which], np.nan), np.where(known, lrs[which], np.nan)


@dataclass(frozen=True)
class RunTable:
    """One run's rows, copied from its state so that another thread can write them."""

    label: str
    run_dir: str
    metrics: tuple[np.ndarray, ...]  # per epoch, in CSV_COLUMNS[3:]'s order

    @classmethod
    def of(cls, run: RunState) -> RunTable:
        epochs = run.epochs_seen

        def column(values: np.ndarray) -> np.ndarray:
            padded = np.full(epochs, np.nan)  # a series without a value every epoch
            padded[: min(epochs, len(values))] = values[:epochs]
            return padded

        lams, lrs = lam_lr_per_epoch(run.lam_lr_changes, epochs)
        series = (
            run.train,
            run.test,
            run.train_accuracy,
            run.test_accuracy,
            run.weight_sq_norm,
        )
        metrics = (*(column(s.values()) for s in series), lams, lrs)
        return cls(legend_label(run), run.run_dir or "", metrics)

    def rows(self) -> Iterator[list[list[str]]]:
        """The CSV rows, CHUNK_ROWS at a time."""
        epochs = len(self.metrics[0])
        for start in range(0, epochs, CHUNK_ROWS):
            stop = min(epochs, start + CHUNK_ROWS)
            cells = [_cells(values[start:stop]) for values in self.metrics]
            yield [
                [self.label, self.run_dir, str(epoch), *numbers]
                for epoch, *numbers in zip(range(start + 1, stop + 1), *cells, strict=True)
            ]


def _cells(values: np.ndarray) -> list[str]:
    # repr: the shortest text that reads back as the same float; NaN (unknown) is empty.
    return [repr(v) if v == v else "" for v in values.tolist()]


def write_csv(tables: Sequence[RunTable], path: Path) -> None:
    """Write the runs' rows to `path` whole: a temporary name beside it, renamed at the end."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_COLUMNS)
            for table in tables:
                for chunk in table.rows():
                    writer.writerows(chunk)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def export_chart(
    app: App[object], runs: Sequence[RunState], runs_dir: str | Path
) -> threading.Thread | None:
    """Save the screen's SVG now and the runs' CSV beside it on a thread (returned), then
    say where both went; a failure is one line, and nothing else changes."""
    tables = [RunTable.of(run) for run in runs]  # the numbers as the chart shows them now
    try:
        svg = save_screenshot(
            app.export_screenshot(), runs_dir, screenshot_name(), companions=(".csv",)
        )
    except OSError as exc:
        app.notify(f"chart not exported: {exc}", severity="error", markup=False)
        return None
    thread = threading.Thread(
        target=_write_and_tell,
        args=(app, tables, svg, svg.with_suffix(".csv")),
        name="wdtui-export",
        daemon=True,
    )
    thread.start()
    return thread


def _write_and_tell(app: App[object], tables: Sequence[RunTable], svg: Path, path: Path) -> None:
    severity: SeverityLevel = "information"
    try:
        write_csv(tables, path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        text, severity = f"chart saved as {svg}, but not its CSV: {reason}", "error"
    else:
        text = f"chart exported to {svg.parent}/: {svg.name} and {path.name}"
    # The app may have closed meanwhile: the files are written all the same.
    with contextlib.suppress(RuntimeError):
        app.call_from_thread(app.notify, text, severity=severity, markup=False)


__all__ = ["CSV_COLUMNS", "RunTable", "export_chart", "lam_lr_per_epoch", "write_csv"]
