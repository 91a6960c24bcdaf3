"""Changes of λ and lr during a run: scripted (`wdtui run --at 100:lam=3`), typed live in the
explorer, and replayed at the same optimizer step.

A change is applied between two optimizer steps. `step` counts the steps taken before it over the
whole run, so a change typed in the middle of an epoch replays in the middle of the same epoch. A
scripted change names only its epoch: it is applied before that epoch's first step, so the
epoch's event carries it. The trainer records every change it applies, with its step, in the run
folder's summary.json (engine/store); a replay (`--config`) applies them at the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from engine.errors import ConfigError

SCHEDULE_KEYS = ("lam", "lr")
SOURCES = ("at", "live")  # scripted (--at, or a replay's), or typed while the run trained
CHANGE_COLUMNS = ("step", "epoch", "key", "value", "source")
AT_SYNTAX = "EPOCH:lam=VALUE or EPOCH:lr=VALUE"


@dataclass(frozen=True)
class Change:
    epoch: int  # 1-based: the epoch it is applied in
    key: str  # "lam" | "lr"
    value: float
    # Optimizer steps taken before it, over the whole run; None: before the epoch's first step.
    step: int | None = None
    source: str = "at"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epoch": self.epoch, "key": self.key, "value": self.value}
        if self.step is not None:
            out["step"] = self.step
        out["source"] = self.source
        return out

    @property
    def short(self) -> str:
        """`100:lam=3`, as --at takes it."""
        return f"{self.epoch}:{self.key}={self.value:g}"


def parse_at(text: str) -> Change:
    """`EPOCH:lam=VALUE` (or `lr`) as a scripted change; raises ConfigError (one line). The
    value's range and the epoch's are checked with the run's settings (`check_schedule`)."""
    epoch_text, colon, assignment = text.partition(":")
    key, equals, value_text = assignment.partition("=")
    if not colon or not equals:
        raise ConfigError(f"--at {text!r}: expected {AT_SYNTAX}, e.g. 100:lam=3")
    key = key.strip()
    if key not in SCHEDULE_KEYS:
        raise ConfigError(f"--at {text!r}: unknown key {key!r}; use lam or lr")
    try:
        epoch = int(epoch_text.strip())
    except ValueError:
        raise ConfigError(f"--at {text!r}: the epoch must be a whole number") from None
    try:
        value = float(value_text.strip())
    except ValueError:
        raise ConfigError(f"--at {text!r}: {value_text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"--at {text!r}: the value must be a finite number")
    return Change(epoch, key, value)


def changes_from_json(items: Any, where: str = "config.json") -> tuple[Change, ...]:
    """config.json's `schedule` (a list of objects) as changes; raises ConfigError."""
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{where}: schedule must be a list of changes")
    changes = []
    for n, item in enumerate(items, 1):
        if isinstance(item, Change):
            changes.append(item)
            continue
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: schedule entry {n} must be an object")
        unknown = set(item) - {"epoch", "step", "key", "value", "source"}
        if unknown:
            raise ConfigError(f"{where}: schedule entry {n} has unknown field {min(unknown)!r}")
        epoch, step, value = item.get("epoch"), item.get("step"), item.get("value")
        if not _whole(epoch) or (step is not None and not _whole(step)):
            raise ConfigError(f"{where}: schedule entry {n} needs a whole epoch (and step)")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: schedule entry {n}'s value must be a number")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            raise ConfigError(f"{where}: schedule entry {n}'s value must be finite") from None
        key, source = item.get("key"), item.get("source", "at")
        if key not in SCHEDULE_KEYS:
            raise ConfigError(f"{where}: schedule entry {n}'s key must be lam or lr")
        if source not in SOURCES:
            raise ConfigError(f"{where}: schedule entry {n}'s source must be at or live")
        changes.append(Change(epoch, str(key), value, step, str(source)))
    return tuple(changes)


def check_schedule(
    changes: Sequence[Change],
    epochs: int,
    check: dict[str, Any],
    *,
    penalized: bool = True,
) -> tuple[Change, ...]:
    """Changes whose epochs lie in 1..epochs and whose values `check[key]` accepts (the same
    checks as --lam and --lr); raises ConfigError naming the change."""
    for change in changes:
        what = f"--at {change.short}"
        if change.source == "live":
            what = f"the recorded change {change.short} (step {change.step})"
        if not 1 <= change.epoch <= epochs:
            raise ConfigError(f"{what}: the epoch must be between 1 and {epochs:,} (--epochs)")
        if change.step is not None and change.step < 0:
            raise ConfigError(f"{what}: the step must not be negative")
        if change.key == "lam" and not penalized:
            raise ConfigError(f"{what}: mode none has no penalty; use --reg l2 or wd")
        if not math.isfinite(change.value):
            raise ConfigError(f"{what}: the value must be a finite number")
        try:
            check[change.key](change.value)
        except ConfigError as exc:
            raise ConfigError(f"{what}: {exc}") from None
    return tuple(changes)


def steps_of(changes: Iterable[Change], steps_per_epoch: int) -> list[tuple[int, Change]]:
    """(step, change) in the order they apply: by step, and as listed within a step. A change
    with a step must lie inside its epoch's steps (raises ConfigError)."""
    timed = []
    for change in changes:
        first = (change.epoch - 1) * steps_per_epoch
        step = first if change.step is None else change.step
        if not first <= step < first + steps_per_epoch:
            raise ConfigError(
                f"schedule: step {step:,} is not in epoch {change.epoch} (steps {first:,} to "
                f"{first + steps_per_epoch - 1:,}): the data or the batch size differ from the "
                "recorded run's"
            )
        timed.append((step, change))
    return sorted(timed, key=lambda pair: pair[0])  # stable: a step's changes keep their order


def schedule_label(changes: Sequence[Change], most: int = 3) -> str:
    """The schedule in a run folder's name: `at100lam3-at200lr0.01`, the rest counted."""
    parts = [f"at{c.epoch}{c.key}{c.value:g}" for c in changes[:most]]
    if len(changes) > most:
        parts.append(f"{len(changes) - most}more")
    return "-".join(parts)


def replay_schedule(scripted: Sequence[Change], applied: Sequence[Change]) -> tuple[Change, ...]:
    """What a replay applies: every change the run applied, in its order, then the scripted
    ones it had not reached (a run stopped or killed before them).

    A live change keeps its step. A change scripted by epoch (`--at`) drops the step it was
    recorded at: it is its epoch's first step whatever the batch size, so a replay with another
    batch size still applies it. A scripted change is matched to its record by what it is and,
    if it names one, its step: a replay's own schedule holds the first run's live changes, and
    a replay of that replay must find them applied, not apply them twice.
    """
    record = [c if c.source == "live" else replace(c, step=None) for c in applied]
    unmatched = list(applied)
    pending = []
    for change in scripted:
        same = [a for a in unmatched if _same(a, change)]
        if same:
            unmatched.remove(same[0])
        else:
            pending.append(change)
    return (*record, *pending)


def _same(recorded: Change, scripted: Change) -> bool:
    what = (recorded.epoch, recorded.key, recorded.value, recorded.source)
    if what != (scripted.epoch, scripted.key, scripted.value, scripted.source):
        return False
    return scripted.step is None or recorded.step == scripted.step


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
