"""One slice of a sweep, as a Ray worker runs it: a whole `Sweep` over part of the λ list, on a
thread, its events queued until the driver polls them (engine/sweep/ray_sweep.py).

Plain Python with no Ray import: Ray turns this class into an actor. Each method call runs on
a thread of the actor's pool, so `poll`, `halt` and `stop` answer while the slice trains.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

from engine.config import RunConfig
from engine.data import Dataset
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished
from engine.sweep.runner import Sweep


class SliceWorker:
    """Build (`build`), train (`start`), report (`poll`), and stop all slices after one same
    epoch (`halt`, then `finish_at`): how Ctrl+C leaves one consistent sweep."""

    def __init__(self) -> None:
        self._events: queue.Queue[SweepEvent] = queue.Queue()
        self._sweep: Sweep | None = None
        self._epoch = 0  # the last epoch reported
        self._halt = threading.Event()  # asked to wait at the next epoch's end
        self._parked = threading.Event()  # waiting there, or ended
        self._resume = threading.Event()
        self._stop_after: int | None = None

    def build(self, config: RunConfig, lams: Sequence[float], dataset: Dataset) -> str:
        """Validate and place the slice (a ConfigError travels back to the driver as it is);
        the device it trains on. No files: the driver writes the sweep's."""
        self._sweep = Sweep(replace(config, save=False), lams, self._emit, dataset=dataset)
        return str(self._sweep.device)

    def pid(self) -> int:
        return os.getpid()

    def start(self) -> None:
        self._built().start()

    def stop(self) -> None:
        self._built().stop()
        self._resume.set()

    def poll(self, wait: float, linger: float) -> list[SweepEvent]:
        """Every event queued so far, waiting up to `wait` s for the first, then `linger` s more
        so that one reply carries many epochs (each reply costs the worker ~1.5 ms)."""
        try:
            out = [self._events.get(timeout=wait)]
        except queue.Empty:
            return []
        if linger > 0 and not isinstance(out[0], SweepFinished):
            time.sleep(linger)
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def halt(self) -> int:
        """Wait at the next epoch's end (at once if the slice has ended); the last epoch
        reported, which the driver compares across slices."""
        self._halt.set()
        self._parked.wait()
        return self._epoch

    def finish_at(self, epoch: int) -> None:
        """Train on to `epoch` (the furthest any slice got), then stop, as one sweep would."""
        self._stop_after = epoch
        if self._epoch >= epoch:
            self._built().stop()
        self._resume.set()

    def _built(self) -> Sweep:
        if self._sweep is None:
            raise RuntimeError("the slice was never built")
        return self._sweep

    def _emit(self, event: SweepEvent) -> None:
        """On the training thread: at an epoch's end, before the next step is taken."""
        self._events.put(event)
        if isinstance(event, SweepFinished):
            self._parked.set()
        elif isinstance(event, SweepEpoch):
            self._epoch = event.epoch
            if self._halt.is_set() and self._stop_after is None:
                self._parked.set()
                self._resume.wait()
            if self._stop_after is not None and event.epoch >= self._stop_after:
                self._built().stop()  # looked at before the next step: none is taken
