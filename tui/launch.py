"""Parse the explorer's options and open it."""

from __future__ import annotations

from engine.config import ConfigError
from engine.options import OneLineParser, add_training_options, config_from_args, fail


def launch(argv: list[str]) -> int:
    parser = OneLineParser(
        prog="wdtui",
        description="A keyboard-driven explorer for weight decay. Subcommands: run, sweep.",
    )
    add_training_options(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        fail(str(exc))
    from tui.app import WeightDecayApp

    app = WeightDecayApp(config)
    app.run()
    return app.return_code or 0
