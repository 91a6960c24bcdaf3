"""What a saved run came to: its final and best numbers, λ and lr from start to end, and the
changes it received. Measured from the run's own epochs (metrics.csv), so a run saved before
summary.json had one shows the same; the changes, which carry their optimizer step, come from
summary.json where it has them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.events import RUNNING, UNFINISHED, Epoch

if TYPE_CHECKING:  # engine.store imports torch
    from engine.store import SavedRun

KILLED = "its process ended before the run did: no results.json"
STILL_RUNNING = "still training: shown as far as it had saved"


@dataclass(frozen=True)
class Change:
    """One λ or lr change as the run applied it (step None: before its epoch's first step)."""

    epoch: int
    key: str
    value: float
    step: int | None
    source: str


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str
    epochs: int
    final: Epoch | None
    best_train_loss: float | None
    best_test_loss: float | None
    best_epoch: int | None  # of the lowest test loss (the first, on a tie)
    best_train_accuracy: float | None
    best_test_accuracy: float | None
    lam_start: float
    lam_end: float
    lr_start: float
    lr_end: float
    changes: tuple[Change, ...]


def outcome(
    saved: SavedRun,
    summary_changes: Sequence[dict[str, Any]] | None = None,
    *,
    still_running: bool = False,
) -> Outcome:
    """`saved`'s outcome. `summary_changes`: summary.json's `changes` (engine/catalog.py
    `read_entry(path).changes`); None (no summary) falls back to the scripted schedule.
    `still_running`: its process still trains it (summary.json says so), so no results.json
    yet is no sign of a kill."""
    epochs = saved.epochs
    config = saved.config
    finished = saved.finished
    first, last = (epochs[0], epochs[-1]) if epochs else (None, None)
    lam0, lr0 = config.effective_lam, float(config.lr or 0.0)
    best_test = _best([e.test_loss for e in epochs], lower=True)
    status, message = (RUNNING, STILL_RUNNING) if still_running else (UNFINISHED, KILLED)
    return Outcome(
        status=status if finished is None else finished.status,
        message=message if finished is None else finished.message,
        epochs=len(epochs) if finished is None else finished.epochs,
        final=last,
        best_train_loss=_value(
            _best([e.train_loss for e in epochs], lower=True), epochs, "train_loss"
        ),
        best_test_loss=_value(best_test, epochs, "test_loss"),
        best_epoch=None if best_test is None else epochs[best_test].epoch,
        best_train_accuracy=_value(
            _best([e.train_accuracy for e in epochs], lower=False), epochs, "train_accuracy"
        ),
        best_test_accuracy=_value(
            _best([e.test_accuracy for e in epochs], lower=False), epochs, "test_accuracy"
        ),
        lam_start=lam0 if first is None else first.lam,
        lam_end=lam0 if last is None else last.lam,
        lr_start=lr0 if first is None else first.lr,
        lr_end=lr0 if last is None else last.lr,
        changes=_changes(summary_changes, saved),
    )


def _best(values: Sequence[float | None], *, lower: bool) -> int | None:
    """The index of the lowest (highest) finite value, the first on a tie."""
    best = None
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        if best is None or (v < values[best] if lower else v > values[best]):  # type: ignore[operator]
            best = i
    return best


def _value(index: int | None, epochs: Sequence[Epoch], name: str) -> float | None:
    return None if index is None else getattr(epochs[index], name)


def _changes(items: Sequence[dict[str, Any]] | None, saved: SavedRun) -> tuple[Change, ...]:
    if items is None:
        return tuple(
            Change(c.epoch, c.key, c.value, c.step, c.source) for c in saved.config.schedule
        )
    out = []
    for item in items:
        epoch, key, value, step = (item.get(k) for k in ("epoch", "key", "value", "step"))
        if not isinstance(epoch, int) or not isinstance(value, (int, float)):
            continue  # a hand-edited entry: the others still show
        out.append(
            Change(
                epoch,
                str(key),
                float(value),
                step if isinstance(step, int) else None,
                str(item.get("source", "")),
            )
        )
    return tuple(out)
