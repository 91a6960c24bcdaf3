"""Running a job from the command line: start it, wait, turn signals into a clean stop, and
end with an exit code (0 completed or stopped, 1 diverged or failed, 2 bad input)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from engine.cli.options import cannot_start, fail
from engine.cli.output import JsonLines, silence_stdout
from engine.config import ConfigError
from engine.job import Job

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
T = TypeVar("T")


def flush_stdout() -> None:
    """The last flush before exit, quiet when the reader has gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def run_until_done(job: Job[Any, Any], on_stop: Callable[[], None] = lambda: None) -> None:
    """Start the job's thread and wait; Ctrl+C or SIGTERM asks it to stop, then waits.

    The signals call stop() instead of raising KeyboardInterrupt: an interrupt that lands inside
    Thread.join can leave the join believing the thread is gone, and the interpreter then exits
    under a running torch thread.
    """
    # SIGHUP: the terminal went away (an SSH session that dropped); the run is saved all the same.
    handled = (signal.SIGINT, signal.SIGTERM, *_optional_signals("SIGHUP"))
    previous = {}
    if threading.current_thread() is threading.main_thread():

        def stop(*_: object) -> None:
            job.stop()
            on_stop()

        previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        job.start()
        while not job.join(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ctrl+C, SIGTERM and SIGHUP ignored for a moment that must finish (stopping what the
    command started), then handled as before. On the main thread only (elsewhere: as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM, *_optional_signals("SIGHUP"))
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _optional_signals(*names: str) -> tuple[signal.Signals, ...]:
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


def build_or_exit(command: str, build: Callable[[], T]) -> T:
    """Validate and load (a Trainer, a Sweep); bad input ends here: one line, exit 2, worded
    for `command` (`wdtui run`, `wdtui sweep`)."""
    try:
        return build()
    except ConfigError as exc:
        fail(command, str(exc))
    except (RuntimeError, MemoryError) as exc:  # e.g. a model too large for the device
        cannot_start(command, exc)


def train_to_exit_code(job: Job[Any, Any], sink: object) -> int:
    """Train to the end on the job's thread; 0 completed or stopped, 1 diverged or failed."""
    if not isinstance(sink, JsonLines):
        run_until_done(job)
    else:
        sink.on_closed = job.stop  # a closed pipe (`| head`) stops the job quietly
        run_until_done(job, on_stop=sink.stop_waiting)
        if not sink.finish():
            # Stopped while nobody reads stdout: the run is saved; what is left is output that
            # nobody will read, held by a writer blocked in the pipe, and the interpreter's
            # exit would wait on that writer's lock for ever. Leave at once.
            sys.stderr.flush()
            os._exit(_exit_code(job))
    flush_stdout()
    return _exit_code(job)


def _exit_code(job: Job[Any, Any]) -> int:
    return EXIT_OK if job.status in ("completed", "stopped") else EXIT_FAILED
