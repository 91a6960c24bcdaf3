"""A one-line progress bar on stderr, redrawn at most ten times a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class ProgressLine:
    def __init__(self, total: int, stream: TextIO | None = None, interval_s: float = 0.1) -> None:
        self.total = max(total, 0)
        self.stream: TextIO | None = stream or sys.stderr
        self.interval_s = interval_s
        self._last = float("-inf")
        self._drawn = False

    def update(self, done: int, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        share = done / self.total if self.total else 1.0
        filled = round(BAR_WIDTH * share)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        self._write(f"\r{bar} {done}/{self.total} {text}\x1b[K")
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._write("\n")
            self._drawn = False

    def _write(self, text: str) -> None:
        # The bar is decoration: a closed stderr (`2>&1 | head -c 100`) turns it off, and the
        # run goes on; it must never end the run.
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:
            self.stream = None
