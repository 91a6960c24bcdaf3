"""SIGTERM and SIGHUP to the real explorer, in a pseudo-terminal: the run stops and saves, and
the terminal is restored (alternate screen left, mouse reporting off); when the terminal itself
hangs up (an SSH session that drops), the run is saved and the process ends.

Review finding: either signal killed the explorer at once: no weights.pt, and the terminal left
in the alternate screen with mouse reporting on.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
import torch

from support.engine import ROOT, WDTUI, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")

LEAVE_ALT_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"  # what Textual's Linux driver writes first to stop mouse reporting
# Run as a session leader whose controlling terminal is the pty, as a login shell's child is:
# closing the pty's master then hangs it up (SIGHUP, and EIO on every read and write).
WITH_CONTROLLING_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    """A pseudo-terminal (80×24) running the explorer; its output is read all the time, on a
    thread, so the app never blocks on a full pty buffer."""

    def __init__(self, args: list[str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        env.pop("TEXTUAL", None)  # no devtools
        self.process = subprocess.Popen(
            [sys.executable, "-c", WITH_CONTROLLING_TERMINAL, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self._output = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the process and its terminal are gone
                return
            if not data:
                return
            with self._lock:
                self._output += data

    def output(self) -> bytes:
        with self._lock:
            return bytes(self._output)

    def hang_up(self) -> None:
        """As the end of an SSH session does: the terminal goes away."""
        self._stop.set()  # the reader first: no read may hold the master open, or reuse its fd
        self._reader.join(5)
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.master >= 0:
            self.hang_up()


def has_data_rows(runs_dir: Path) -> bool:
    for metrics in runs_dir.glob("*/metrics.csv"):
        if len(metrics.read_text().splitlines()) >= 2:  # the header and an epoch
            return True
    return False


def start_explorer(runs_dir: Path) -> Terminal:
    """A run that would train for hours, seen saving epochs."""
    args = ["--preset", "highdim", "--epochs", "100000000", "--device", "cpu"]
    terminal = Terminal([*WDTUI, *args, "--runs-dir", str(runs_dir)])
    try:
        wait_until(lambda: has_data_rows(runs_dir), 90, "a run folder with epochs in it")
        assert terminal.process.poll() is None, terminal.output()[-2000:]
    except BaseException:
        terminal.close()
        raise
    return terminal


def assert_saved(runs_dir: Path) -> None:
    (run_dir,) = runs_dir.iterdir()
    weights = run_dir / "weights.pt"
    assert weights.is_file(), sorted(p.name for p in run_dir.iterdir())
    assert set(torch.load(weights)) == {"weight", "bias"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_and_saves_the_run_and_restores_the_terminal(
    signum: signal.Signals, tmp_path: Path
) -> None:
    runs_dir = tmp_path / "runs"
    terminal = start_explorer(runs_dir)
    try:
        before = len(terminal.output())
        terminal.process.send_signal(signum)
        wait_until(lambda: terminal.process.poll() is not None, 30, "the explorer to exit")
        # The reader thread may still be copying the last bytes.
        wait_until(lambda: LEAVE_ALT_SCREEN in terminal.output()[before:], 5, "the restore")
    finally:
        terminal.close()
    assert_saved(runs_dir)
    after = terminal.output()[before:]
    assert LEAVE_ALT_SCREEN in after and MOUSE_OFF in after
    assert terminal.process.returncode == 0


def test_a_terminal_that_hangs_up_leaves_the_run_saved_and_no_process(tmp_path: Path) -> None:
    """Textual would block for ever writing to the terminal that is gone; the explorer saves
    the run and ends its process."""
    runs_dir = tmp_path / "runs"
    terminal = start_explorer(runs_dir)
    try:
        terminal.hang_up()
        wait_until(lambda: terminal.process.poll() is not None, 30, "the explorer to exit")
    finally:
        terminal.close()
    assert_saved(runs_dir)
    assert terminal.process.returncode == 0
