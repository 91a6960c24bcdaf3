"""`--jsonl`: each event's JSON on its own line of stdout, written by a thread of its own.

Why a thread: a reader that stops reading (a stalled pipe) blocks whoever writes. Were that the
training thread, SIGTERM could only set the stop flag, and the run would never get as far as
saving its weights. So the training thread only queues lines. The queue is bounded: while it is
full the training thread waits, so a slow reader still paces the run and memory stays bounded;
once a stop is asked it waits no more. A closed pipe (`| head`) stops the run quietly.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_QUEUED = 4096  # lines waiting for the reader (a few MB at most)
WRITE_EVERY_S = 0.05  # epoch lines go out in batches; started and finished at once
GRACE_S = 2.0  # after a stop, how long the last lines may take to reach a stalled reader
EPOCH_EVENTS = ("epoch", "sweep_epoch")

# One encoder for the whole run: json.dumps with options builds a new encoder per call.
_ENCODE = json.JSONEncoder(allow_nan=False, ensure_ascii=False).encode


def silence_stdout() -> None:
    """stdout's reader has gone (`| head`, `| true`): point the descriptor at /dev/null, so that
    what is still buffered, and the interpreter's last flush, go nowhere instead of raising
    BrokenPipeError (which Python reports at exit, with status 120)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def print_quietly(text: str) -> None:
    """Print to stdout; a reader that has gone (`| true`) silences it instead of raising."""
    try:
        print(text)
    except BrokenPipeError:
        silence_stdout()


def warn_quietly(command: str, message: str) -> None:
    """`COMMAND: warning: MESSAGE` on stderr; a closed stderr only drops it (as the progress bar
    does: a warning must never end the run)."""
    try:
        sys.stderr.write(f"{command}: warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class JsonLines:
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.on_closed: Callable[[], None] = lambda: None  # the reader has gone
        self.closed = False
        self._lines: deque[str] = deque()
        self._stopping = threading.Event()  # a stop was asked: never wait for the reader again
        self._wake = threading.Event()
        self._room = threading.Event()
        self._done = threading.Event()
        # Started by the first event: a command that fails before training leaves no thread.
        self._writer = threading.Thread(target=self._write_loop, name="wdtui-jsonl", daemon=True)

    def __call__(self, event: Any) -> None:
        """Called on the training thread: queue the event's line."""
        if self.closed or not hasattr(event, "to_json"):
            return
        if self._writer.ident is None:
            self._writer.start()
        while len(self._lines) >= MAX_QUEUED and not (self._stopping.is_set() or self.closed):
            self._room.clear()
            self._room.wait(0.1)
        record = event.to_json()
        self._lines.append(_ENCODE(record) + "\n")
        if record["event"] not in EPOCH_EVENTS or len(self._lines) >= MAX_QUEUED // 2:
            self._wake.set()

    def stop_waiting(self) -> None:
        """A stop was asked: from now on the training thread never waits for the reader."""
        self._stopping.set()
        self._room.set()

    def finish(self) -> bool:
        """Write what is queued, then end the writer. Waits for the reader as long as it reads,
        or GRACE_S after a stop; False if lines were still stuck then (a stalled reader)."""
        self._done.set()
        self._wake.set()
        deadline = time.monotonic() + GRACE_S
        while self._writer.ident is not None and self._writer.is_alive():
            self._writer.join(0.1)
            if self._stopping.is_set() and time.monotonic() > deadline:
                return False
        return True

    def _write_loop(self) -> None:
        while True:
            self._wake.wait(WRITE_EVERY_S)
            self._wake.clear()
            done = self._done.is_set()  # read before draining: nothing is queued after it
            batch = []
            while self._lines:
                batch.append(self._lines.popleft())
            self._room.set()
            if batch and not self.closed:
                try:
                    self.stream.write("".join(batch))
                    self.stream.flush()
                except BrokenPipeError:
                    self.closed = True
                    silence_stdout()
                    self.on_closed()
            if done and not self._lines:
                return
