"""summary.json: how a run or a sweep went, in one small file that `wdtui runs` reads.

It is kept as far as the run got: the recorder folds in every epoch (a few comparisons, no I/O),
the CSV's flush thread rewrites the file at most once a FLUSH_EVERY_S when something changed
(never ahead of the CSV's rows: engine/store/durable.py `Sidecar`), and the end writes it
final. A SIGKILL therefore leaves a summary at most a second behind, with status
`running`; the listing tells a dead run from a live one by its `pid` and `host`.
"""

from __future__ import annotations

import math
import os
import socket
import threading
from pathlib import Path
from typing import Any

from engine.events import RUNNING, Epoch, Finished, finite_or_none
from engine.schedule import Change
from engine.store.durable import write_json
from engine.sweep.events import SweepEpoch, SweepFinished


class _Summary:
    """The shared part: a dict under a lock, written when it changed."""

    def __init__(self, path: Path, fields: dict[str, Any]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {
            "status": RUNNING,
            "message": "",
            "epochs": 0,
            **fields,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self._changed = True

    def snapshot(self) -> dict[str, Any] | None:
        """The summary now, if it changed since the last snapshot (CsvLog's Sidecar)."""
        with self._lock:
            if not self._changed:
                return None
            self._fold()
            data, self._changed = dict(self._data), False
            return data

    def _fold(self) -> None:
        """Bring `_data` up to date with what was folded in cheaply (a run's last epoch)."""

    def write(self, state: dict[str, Any]) -> None:
        try:
            write_json(self.path, state)
        except OSError:
            with self._lock:
                self._changed = True  # still due: the next beat writes the newest state
            raise

    def write_final(self) -> None:
        state = self.snapshot()
        if state is not None:
            self.write(state)

    def _update(self, **values: Any) -> None:
        with self._lock:
            self._data.update(values)
            self._changed = True


class RunSummary(_Summary):
    """A run's: final and best losses (and accuracies), λ and lr at the start and now, and
    every change it received."""

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        lam = 0.0 if config.get("reg") == "none" else config.get("lam")
        super().__init__(
            path,
            {
                "kind": "run",
                "train_loss": None,
                "test_loss": None,
                "train_accuracy": None,
                "test_accuracy": None,
                "best_train_loss": None,
                "best_test_loss": None,
                "best_epoch": None,  # the epoch of the best test loss
                "best_train_accuracy": None,
                "best_test_accuracy": None,
                "lam_start": lam,
                "lam_end": lam,
                "lr_start": config.get("lr"),
                "lr_end": config.get("lr"),
                "elapsed_s": 0.0,
                "changes": [],
            },
        )
        self._last: Epoch | None = None
        self._best: dict[str, Any] = {}

    def epoch(self, e: Epoch) -> None:
        """Fold one epoch in: a few comparisons under the lock (every epoch of the fastest
        runs pays it); the dict is built once a beat, in `snapshot`."""
        with self._lock:
            self._last = e
            best = self._best
            if _better(e.train_loss, best.get("best_train_loss"), lower=True):
                best["best_train_loss"] = e.train_loss
            if _better(e.test_loss, best.get("best_test_loss"), lower=True):
                best["best_test_loss"], best["best_epoch"] = e.test_loss, e.epoch
            if _better(e.train_accuracy, best.get("best_train_accuracy"), lower=False):
                best["best_train_accuracy"] = e.train_accuracy
            if _better(e.test_accuracy, best.get("best_test_accuracy"), lower=False):
                best["best_test_accuracy"] = e.test_accuracy
            self._changed = True

    def _fold(self) -> None:
        e = self._last
        if e is None:
            return
        self._data.update(
            epochs=e.epoch,
            train_loss=finite_or_none(e.train_loss),
            test_loss=finite_or_none(e.test_loss),
            train_accuracy=e.train_accuracy,
            test_accuracy=e.test_accuracy,
            lam_end=e.lam,
            lr_end=e.lr,
            elapsed_s=round(e.elapsed_s, 6),
            **self._best,
        )

    def change(self, change: Change) -> None:
        with self._lock:
            self._data["changes"] = [*self._data["changes"], change.to_json()]
            self._changed = True

    def finish(self, finished: Finished) -> None:
        self._update(status=finished.status, message=finished.message, epochs=finished.epochs)
        self.write_final()


class SweepSummary(_Summary):
    """A sweep's: its λ grid, and at the end the best λ's final losses (its member is the
    sweep's answer) and the best test loss of any member."""

    def __init__(self, path: Path, lams: list[float]) -> None:
        super().__init__(
            path,
            {
                "kind": "sweep",
                "members": len(lams),
                "lam_start": min(lams),
                "lam_end": max(lams),
                "best_lam": None,
                "train_loss": None,
                "test_loss": None,
                "train_accuracy": None,
                "test_accuracy": None,
                "best_test_loss": None,
                "best_by": None,
            },
        )

    def epoch(self, e: SweepEpoch) -> None:
        self._update(epochs=e.epoch)

    def finish(self, finished: SweepFinished) -> None:
        values: dict[str, Any] = {
            "status": finished.status,
            "message": finished.message,
            "epochs": finished.epochs,
            "best_lam": finished.best_lam,
            "best_by": finished.best_by,
        }
        tests = [m.test_loss for m in finished.results if m.test_loss is not None]
        tests = [t for t in tests if math.isfinite(t)]
        values["best_test_loss"] = min(tests, default=None)
        best = next((m for m in finished.results if m.lam == finished.best_lam), None)
        if best is not None:
            values["train_loss"] = finite_or_none(best.train_loss)
            values["test_loss"] = finite_or_none(best.test_loss)
            values["train_accuracy"] = best.train_accuracy
            values["test_accuracy"] = best.test_accuracy
        self._update(**values)
        self.write_final()


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _better(value: float | None, best: float | None, *, lower: bool) -> bool:
    if not _finite(value):
        return False
    assert value is not None
    return best is None or (value < best if lower else value > best)
