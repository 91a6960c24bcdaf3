"""Parse the explorer's options and open it."""

from __future__ import annotations

from pathlib import Path

from engine.cli.options import (
    OneLineParser,
    add_training_options,
    config_from_args,
    fail,
    parse_training_args,
)
from engine.config import ConfigError


def launch(argv: list[str]) -> int:
    parser = OneLineParser(
        prog="wdtui",
        description="A keyboard-driven explorer for weight decay. Subcommands: run, sweep.",
    )
    add_training_options(parser)
    args = parse_training_args(parser, argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        fail(str(exc))
    # A missing file is told on the command line, before the screen opens; what is inside the
    # file is checked when the data loads (torch is not imported yet), and shown in the app.
    if config.data is not None and not Path(config.data).is_file():
        fail(f"no such file: {config.data}")
    from tui.app import WeightDecayApp

    app = WeightDecayApp(config)
    app.run()
    return app.return_code or 0
