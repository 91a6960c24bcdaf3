"""The `wdtui` command: the explorer by default, `run` and `sweep` for headless work, `runs` to
list what was saved, `open` for the explorer with saved runs listed over it, `serve` for
the explorer in a web browser."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command Ctrl+C ended


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Ctrl+C while torch loads (a second or more) ends quietly, exit 130. A KeyboardInterrupt
    # raised inside a C extension's import can be swallowed or leave a half-imported module
    # behind (numpy: "cannot load module more than once"), so while importing, SIGINT is only
    # recorded, and acted on once the import is done. Once a run trains, engine/cli/run.py
    # turns SIGINT into a clean stop instead.
    with _sigint_recorded() as interrupted:
        command = _load_command(argv)
    if interrupted():
        return EXIT_INTERRUPTED
    subcommand = argv[:1] in (["run"], ["sweep"], ["runs"], ["open"], ["serve"])
    try:
        return command(argv[1:] if subcommand else argv)
    except KeyboardInterrupt:  # e.g. while a large CSV loads, before training starts
        return EXIT_INTERRUPTED


def _load_command(argv: list[str]) -> Callable[[list[str]], int]:
    if argv[:1] == ["run"]:
        from engine.cli.run import run_command

        return run_command
    if argv[:1] == ["sweep"]:
        from engine.cli.sweep import sweep_command

        return sweep_command
    if argv[:1] == ["runs"]:
        from engine.cli.runs import runs_command

        return runs_command
    if argv[:1] == ["serve"]:
        from tui.serve.command import serve_command

        return serve_command
    if argv[:1] == ["open"]:
        from tui.open import open_command

        return open_command
    from tui.launch import launch

    return launch


@contextlib.contextmanager
def _sigint_recorded() -> Iterator[Callable[[], bool]]:
    """Within the block, SIGINT sets a flag instead of raising (the main thread only, and not
    where SIGINT is ignored, as in a job a shell started in the background)."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(
        signal.SIGINT
    ) in (signal.SIG_IGN, None):
        yield lambda: False
        return
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: seen.append(signum))
    try:
        yield lambda: bool(seen)
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    raise SystemExit(main())
