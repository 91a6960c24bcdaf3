"""The `wdtui` command: the explorer by default, `run` and `sweep` for headless work."""

from __future__ import annotations

import sys

USAGE = """usage: wdtui [training options]        open the explorer (wdtui --help)
       wdtui run [options] [--jsonl]   train one run headless (wdtui run --help)
       wdtui sweep [options] [--jsonl] train many λ at once (wdtui sweep --help)
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
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
