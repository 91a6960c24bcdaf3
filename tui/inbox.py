"""Events from an engine thread to the UI thread, without either waiting for the other.

The engine calls `put` on its own thread after every event: it appends to a deque, and for the
rare events (a start, a pause, the end) also calls `wake`, which posts a Textual message
(thread-safe, non-blocking) so they are handled at once. Frequent events wait for the screen's
timer, which calls `take` on the UI thread ten times a second: nothing is drawn once per epoch,
and the engine never waits for the UI (docs/design.md, "Threading").

With `newest_by`, frequent events are coalesced instead of queued: only the newest under each
key it names is kept. The sweep view plots every member's latest numbers, so a sweep of a
million epochs costs it no more than one of ten. A kept event is handed over by every `take`
until a newer one replaces it (the consumer ignores one it has already applied), and it is
queued ahead of any rare event that comes after it, so the order of arrival holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

E = TypeVar("E")


class EventInbox(Generic[E]):
    """`put(source, event)` on the engine's thread; `take()` on the UI thread.

    `source` says which job an event comes from (a run, a sweep): several may be in flight
    while one replaces another. `quiet`: the frequent event classes, which do not `wake`.
    """

    def __init__(
        self,
        wake: Callable[[], object],
        quiet: type[Any] | tuple[type[Any], ...],
        newest_by: Callable[[E], Iterable[str]] | None = None,
    ) -> None:
        self._wake = wake
        self._quiet = quiet
        self._newest_by = newest_by
        self._queue: deque[tuple[int, E]] = deque()
        # key -> (arrival number, source, event); written by the engine's thread only.
        self._newest: dict[str, tuple[int, int, E]] = {}
        self._arrivals = 0
        self._only: int | None = None

    def put(self, source: int, event: E) -> None:
        """Called on the engine's thread: store only, never touch a widget here."""
        if self._only is not None and source != self._only:
            return
        if isinstance(event, self._quiet):
            if self._newest_by is None:
                self._queue.append((source, event))
                return
            self._arrivals += 1
            for key in self._newest_by(event):
                self._newest[key] = (self._arrivals, source, event)
            return
        self._queue.extend(self._kept())  # they arrived before this event
        self._queue.append((source, event))
        self._wake()

    def take(self) -> list[tuple[int, E]]:
        """What arrived since the last call, in order, then the newest coalesced events."""
        taken: list[tuple[int, E]] = []
        while self._queue:
            taken.append(self._queue.popleft())
        taken.extend(self._kept())
        if self._only is not None:
            taken = [(source, event) for source, event in taken if source == self._only]
        return taken

    def pending(self) -> bool:
        """Events are queued (the coalesced ones aside: every `take` hands those over)."""
        return bool(self._queue)

    def only_from(self, source: int) -> None:
        """From now on take events from `source` alone; forget everything held so far."""
        self._only = source
        self._queue.clear()
        self._newest.clear()

    def _kept(self) -> list[tuple[int, E]]:
        # list() copies the values in one step, safe against the engine thread's writes; an
        # event kept under two keys is handed over once.
        by_arrival = {n: (source, event) for n, source, event in list(self._newest.values())}
        return [by_arrival[n] for n in sorted(by_arrival)]
