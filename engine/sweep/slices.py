"""One sweep trained as slices: split the λ list, then merge the slices' events back into the
events of one sweep, as if one `Sweep` had trained every member.

Each slice is a whole `Sweep` over a contiguous run of `lams` (engine/sweep/runner.py), so each
member trains exactly as it would in one sweep: the same initial weights, the same shuffle, the
same arithmetic. What this module adds is the bookkeeping: epoch e is announced once every slice
has reported it (or has ended), its tuples concatenated in slice order, which is the order of
`lams`. Pure Python: the transport (Ray, engine/sweep/ray_sweep.py) lives elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from engine.sweep.events import MemberResult, SweepEpoch, SweepEvent, SweepFinished, SweepStarted


def split_lams(count: int, slices: int) -> tuple[range, ...]:
    """`slices` contiguous runs of indices into `lams` (at most `count`), their sizes differing
    by one at most, the longer ones first."""
    slices = max(1, min(slices, count))
    base, extra = divmod(count, slices)
    bounds, start = [], 0
    for i in range(slices):
        stop = start + base + (i < extra)
        bounds.append(range(start, stop))
        start = stop
    return tuple(bounds)


class MergedEpoch(NamedTuple):
    """One epoch of the whole sweep, and which members trained in it (sweep.csv's rows)."""

    event: SweepEpoch
    trained: tuple[bool, ...]


@dataclass
class _Slice:
    members: range
    started: SweepStarted | None = None
    last: SweepEpoch | None = None  # its last epoch in a merged event
    weights: tuple[tuple[float, ...], ...] | None = None  # its latest live weights
    finished: SweepFinished | None = None
    failure: str | None = None  # why its worker is gone
    pending: dict[int, SweepEpoch] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.finished is not None or self.failure is not None


class SliceMerger:
    """The slices' events in (`feed`, `fail`), the sweep's events out, in the order of epochs and
    of `lams`. Not thread-safe: one driver thread feeds it."""

    def __init__(
        self,
        lams: Sequence[float],
        slices: Sequence[range],
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.lams = tuple(lams)
        self.slices = [_Slice(members) for members in slices]
        self.started: SweepStarted | None = None
        self.epoch = 0  # the last epoch announced
        self.statuses = ["running"] * len(self.lams)  # as of the last epoch announced
        self._clock = clock
        self._t0 = clock()

    # ----- in -------------------------------------------------------------------------------

    def feed(self, index: int, event: SweepEvent) -> list[SweepStarted | MergedEpoch]:
        """Slice `index`'s next event; returns what the sweep can now announce."""
        part = self.slices[index]
        if part.failure is not None:
            return []  # its members already failed; a late event changes nothing
        if isinstance(event, SweepStarted):
            part.started = event
        elif isinstance(event, SweepEpoch):
            part.pending[event.epoch] = event
        else:
            part.finished = event
        return self._announce()

    def fail(self, index: int, reason: str) -> list[SweepStarted | MergedEpoch]:
        """Slice `index`'s worker is gone: its running members fail with `reason` from the next
        epoch on; the others go on."""
        part = self.slices[index]
        if part.ended:
            return []
        part.failure = reason
        part.pending.clear()
        return self._announce()

    # ----- out ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return all(part.ended for part in self.slices) and not self._ready_epoch()

    def _member_size(self) -> int:
        """Parameters per member (the live weights' length); 0 before any slice started."""
        first = next((p.started for p in self.slices if p.started is not None), None)
        return 0 if first is None else sum(math.prod(p.shape) for p in first.parameters)

    def failures(self) -> list[tuple[range, str]]:
        """Each slice whose members failed, with the reason: its worker died, or its sweep ended
        `failed` (e.g. the worker's device ran out of memory)."""
        found = []
        for part in self.slices:
            if part.failure is not None:
                found.append((part.members, part.failure))
            elif part.finished is not None and any(
                r.status == "failed" for r in part.finished.results
            ):
                found.append((part.members, part.finished.message))
        return found

    def results(self) -> tuple[MemberResult, ...]:
        """Every member's result, in the order of `lams`. A member whose worker died keeps the
        numbers of its last announced epoch, without weights (they died with the worker)."""
        out: list[MemberResult] = []
        for part in self.slices:
            if part.finished is not None and part.failure is None:
                out.extend(part.finished.results)
                continue
            for offset, k in enumerate(part.members):
                out.append(self._lost_member(part, offset, k))
        return tuple(out)

    def _lost_member(self, part: _Slice, offset: int, k: int) -> MemberResult:
        last = part.last
        status = "failed" if self.statuses[k] in ("running", "failed") else self.statuses[k]

        def pick(values: tuple[float, ...] | None) -> float | None:
            return None if values is None or last is None else values[offset]

        return MemberResult(
            lam=self.lams[k],
            status=status,
            epochs=0 if last is None else last.epoch,
            train_loss=None if last is None else last.train_loss[offset],
            test_loss=pick(None if last is None else last.test_loss),
            weight_sq_norm=None if last is None else last.weight_sq_norm[offset],
            weights={},
            train_accuracy=pick(None if last is None else last.train_accuracy),
            test_accuracy=pick(None if last is None else last.test_accuracy),
        )

    # ----- merging ---------------------------------------------------------------------------

    def _announce(self) -> list[SweepStarted | MergedEpoch]:
        out: list[SweepStarted | MergedEpoch] = []
        if self.started is None:
            started = self._merged_start()
            if started is None:
                return out
            self.started = started
            self._t0 = self._clock()
            out.append(started)
        while (epoch := self._ready_epoch()) is not None:
            out.append(self._merge(epoch))
        return out

    def _merged_start(self) -> SweepStarted | None:
        """Once every slice still alive has started: its first event, made whole."""
        if any(p.started is None and not p.ended for p in self.slices):
            return None
        parts = [p.started for p in self.slices if p.started is not None]
        if not parts:
            return None
        first = parts[0]
        ridges = [p.started.ridge if p.started else None for p in self.slices]
        ridge = None
        if all(r is not None for r in ridges):
            ridge = tuple(member for r in ridges if r is not None for member in r)
        return replace(
            first,
            config={**first.config, "lams": list(self.lams)},
            lams=self.lams,
            ridge=ridge,
        )

    def _ready_epoch(self) -> int | None:
        """The next epoch, once every slice has reported it or ended, and one has reported it."""
        if self.started is None:
            return None
        epoch = self.epoch + 1
        reported = False
        for part in self.slices:
            if epoch in part.pending:
                reported = True
            elif not part.ended:
                return None
        return epoch if reported else None

    def _merge(self, epoch: int) -> MergedEpoch:
        parts: list[SweepEpoch] = []
        trained: list[bool] = []
        fresh_weights = False
        for part in self.slices:
            event = part.pending.pop(epoch, None)
            if event is not None:
                part.last = event
                if event.weights is not None:
                    part.weights, fresh_weights = event.weights, True
                parts.append(event)
            else:
                parts.append(self._carried(part, epoch))
            # Trained this epoch: running before it, in a slice that reported it.
            trained.extend(
                event is not None and self.statuses[k] == "running" for k in part.members
            )
        statuses = tuple(s for p in parts for s in p.statuses)
        self.statuses, self.epoch = list(statuses), epoch
        merged = SweepEpoch(
            epoch=epoch,
            train_loss=_joined([p.train_loss for p in parts]) or (),
            test_loss=_joined([p.test_loss for p in parts]),
            weight_sq_norm=_joined([p.weight_sq_norm for p in parts]) or (),
            elapsed_s=self._clock() - self._t0,
            statuses=statuses,
            weights=self._live_weights() if fresh_weights else None,
            train_accuracy=_joined([p.train_accuracy for p in parts]),
            test_accuracy=_joined([p.test_accuracy for p in parts]),
        )
        return MergedEpoch(merged, tuple(trained))

    def _carried(self, part: _Slice, epoch: int) -> SweepEpoch:
        """An ended slice's numbers for an epoch it did not train: a slice whose members all
        diverged measures the same frozen numbers again, as one sweep would (so does one stopped
        at once by a second stop, which ended before the others); a lost worker's
        members have none (NaN), status `failed`, as have those of a slice that failed."""
        n = len(part.members)
        last = part.last
        stopped = part.finished is not None and part.finished.status == "stopped"
        frozen = last is not None and ("running" not in last.statuses or stopped)
        if part.failure is None and last is not None and frozen:
            return replace(last, epoch=epoch)  # frozen members, or a slice stopped at once
        nan = (math.nan,) * n
        shape = self._template()
        statuses = tuple(
            s if s == "diverged" else "failed" for s in (self.statuses[k] for k in part.members)
        )
        return SweepEpoch(
            epoch=epoch,
            train_loss=nan,
            test_loss=None if shape.test_loss is None else nan,
            weight_sq_norm=nan,
            elapsed_s=0.0,
            statuses=statuses,
            train_accuracy=None if shape.train_accuracy is None else nan,
            test_accuracy=None if shape.test_accuracy is None else nan,
        )

    def _template(self) -> SweepEpoch:
        """Any live slice's epoch: which numbers this sweep has (a test split, accuracies)."""
        for part in self.slices:
            for event in (*part.pending.values(), part.last):
                if event is not None:
                    return event
        raise AssertionError("an epoch is merged only once a slice has reported it")

    def _live_weights(self) -> tuple[tuple[float, ...], ...] | None:
        """Every member's latest live weights: each slice sends its own on its own clock, so
        they are merged as they stand (a lost slice's as NaN); None until each has sent some."""
        size = self._member_size()
        rows: list[tuple[float, ...]] = []
        for part in self.slices:
            if part.failure is not None or (part.weights is None and part.ended):
                rows.extend([(math.nan,) * size] * len(part.members))
            elif part.weights is None:
                return None
            else:
                rows.extend(part.weights)
        return tuple(rows)


def _joined(parts: Sequence[tuple[float, ...] | None]) -> tuple[float, ...] | None:
    if any(p is None for p in parts):
        return None
    return tuple(v for p in parts if p is not None for v in p)
