"""The `wdtui` command: the explorer by default, `run` and `sweep` for headless work."""

from __future__ import annotations

import sys

USAGE = """usage: wdtui [training options]        open the explorer (wdtui --help)
       wdtui run [options] [--jsonl]   train one run headless (wdtui run --help)
       wdtui sweep [options] [--jsonl] train many λ at once (wdtui sweep --help)
"""
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command Ctrl+C ended


def main(argv: list[str] | None = None) -> int:
    # Ctrl+C before training starts (while torch loads, which takes a second or more) ends
    # quietly: no KeyboardInterrupt traceback. Once a run trains, engine/headless.py turns
    # SIGINT into a clean stop instead.
    try:
        return _command(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _command(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        from engine.headless import run_command

        return run_command(argv[1:])
    if argv[:1] == ["sweep"]:
        from engine.sweep_cli import sweep_command

        return sweep_command(argv[1:])
    from tui.launch import launch

    return launch(argv)


if __name__ == "__main__":
    raise SystemExit(main())
