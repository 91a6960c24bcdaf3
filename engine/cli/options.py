"""Command-line options shared by `wdtui`, `wdtui run` and `wdtui sweep`, and their RunConfig."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from typing import Any, NoReturn

from engine.config import (
    ACTIVATIONS,
    INITS,
    MODELS,
    OPTIMIZERS,
    PRESETS,
    REG_MODES,
    TRAIN_LOSSES,
    ConfigError,
    RunConfig,
    check_keys,
    check_lam,
    parse_hidden,
)
from engine.json_file import JsonFileError, one_line, read_json_object


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_training_options(parser: argparse.ArgumentParser, *, with_lam: bool = True) -> None:
    parser.add_argument(
        "--config",
        metavar="config.json",
        help="start from a saved run's settings (runs/<id>/config.json); flags override them",
    )
    data = parser.add_argument_group("data")
    # No default here: "not given" must differ from "line" (a --config's CSV, or --data).
    data.add_argument("--preset", choices=PRESETS, help="built-in problem (line)")
    data.add_argument("--data", metavar="FILE.csv", help="a numeric CSV with a header row")
    data.add_argument("--target", metavar="COL", help="the CSV column to predict")
    data.add_argument(
        "--test-fraction", type=float, metavar="F", help="held-out share in [0, 1); 0 = no test"
    )
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scale features by train-split mean/std (default: on for --data, off for presets)",
    )
    data.add_argument("--seed", type=int, default=0)

    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=MODELS, default="linear")
    model.add_argument("--hidden", type=_hidden, default=(64, 64), metavar="64,64")
    model.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    model.add_argument("--init", choices=INITS, default="default")

    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    optim.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    optim.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    optim.add_argument("--epochs", type=int)
    optim.add_argument("--batch-size", type=int, help="rows per step; 0 = full batch")
    optim.add_argument(
        "--train-loss",
        choices=TRAIN_LOSSES,
        default="exact",
        help="an epoch's train loss: at its final weights (exact; one extra pass over the rows "
        "with minibatches) or the mean of its minibatch losses (batch-mean, free)",
    )

    reg = parser.add_argument_group("regularization: objective = MSE + λ·Σ‖w‖²")
    reg.add_argument(
        "--reg",
        choices=REG_MODES,
        default="l2",
        help="l2: penalty in the loss; wd: optimizer weight_decay = 2λ; none: no penalty",
    )
    if with_lam:
        reg.add_argument("--lam", type=float, help="λ, the weight-decay coefficient (>= 0)")
    reg.add_argument(
        "--decay-bias",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="penalize biases too (default: weights only)",
    )

    where = parser.add_argument_group("where")
    where.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    where.add_argument(
        "--cpu-threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads for a CPU run (1: small models run fastest so; 0 = torch's default; "
        "at most 1024)",
    )
    where.add_argument("--runs-dir", default="runs", metavar="DIR")
    where.add_argument(
        "--save",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the run's files under --runs-dir (default: on)",
    )


def parse_training_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse argv; with --config FILE, the file's settings become the defaults flags override.

    The parsed file is kept as `args.saved_config` (None without --config). A flag given on the
    command line overrides the file, and so does what it implies: `--preset` replaces a saved
    CSV run's data (and target), `--data` a saved preset, `--reg none` the saved λ.
    """
    first = parser.parse_args(argv)
    if not getattr(first, "config", None):
        first.saved_config = None
        return first
    saved = read_config_file(first.config)
    try:
        check_keys(saved, f"--config {first.config}")
    except ConfigError as exc:
        fail(str(exc))
    known = {f.name for f in fields(RunConfig)}
    defaults = {k: v for k, v in saved.items() if k in known and hasattr(first, k)}
    if first.preset is not None and first.data is None:
        defaults["data"] = None
        if first.target is None:
            defaults["target"] = None
    if first.data is not None and first.preset is None:
        defaults["preset"] = None
    if _changes_source(first, saved):
        # The saved lr, λ, epochs, batch size and scaling were that problem's (resolved
        # defaults, or chosen for it): the new one brings its own, as the explorer's preset
        # switch does, unless the command line gives them.
        for name in SOURCE_SETTINGS:
            if hasattr(first, name) and getattr(first, name) is None:
                defaults[name] = None
    if first.reg == "none" and getattr(first, "lam", None) is None and hasattr(first, "lam"):
        defaults["lam"] = None
    parser.set_defaults(**defaults)
    args = parser.parse_args(argv)
    args.saved_config = saved
    return args


SOURCE_SETTINGS = ("lr", "lam", "epochs", "batch_size", "standardize", "test_fraction")


def _changes_source(given: argparse.Namespace, saved: dict[str, Any]) -> bool:
    """Whether --preset or --data on the command line names another problem than the file's."""
    if given.preset is not None:
        return given.preset != saved.get("preset")
    if given.data is not None:
        saved_data = saved.get("data")
        return not isinstance(saved_data, str) or os.path.abspath(given.data) != os.path.abspath(
            saved_data
        )
    return False


def read_config_file(path: str) -> dict[str, Any]:
    """A saved config.json's object (engine/store: a small regular file, never a FIFO that
    blocks). Bad input ends here: one line."""
    try:
        return read_json_object(path)
    except (OSError, JsonFileError) as exc:
        fail(f"cannot read --config {path}: {one_line(exc)}")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The resolved config the options describe; raises ConfigError."""
    lam = getattr(args, "lam", None)
    if args.reg == "none" and lam is not None and check_lam(lam) != 0:
        raise ConfigError(
            f"mode none has no penalty: λ {lam:g} would be ignored; drop --lam or use --reg l2/wd"
        )
    # Every setting has an option of the same name (--lam only in `wdtui run`).
    given = {f.name: getattr(args, f.name) for f in fields(RunConfig) if hasattr(args, f.name)}
    hidden = args.hidden
    given.update(lam=lam, hidden=tuple(hidden) if isinstance(hidden, (list, tuple)) else hidden)
    return RunConfig(**given).resolved()


def cannot_start(exc: BaseException) -> NoReturn:
    """Building the model or moving data failed (e.g. out of memory): one line, exit 2."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    fail(f"cannot start: {type(exc).__name__}: {first_line}")


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2."""
    sys.stderr.write(f"wdtui: error: {message}\n")
    raise SystemExit(2)
