"""`wdtui open RUN_DIR [RUN_DIR ...] [explorer options]`: the explorer as `wdtui` opens it, with
the runs screen over it listing the folder that holds the given runs, those runs marked (two:
`c` compares them) and the cursor on the first. A RUN_DIR that is itself a runs folder (no
config.json, but runs inside) is listed as it is. `--runs-dir` names the folder to list;
without it, the live runs are saved in the listed folder too, beside the runs opened.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.options import fail
from tui.launch import explorer_parser, parsed_settings

if TYPE_CHECKING:  # the app is imported once the command line is read
    from tui.app import WeightDecayApp

PROG = "wdtui open"


@dataclass(frozen=True)
class Opened:
    """What the runs screen shows first: the folder listed, the runs marked in it."""

    runs_dir: Path
    marked: tuple[Path, ...]


def open_parser() -> argparse.ArgumentParser:
    parser = explorer_parser()
    parser.prog = PROG
    parser.usage = "wdtui open RUN_DIR [RUN_DIR ...] [options]"
    parser.description = (
        "The explorer, with the runs screen over it: the saved runs and sweeps beside "
        "RUN_DIR, the given ones marked (two: c compares them). The options set the live run, "
        "as for `wdtui`."
    )
    parser.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="a saved run's or sweep's folder (marked), or a runs folder (listed)",
    )
    return parser


def is_runs_folder(path: Path) -> bool:
    """A folder of runs rather than a run: no config.json of its own, a run's inside."""
    if (path / "config.json").exists():
        return False
    try:
        return any((child / "config.json").is_file() for child in path.iterdir())
    except OSError:
        return False


def runs_dir_given(argv: list[str]) -> bool:
    """Whether --runs-dir is on the command line (argparse takes a prefix of it too)."""
    names = (token.split("=", 1)[0] for token in argv if token.startswith("--runs"))
    return any("--runs-dir".startswith(name) for name in names)


def folders_to_open(run_dirs: list[str], runs_dir: str | None) -> Opened:
    """The folder to list and the runs to mark; a path that is missing, not a folder, or not
    in the listed folder ends here (one line, exit 2)."""
    paths = [Path(text) for text in run_dirs]
    for path in paths:
        if not path.exists():
            fail(PROG, f"{path}: no such folder")
        if not path.is_dir():
            fail(PROG, f"{path} is not a folder: give a run's folder or a runs folder")
    lists = [p for p in paths if is_runs_folder(p)]
    marked = tuple(p for p in paths if p not in lists)
    listed = Path(runs_dir) if runs_dir is not None else (lists or [marked[0].parent])[0]
    for path in [*marked, *lists]:
        inside = path.parent if path in marked else path
        if not _same(inside, listed):
            fail(PROG, f"{path} is not in {listed}: give runs of one folder (or --runs-dir)")
    # As the listing names them (the listed folder's path, then the name), to be found there.
    return Opened(listed, tuple(listed / path.name for path in marked))


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def open_app(argv: list[str]) -> WeightDecayApp:
    """The app `wdtui open ARGV` runs (tests drive it with its Pilot)."""
    from tui.app import WeightDecayApp
    from tui.screens.runs_screen import RunsScreen

    config, pace, args = parsed_settings(open_parser(), argv)
    given = runs_dir_given(argv)
    opened = folders_to_open(args.run_dirs, config.runs_dir if given else None)
    if not given:  # new runs are saved beside the ones opened, and `o` lists them again
        config = replace(config, runs_dir=str(opened.runs_dir))
    cursor = opened.marked[0] if opened.marked else None
    screen = RunsScreen(opened.runs_dir, marked=opened.marked, cursor=cursor)
    return WeightDecayApp(config, pace=pace, on_top=screen)


def open_command(argv: list[str]) -> int:
    app = open_app(argv)
    app.run()
    return app.return_code or 0


__all__ = ["Opened", "folders_to_open", "open_app", "open_command", "open_parser"]
