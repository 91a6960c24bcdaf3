"""Parse the explorer's options and open it."""

from __future__ import annotations

import argparse

from engine.cli.options import (
    OneLineParser,
    add_training_options,
    config_from_args,
    fail,
    parse_training_args,
)
from engine.config import ConfigError, DataError, RunConfig, check_pace
from engine.sources.csv_header import read_header
from tui.state.pace import DEFAULT_PACE, PACE_NOT_GIVEN, default_pace

# The explorer opens live: `highdim` (20 training rows, 200 features) at λ = 0 overfits in
# front of the user (train loss falls 13 decades in 50 epochs, test stays flat) at 10 epochs/s,
# and runs long enough (16 minutes at that pace) to raise λ and watch the test loss come
# down. `wdtui run` keeps `line` and each preset's own epochs.
EXPLORER_PRESET = "highdim"
EXPLORER_EPOCHS = 10_000

# `wdtui --help` opens with the three commands: the explorer's options are listed below it, and
# `run` and `sweep` take the same ones (tui/cli.py sends them there).
USAGE = """\
wdtui [options]          open the explorer: train live, edit λ and lr as it trains
       wdtui run [options]      train one run headless (wdtui run --help)
       wdtui sweep [options]    train one member per λ at once, headless (wdtui sweep --help)
       wdtui open RUN_DIR...    the explorer, over it the saved runs beside RUN_DIR, marked
       wdtui serve [options]    the explorer in web browsers, behind a token (wdtui serve --help)"""


def explorer_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui",
        usage=USAGE,
        description="A keyboard-driven explorer for weight decay. The options below set the "
        "first run; `wdtui run` and `wdtui sweep` take them too.",
    )
    add_training_options(
        parser,
        default_preset=EXPLORER_PRESET,
        default_epochs=f"{EXPLORER_EPOCHS:,}, long enough to watch and change",
    )
    parser.add_argument(
        "--pace",
        type=_pace,
        default=PACE_NOT_GIVEN,
        metavar="N|max",
        help="train at most N epochs per second, to watch it happen ([ and ] change it live); "
        f"max = as fast as it can (default: {DEFAULT_PACE:g}; grokking: max, its thousands of "
        "epochs are the point)",
    )
    return parser


def _pace(text: str) -> float | None:
    if text.strip().lower() == "max":
        return None
    try:
        return check_pace(float(text))
    except (ValueError, ConfigError):
        raise argparse.ArgumentTypeError(
            f"pace must be a number of epochs per second > 0, or max; got {text!r}"
        ) from None


def explorer_defaults(args: argparse.Namespace) -> None:
    """The explorer's own problem (without a preset, a CSV or a saved config) and run length
    (whatever the problem, unless --epochs or a saved config gives one)."""
    if args.preset is None and args.data is None and args.saved_config is None:
        args.preset = EXPLORER_PRESET
    if args.epochs is None:
        args.epochs = EXPLORER_EPOCHS


def explorer_settings(argv: list[str]) -> tuple[RunConfig, float | None]:
    """The first run's settings and the pace; bad options end here (one line, exit 2)."""
    config, pace, _ = parsed_settings(explorer_parser(), argv)
    return config, pace


def parsed_settings(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[RunConfig, float | None, argparse.Namespace]:
    """`explorer_settings` with a parser that may take more (`wdtui open`'s folders), and
    what it parsed."""
    args = parse_training_args(parser, argv)
    explorer_defaults(args)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        fail(parser.prog, str(exc))
    # A missing file or target column is told on the command line, before the screen opens
    # (the app cannot change either); what the rows hold is checked when the data load
    # (torch is not imported yet), and shown in the app.
    if config.data is not None:
        try:
            read_header(config.data, config.target or "")
        except DataError as exc:
            fail(parser.prog, str(exc))
    pace = default_pace(config.preset) if args.pace is PACE_NOT_GIVEN else args.pace
    return config, pace, args


def launch(argv: list[str]) -> int:
    config, pace = explorer_settings(argv)
    from tui.app import WeightDecayApp

    app = WeightDecayApp(config, pace=pace)
    app.run()
    return app.return_code or 0
