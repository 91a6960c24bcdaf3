"""Parse the explorer's options and open it."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.options import (
    OneLineParser,
    add_training_options,
    config_from_args,
    fail,
    parse_training_args,
)
from engine.config import ConfigError

# `wdtui --help` opens with the three commands: the explorer's options are listed below it, and
# `run` and `sweep` take the same ones (tui/cli.py sends them there).
USAGE = """\
wdtui [options]          open the explorer: train live, edit λ and lr as it trains
       wdtui run [options]      train one run headless (wdtui run --help)
       wdtui sweep [options]    train one member per λ at once, headless (wdtui sweep --help)"""


def explorer_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui",
        usage=USAGE,
        description="A keyboard-driven explorer for weight decay. The options below set the "
        "first run; `wdtui run` and `wdtui sweep` take them too.",
    )
    add_training_options(parser)
    return parser


def launch(argv: list[str]) -> int:
    parser = explorer_parser()
    args = parse_training_args(parser, argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        fail(parser.prog, str(exc))
    # A missing file is told on the command line, before the screen opens; what is inside the
    # file is checked when the data loads (torch is not imported yet), and shown in the app.
    if config.data is not None and not Path(config.data).is_file():
        fail(parser.prog, f"no such file: {config.data}")
    from tui.app import WeightDecayApp

    app = WeightDecayApp(config)
    app.run()
    return app.return_code or 0
