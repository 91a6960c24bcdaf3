"""`wdtui run`: train one run without a screen, as JSON lines or with a progress bar."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from engine.cli.options import (
    OneLineParser,
    add_training_options,
    cannot_start,
    config_from_args,
    fail,
    parse_training_args,
)
from engine.cli.output import JsonLines, print_quietly, silence_stdout
from engine.cli.progress import ProgressLine
from engine.config import ConfigError
from engine.events import Epoch, Event, Finished, Started
from engine.trainer import Trainer

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
T = TypeVar("T")


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui run", description="Train one run headless and print its events."
    )
    add_training_options(parser)
    parser.add_argument("--jsonl", action="store_true", help="print events as JSON lines")
    return parser


def flush_stdout() -> None:
    """The last flush before exit, quiet when the reader has gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def _state_events_only(event: Event) -> bool:
    return isinstance(event, (Started, Epoch, Finished))


def run_until_done(trainer: Trainer | Any, on_stop: Callable[[], None] = lambda: None) -> None:
    """Start the trainer's thread and wait; Ctrl+C or SIGTERM asks it to stop, then waits.

    The signals call stop() instead of raising KeyboardInterrupt: an interrupt that lands inside
    Thread.join can leave the join believing the thread is gone, and the interpreter then exits
    under a running torch thread.
    """
    # SIGHUP: the terminal went away (an SSH session that dropped); the run is saved all the same.
    handled = (signal.SIGINT, signal.SIGTERM, *_optional_signals("SIGHUP"))
    previous = {}
    if threading.current_thread() is threading.main_thread():

        def stop(*_: object) -> None:
            trainer.stop()
            on_stop()

        previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        trainer.start()
        while not trainer.join(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _optional_signals(*names: str) -> tuple[signal.Signals, ...]:
    return tuple(getattr(signal, name) for name in names if hasattr(signal, name))


def build_or_exit(build: Callable[[], T]) -> T:
    """Validate and load (a Trainer, a Sweep); bad input ends here: one line, exit 2."""
    try:
        return build()
    except ConfigError as exc:
        fail(str(exc))
    except (RuntimeError, MemoryError) as exc:  # e.g. a model too large for the device
        cannot_start(exc)


def train_to_exit_code(job: Trainer | Any, sink: object) -> int:
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


def _exit_code(job: Trainer | Any) -> int:
    return EXIT_OK if job.status in ("completed", "stopped") else EXIT_FAILED


def run_command(argv: list[str]) -> int:
    args = parse_training_args(run_parser(), argv)
    sink: Callable[[Event], None] = JsonLines() if args.jsonl else _Summary()
    trainer = build_or_exit(
        lambda: Trainer(
            config_from_args(args), lambda e: sink(e) if _state_events_only(e) else None
        )
    )
    return train_to_exit_code(trainer, sink)


class _Summary:
    """A progress bar on stderr while training, a short summary on stdout at the end."""

    def __init__(self) -> None:
        self.progress: ProgressLine | None = None
        self.last: Epoch | None = None
        self.device = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self.progress = ProgressLine(int(event.config["epochs"]))
            self.device = event.device
        elif isinstance(event, Epoch):
            self.last = event
            if self.progress is not None:
                self.progress.update(event.epoch, _epoch_text(event))
        elif isinstance(event, Finished):
            if self.progress is not None:
                if self.last is not None:
                    self.progress.update(self.last.epoch, _epoch_text(self.last), force=True)
                self.progress.close()
            print_quietly(_summary_text(event, self.last, self.device))


def _epoch_text(e: Epoch) -> str:
    rate = e.epoch / e.elapsed_s if e.elapsed_s > 0 else 0.0
    test = "" if e.test_loss is None else f"  test {e.test_loss:.4g}"
    return f"train {e.train_loss:.4g}{test}  λ {e.lam:g}  {rate:,.0f} epochs/s"


def _summary_text(done: Finished, last: Epoch | None, device: str) -> str:
    lines = [
        f"{done.status}: {done.epochs} epochs on {device}"
        + (
            f" in {last.elapsed_s:.2f} s ({last.epoch / last.elapsed_s:,.0f} epochs/s)"
            if last is not None and last.elapsed_s > 0
            else ""
        )
    ]
    if done.message:
        lines.append(f"  {done.message}")
    if last is not None:
        test = "n/a (no test split)" if last.test_loss is None else f"{last.test_loss:.6g}"
        lines.append(
            f"  train loss {last.train_loss:.6g}   test loss {test}   "
            f"‖w‖² {last.weight_sq_norm:.6g}   λ {last.lam:g}   lr {last.lr:g}"
        )
    if done.run_dir:
        lines.append(f"  saved to {done.run_dir}")
    return "\n".join(lines)
