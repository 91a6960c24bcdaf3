"""Durable files: rows appended by a flush thread, whole units only, atomic renames.

- A flush thread hands pending rows to the kernel at least every FLUSH_EVERY_S, whatever the
  training thread is doing (a consumer blocked on a full pipe, one long optimizer step). The
  kernel keeps what it was handed whatever happens to the process, so a SIGKILL loses at most
  the last second.
- A file holds whole units only: a row, or a sweep epoch's rows together. A write cut short (a
  full disk) is truncated back to the last whole unit and reported.
- JSON and tensor files are written to a temporary name and renamed, so a kill mid-write leaves
  the old file or none, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

FLUSH_EVERY_S = 1.0


class RecordingError(OSError):
    """A run's files could not be written (e.g. the disk is full). The message is one line."""


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
    text = json.dumps(data, indent=2) + "\n"

    def write(partial: Path) -> None:
        partial.write_text(text)

    write_atomically(path, write)


def save_tensors(path: Path, data: Any) -> None:
    write_atomically(path, lambda p: torch.save(data, p))


def _cell(value: Any) -> str:
    # repr: the shortest text that reads back as the same float; None is an empty cell.
    return "" if value is None else repr(value)


class Sidecar(Protocol):
    """A small file kept up to date on a CsvLog's beat (summary.json): `snapshot` is taken
    before the rows are written and `write` after, so the file never runs ahead of the rows.
    `snapshot` returns None when nothing changed; a `write` that fails must leave the state
    due, so that the next beat tries again."""

    def snapshot(self) -> Any: ...

    def write(self, state: Any) -> None: ...


class CsvLog:
    """Rows of numbers appended to a CSV by one thread, written out by a flush thread.

    Why a thread of its own: the training thread hands each epoch's event to its consumer right
    after the row is appended, and the consumer may block for as long as it likes (stdout into a
    pipe that nobody reads). A flush that waited for the training thread would wait with it.
    Appending is a list append under a lock: no system call per epoch.
    """

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        flush_every_s: float = FLUSH_EVERY_S,
        sidecar: Sidecar | None = None,
    ) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._size = 0  # bytes of whole units in the file
        self._lock = threading.Lock()
        self._pending: list[bytes] = [(",".join(columns) + "\n").encode()]
        self._error: RecordingError | None = None
        self._told = False  # whether a caller has seen the error already
        self._closed = threading.Event()
        self._sidecar = sidecar
        # One flush at a time (the flush thread's beat, a pause's on the training thread): a
        # sidecar snapshot taken later is then written later, never overwritten by an older one.
        self._flushing = threading.Lock()
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

    def _flush_rows(self) -> None:
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
        told_before = self._told  # flush() marks the error told as it raises it
        try:
            self.flush()
        except RecordingError:
            if not told_before:
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

    def flush(self) -> None:
        """Hand every queued unit to the kernel now; raises RecordingError if it cannot. The
        sidecar's state is taken first and written after, so it never runs ahead of the rows."""
        with self._flushing:
            state = None if self._sidecar is None else self._sidecar.snapshot()
            self._flush_rows()
            if state is not None and self._sidecar is not None:
                # A failed write is tried again on the next beat (the sidecar keeps it due);
                # the end's write reports a lasting failure.
                with contextlib.suppress(OSError):
                    self._sidecar.write(state)

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
