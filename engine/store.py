"""What a run leaves on disk: config.json, metrics.csv (flushed at least every second), weights.pt.

Durability promises, each tested:
- A row reaches the file before its epoch's event reaches any consumer, and a flush thread hands
  pending rows to the kernel at least every FLUSH_EVERY_S, whatever the training thread is doing
  (a consumer blocked on a full pipe, one long optimizer step). The kernel keeps what it was
  handed whatever happens to the process, so a SIGKILL loses at most the last second.
- A file holds whole units only: a row, or a sweep epoch's rows together. A write cut short (a full
  disk) is truncated back to the last whole unit and reported.
- config.json, results.json and weights.pt are written to a temporary name and renamed, so a kill
  mid-write leaves the old file or none, never a torn one.
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from engine.config import ConfigError
from engine.data import Dataset

METRIC_COLUMNS = (
    "epoch",
    "train_loss",
    "test_loss",
    "penalty",
    "objective",
    "weight_sq_norm",
    "lam",
    "lr",
    "elapsed_s",
)
FLUSH_EVERY_S = 1.0


class RecordingError(OSError):
    """A run's files could not be written (e.g. the disk is full). The message is one line."""


def config_record(
    settings: dict[str, Any], device: torch.device, dataset: Dataset
) -> dict[str, Any]:
    """What config.json holds: the resolved settings, plus where and on what they ran."""
    return {
        **settings,
        "resolved_device": str(device),
        "torch_version": torch.__version__,
        "n_train": dataset.n_train,
        "n_test": dataset.n_test,
        "features": dataset.feature_names,
    }


def new_run_dir(runs_dir: str | Path, label: str) -> Path:
    """A fresh, unique folder: <runs_dir>/<yyyymmdd-hhmmss>-<label>[-N]."""
    root = Path(runs_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_label = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)[:40]
    for attempt in range(1000):
        name = f"{stamp}-{safe_label}" + (f"-{attempt}" if attempt else "")
        path = root / name
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot create a run folder under {root}: {exc.strerror}") from None
    raise RuntimeError(f"cannot create a unique run folder under {root}")


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through `write(temporary_path)`, then rename over `path` (atomic on POSIX)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        with open(partial, "rb") as handle:  # on disk before the name points at it
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    write_atomically(path, lambda p: p.write_text(json.dumps(data, indent=2) + "\n"))


def save_tensors(path: Path, data: Any) -> None:
    write_atomically(path, lambda p: torch.save(data, p))


def _cell(value: Any) -> str:
    # repr: the shortest text that reads back as the same float; None is an empty cell.
    return "" if value is None else repr(value)


class CsvLog:
    """Rows of numbers appended to a CSV by one thread, written out by a flush thread.

    Why a thread of its own: the training thread hands each epoch's event to its consumer right
    after the row is appended, and the consumer may block for as long as it likes (stdout into a
    pipe that nobody reads). A flush that waited for the training thread would wait with it.
    Appending is a list append under a lock: no system call per epoch.
    """

    def __init__(
        self, path: Path, columns: Sequence[str], flush_every_s: float = FLUSH_EVERY_S
    ) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._size = 0  # bytes of whole units in the file
        self._lock = threading.Lock()
        self._pending: list[bytes] = [(",".join(columns) + "\n").encode()]
        self._error: RecordingError | None = None
        self._told = False  # whether a caller has seen the error already
        self._closed = threading.Event()
        self.flush()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(flush_every_s,), name="wdtui-flush", daemon=True
        )
        self._flusher.start()

    def append(self, *rows: Sequence[Any]) -> None:
        """Queue `rows` as one unit: they reach the file together or not at all."""
        self._raise_error()
        unit = "".join(",".join(map(_cell, row)) + "\n" for row in rows).encode()
        with self._lock:
            self._pending.append(unit)

    def flush(self) -> None:
        """Hand every queued unit to the kernel now; raises RecordingError if it cannot."""
        with self._lock:
            units, self._pending = self._pending, []
            if units and self._error is None:
                self._write(units)
        self._raise_error()

    def close(self) -> None:
        """Flush and close; raises RecordingError unless the writer was already told."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._flusher.join()
        try:
            self.flush()
        except RecordingError:
            if not self._told:
                raise
        finally:
            os.close(self._fd)

    def _raise_error(self) -> None:
        if self._error is not None:
            self._told = True
            raise self._error

    def _flush_every(self, interval_s: float) -> None:
        while not self._closed.wait(interval_s):
            try:
                self.flush()
            except RecordingError:
                self._told = False  # only this thread saw it: the next append raises it
                return

    def _write(self, units: list[bytes]) -> None:
        data = b"".join(units)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as exc:
            # Keep the whole units that made it; cut the torn one off.
            whole = 0
            for unit in units:
                if whole + len(unit) > done:
                    break
                whole += len(unit)
            os.ftruncate(self._fd, self._size + whole)
            os.lseek(self._fd, self._size + whole, os.SEEK_SET)
            self._size += whole
            self._error = RecordingError(f"cannot write {self.path.name}: {exc.strerror or exc}")
            return
        self._size += done


class RunRecorder:
    """Writes one run's files as it trains."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        write_json(run_dir / "config.json", config)
        self._metrics = CsvLog(run_dir / "metrics.csv", METRIC_COLUMNS)

    def log_epoch(self, row: Sequence[Any]) -> None:
        self._metrics.append(row)

    def flush(self) -> None:
        self._metrics.flush()

    def close(self, state_dict: dict[str, torch.Tensor] | None) -> None:
        """Flush the metrics and save the weights; the weights are tried even when the metrics
        could not be written (a full disk may have room again), and the first error is raised."""
        try:
            self._metrics.close()
        finally:
            if state_dict is not None:
                weights = {k: v.detach().cpu() for k, v in state_dict.items()}
                save_tensors(self.run_dir / "weights.pt", weights)


def read_metrics(run_dir: str | Path, name: str = "metrics.csv") -> list[dict[str, float | None]]:
    """A run's CSV back as dicts of floats (None for an empty cell)."""
    with (Path(run_dir) / name).open(newline="") as handle:
        return [
            {k: (float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]
