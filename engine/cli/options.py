"""Command-line options shared by `wdtui`, `wdtui run` and `wdtui sweep`, and their RunConfig."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from typing import Any, NoReturn

from engine.config import (
    ACTIVATIONS,
    CSV_DEFAULTS,
    CSV_TEST_FRACTION,
    DEFAULT_PRESET,
    INITS,
    MODELS,
    NORMS,
    OPTIMIZERS,
    PRESET_DEFAULTS,
    PRESETS,
    PROBLEM_SETTINGS,
    REG_MODES,
    TASKS,
    TRAIN_LOSSES,
    ConfigError,
    RunConfig,
    check_keys,
    check_lam,
    parse_hidden,
)
from engine.json_file import JsonFileError, one_line, read_json_object
from engine.schedule import AT_SYNTAX, Change, changes_from_json, parse_at, replay_schedule


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2, worded as
    `fail` words every error of the command (its prog: wdtui, wdtui run, wdtui sweep).
    Options are never abbreviated: `--mode none` would be read as `--model none`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(self.prog, f"{message} (see --help)")


def _hidden(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def by_problem(setting: str) -> str:
    """A problem-dependent default, `the preset's: line 0.01, …; a CSV: 0.01`, read from
    PRESET_DEFAULTS and CSV_DEFAULTS so that the help never drifts from them."""

    def shown(value: object) -> str:
        if isinstance(value, bool):
            return "on" if value else "off"
        return f"{value:g}" if isinstance(value, float) else str(value)

    presets = {name: shown(getattr(d, setting)) for name, d in PRESET_DEFAULTS.items()}
    csv = shown(getattr(CSV_DEFAULTS, setting))
    if len(set(presets.values())) == 1:
        return f"{next(iter(presets.values()))} for a preset, {csv} for a CSV"
    each = ", ".join(f"{name} {value}" for name, value in presets.items())
    return f"the preset's: {each}; a CSV: {csv}"


def by_problem_mostly(setting: str) -> str:
    """A default most problems share, and the exceptions: `linear (grokking: mlp)`."""

    def shown(value: object) -> str:
        return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)

    common = shown(getattr(CSV_DEFAULTS, setting))
    others = [
        f"{name}: {shown(getattr(d, setting))}"
        for name, d in PRESET_DEFAULTS.items()
        if shown(getattr(d, setting)) != common
    ]
    return f"{common} ({'; '.join(others)})" if others else common


# What each --reg mode does, in the help; the sweep offers l2 and wd only (it varies λ).
REG_HELP = {"l2": "penalty in the loss", "wd": "optimizer weight_decay = 2λ", "none": "no penalty"}


def add_training_options(
    parser: argparse.ArgumentParser,
    *,
    with_lam: bool = True,
    reg_modes: tuple[str, ...] = REG_MODES,
    default_preset: str = DEFAULT_PRESET,
    default_epochs: str | None = None,
) -> None:
    """The options every command shares; each help says what it does and its default (the
    explorer's own preset and epochs, when it gives them)."""
    parser.add_argument(
        "--config",
        metavar="config.json",
        help="start from a saved run's or sweep's settings (runs/<id>/config.json); flags "
        "override them (default: none)",
    )
    data = parser.add_argument_group("data")
    # No default here: "not given" must differ from "line" (a --config's CSV, or --data).
    data.add_argument(
        "--preset", choices=PRESETS, help=f"built-in problem (default: {default_preset})"
    )
    data.add_argument(
        "--data",
        metavar="FILE.csv",
        help="train on a CSV with a header row instead of a preset: numeric features, the "
        "target numbers or class labels (default: none)",
    )
    data.add_argument(
        "--target", metavar="COL", help="the CSV column to predict (no default: needed with --data)"
    )
    data.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="what is learned: auto is the problem's own (digits, cancer, grokking: classes; "
        "a CSV: classes when its target column is not numeric, so whole-number labels need "
        "classification) (default: %(default)s)",
    )
    data.add_argument(
        "--test-fraction",
        type=float,
        metavar="F",
        help="held-out share in [0, 1); 0 = no test split (default: the preset's own split, "
        f"{CSV_TEST_FRACTION:g} for a CSV)",
    )
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"scale features by train-split mean/std (default: {by_problem('standardize')})",
    )
    data.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seeds the data, the initial weights and the minibatch order (default: %(default)s)",
    )

    model = parser.add_argument_group("model")
    # No defaults here: "not given" means the problem's own (grokking trains an MLP).
    model.add_argument(
        "--model", choices=MODELS, help=f"the model (default: {by_problem_mostly('model')})"
    )
    model.add_argument(
        "--hidden",
        type=_hidden,
        metavar="64,64",
        help="an MLP's hidden layer widths, comma-separated "
        f"(default: {by_problem_mostly('hidden')})",
    )
    model.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        help=f"an MLP's activation between layers (default: {by_problem_mostly('activation')})",
    )
    model.add_argument(
        "--init",
        choices=INITS,
        default="default",
        help="initial weights: default (torch's nn.Linear init, seeded) or zeros (the origin; "
        "a linear model only) (default: %(default)s)",
    )
    model.add_argument(
        "--norm",
        choices=NORMS,
        default="none",
        help="batch: a BatchNorm after each hidden layer (whose Linear then has no bias: its "
        "weights become scale-invariant, and decay raises their effective lr, lr/‖W‖²); an "
        "MLP only (default: %(default)s)",
    )

    optim = parser.add_argument_group("optimisation")
    optim.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="the torch optimizer; its other hyper-parameters are torch's defaults "
        f"(default: {by_problem_mostly('optimizer')})",
    )
    optim.add_argument("--lr", type=float, help=f"learning rate (default: {by_problem('lr')})")
    optim.add_argument(
        "--momentum",
        type=float,
        default=0.0,
        metavar="M",
        help="SGD momentum, in [0, 1) (default: %(default)s)",
    )
    optim.add_argument(
        "--epochs",
        type=int,
        metavar="N",
        help=f"epochs to train (default: {default_epochs or by_problem('epochs')})",
    )
    optim.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help=f"rows per step; 0 = full batch (default: {by_problem('batch_size')})",
    )
    optim.add_argument(
        "--train-loss",
        choices=TRAIN_LOSSES,
        default="exact",
        help="an epoch's train loss: at its final weights (exact; one extra pass over the rows "
        "with minibatches) or the mean of its minibatch losses (batch-mean, free) "
        "(default: %(default)s)",
    )

    reg = parser.add_argument_group("regularization: objective = data loss + λ·Σ‖w‖²")
    reg.add_argument(
        "--reg",
        choices=reg_modes,
        help="; ".join(f"{mode}: {REG_HELP[mode]}" for mode in reg_modes)
        + f" (default: {by_problem_mostly('reg')})",
    )
    if with_lam:
        reg.add_argument(
            "--lam",
            type=float,
            help="λ, the weight-decay coefficient: >= 0, and 0 with --reg none "
            f"(default: {by_problem('lam')})",
        )
    decay_bias = reg.add_argument(
        "--decay-bias",
        action=argparse.BooleanOptionalAction,
        help="penalize biases too (default: off, weights only)",
    )
    decay_bias.default = False
    decay_norm = reg.add_argument(
        "--decay-norm",
        action=argparse.BooleanOptionalAction,
        help="penalize BatchNorm's scale and shift (γ, β) too (default: off)",
    )
    decay_norm.default = False

    where = parser.add_argument_group("where")
    where.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, then MPS, then the CPU), cpu, cuda, cuda:N or mps (default: %(default)s)",
    )
    where.add_argument(
        "--cpu-threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads for a CPU run; 0 = torch's default, at most 1024 "
        "(default: %(default)s, the fastest for small models)",
    )
    where.add_argument(
        "--runs-dir",
        default="runs",
        metavar="DIR",
        help="the folder runs are saved in, one folder each (default: %(default)s)",
    )
    save = where.add_argument(
        "--save",
        action=argparse.BooleanOptionalAction,
        help="write the run's files under --runs-dir (default: on)",
    )
    # The on/off flags' defaults are set after the fact: given to add_argument, Python 3.10's
    # BooleanOptionalAction appends its own "(default: True)" to the help.
    save.default = True


def _at(text: str) -> Change:
    try:
        return parse_at(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--at ")) from None


def add_schedule_option(parser: argparse.ArgumentParser, *, hidden: bool = False) -> None:
    """--at, repeatable. `hidden`: accepted only to be refused clearly (wdtui sweep)."""
    parser.add_argument(
        "--at",
        metavar="EPOCH:KEY=VALUE",
        type=_at,
        action="append",
        default=[],
        help=argparse.SUPPRESS
        if hidden
        else f"change λ or lr before that epoch's first step ({AT_SYNTAX}, e.g. 100:lam=3); "
        "repeatable; replaces a --config's recorded changes (default: none)",
    )


def parse_training_args(
    parser: argparse.ArgumentParser, argv: list[str], *, replay_changes: bool = True
) -> argparse.Namespace:
    """Parse argv; with --config FILE, the file's settings become the defaults flags override.

    `args.schedule` is the λ/lr changes to apply: --at's, else (with `replay_changes`) those
    the saved run received (`saved_schedule`). The parsed file is kept as `args.saved_config`
    (None without --config). A flag given on the
    command line overrides the file, and so does what it implies: `--preset` replaces a saved
    CSV run's data (and target), `--data` a saved preset, `--reg none` the saved λ.
    """
    first = parser.parse_args(argv)
    if not getattr(first, "config", None):
        first.saved_config = None
        first.schedule = tuple(getattr(first, "at", None) or ())
        return first
    saved = read_config_file(parser.prog, first.config)
    try:
        check_keys(saved, f"--config {first.config}")
    except ConfigError as exc:
        fail(parser.prog, str(exc))
    known = {f.name for f in fields(RunConfig)}
    defaults = {k: v for k, v in saved.items() if k in known and hasattr(first, k)}
    if first.preset is not None and first.data is None:
        defaults["data"] = None
        if first.target is None:
            defaults["target"] = None
    if first.data is not None and first.preset is None:
        defaults["preset"] = None
    if _changes_source(first, saved):
        # The saved problem settings (lr, λ, epochs, batch size, scaling, model, optimizer,
        # mode) were that problem's (resolved defaults, or chosen for it): the new one brings
        # its own, as the explorer's preset switch does, unless the command line gives them.
        for name in PROBLEM_SETTINGS:
            if hasattr(first, name) and getattr(first, name) is None:
                defaults[name] = None
    if first.reg == "none" and getattr(first, "lam", None) is None and hasattr(first, "lam"):
        defaults["lam"] = None
    parser.set_defaults(**defaults)
    args = parser.parse_args(argv)
    args.saved_config = saved
    if getattr(args, "at", None):
        args.schedule = tuple(args.at)
    elif _changes_source(first, saved):
        args.schedule = ()  # the saved steps were that problem's
    elif replay_changes:
        args.schedule = saved_schedule(parser.prog, first.config, saved)
    else:  # a sweep: only counted, to say they are not applied
        args.schedule = ()
        args.ignored_changes = _change_count(first.config, saved)
    return args


def _change_count(path: str, saved: dict[str, Any]) -> int:
    """How many λ/lr changes a saved run has (scripted or received), read leniently: a sweep
    only says that it does not apply them."""
    scripted = saved.get("schedule")
    count = len(scripted) if isinstance(scripted, list) else 0
    try:
        summary = read_json_object(os.path.join(os.path.dirname(path), "summary.json"))
    except (OSError, ConfigError):
        return count
    received = summary.get("changes")
    return max(count, len(received)) if isinstance(received, list) else count


def saved_schedule(command: str, path: str, saved: dict[str, Any]) -> tuple[Change, ...]:
    """What a replay of a saved run applies: the changes its summary.json recorded (scripted or
    live, each at its step), then the scripted ones it never reached. Bad input: one line."""
    try:
        scripted = changes_from_json(saved.get("schedule", []), f"--config {path}")
    except ConfigError as exc:
        fail(command, str(exc))
    summary_path = os.path.join(os.path.dirname(path), "summary.json")
    if not os.path.exists(summary_path):
        return scripted  # a run saved before summaries, or a config.json on its own
    try:
        summary = read_json_object(summary_path)
        applied = changes_from_json(summary.get("changes", []), "its changes")
    except (OSError, ConfigError) as exc:
        fail(command, f"cannot read the recorded changes in {summary_path}: {one_line(exc)}")
    return replay_schedule(scripted, applied)


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


def read_config_file(command: str, path: str) -> dict[str, Any]:
    """A saved config.json's object (engine/store: a small regular file, never a FIFO that
    blocks). Bad input ends here: one line, as `fail` words it for `command`."""
    try:
        return read_json_object(path)
    except (OSError, JsonFileError) as exc:
        fail(command, f"cannot read --config {path}: {one_line(exc)}")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The resolved config the options describe; raises ConfigError."""
    lam = getattr(args, "lam", None)
    if args.reg == "none" and lam is not None and check_lam(lam) != 0:
        raise ConfigError(
            f"mode none has no penalty: λ {lam:g} would be ignored; drop --lam or use --reg l2/wd"
        )
    # Every setting has an option of the same name (--lam only in `wdtui run`).
    # An option not given (None) is left to RunConfig's default: the problem's own.
    given = {
        f.name: getattr(args, f.name)
        for f in fields(RunConfig)
        if hasattr(args, f.name) and getattr(args, f.name) is not None
    }
    hidden = args.hidden
    if isinstance(hidden, (list, tuple)):
        given["hidden"] = tuple(hidden)
    given["lam"] = lam
    given["schedule"] = tuple(getattr(args, "schedule", ()))
    return RunConfig(**given).resolved()


def cannot_start(command: str, exc: BaseException) -> NoReturn:
    """Building the model or moving data failed (e.g. out of memory): one line, exit 2."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    fail(command, f"cannot start: {type(exc).__name__}: {first_line}")


def fail(command: str, message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2.

    Every error of the command line reads `COMMAND: error: MESSAGE`, COMMAND being the command
    typed (its parser's prog: `wdtui`, `wdtui run`, `wdtui sweep`); argparse's own errors too
    (`OneLineParser`).
    """
    sys.stderr.write(f"{command}: error: {message}\n")
    raise SystemExit(2)
