"""Helpers for the engine tests: run to the end, pick events out, wait without sleeping blind."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.data import Dataset
from engine.events import Epoch, Event, Finished, Started
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
WDTUI = [sys.executable, "-m", "tui.cli"]


def call_wdtui(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`wdtui ARGV` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def run_to_end(**settings: object) -> tuple[Trainer, list[Event]]:
    """Train a run to completion on this thread; returns the trainer and every event."""
    events: list[Event] = []
    trainer = Trainer(RunConfig(save=False, **settings), events.append)  # type: ignore[arg-type]
    trainer.run()
    return trainer, events


def epochs_of(events: list[Event]) -> list[Epoch]:
    return [e for e in events if isinstance(e, Epoch)]


def finished_of(events: list[Event]) -> Finished:
    (finished,) = [e for e in events if isinstance(e, Finished)]
    return finished


def started_of(events: list[Event]) -> Started:
    (started,) = [e for e in events if isinstance(e, Started)]
    return started


def sweep_to_end(
    lams: list[float], dataset: Dataset | None = None, **settings: object
) -> tuple[Sweep, list[SweepEvent]]:
    """Train a sweep to completion on this thread; returns the sweep and every event."""
    events: list[SweepEvent] = []
    config = RunConfig(save=False, **settings)  # type: ignore[arg-type]
    sweep = Sweep(config, lams, events.append, dataset=dataset)
    sweep.run()
    return sweep, events


def sweep_finished_of(events: list[SweepEvent]) -> SweepFinished:
    (done,) = [e for e in events if isinstance(e, SweepFinished)]
    return done


def sweep_epochs_of(events: list[SweepEvent]) -> list[SweepEpoch]:
    return [e for e in events if isinstance(e, SweepEpoch)]


class EventQueue:
    """A thread-safe inbox for a trainer's events, with waiting helpers that never hang."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.inbox.put(event)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    event = self.inbox.get(timeout=0.05)
                except queue.Empty:
                    continue
                self.seen.append(event)
                if predicate(event):
                    return event
        finally:
            timer.cancel()
        raise AssertionError(f"no matching event within {timeout} s")

    def drain(self) -> list[Event]:
        while True:
            try:
                self.seen.append(self.inbox.get_nowait())
            except queue.Empty:
                return self.seen


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def endless_jsonl_run(runs_dir: Path) -> subprocess.Popen[str]:
    """`wdtui run --jsonl` for 10**8 epochs, saving under `runs_dir`; stdout and stderr piped."""
    return subprocess.Popen(
        [*WDTUI, "run", "--jsonl", "--epochs", "100000000", "--runs-dir", str(runs_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
