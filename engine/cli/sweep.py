"""`wdtui sweep`: train one member per λ at once, headless, as JSON lines or a table."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from engine.cli.lifecycle import build_or_exit, signals_ignored, train_to_exit_code
from engine.cli.options import (
    OneLineParser,
    add_schedule_option,
    add_training_options,
    config_from_args,
    fail,
    parse_training_args,
)
from engine.cli.output import JsonLines, print_quietly, warn_quietly
from engine.cli.progress import ProgressLine
from engine.config import REG_MODES, ConfigError
from engine.sweep.best import BEST_BY_WORDS
from engine.sweep.events import (
    MemberWarning,
    SweepEpoch,
    SweepEvent,
    SweepFinished,
    SweepStarted,
    member_warnings,
)
from engine.sweep.lams import (
    DEFAULT_GRID_N,
    DEFAULT_GRID_START,
    DEFAULT_GRID_STOP,
    DEFAULT_TEXT,
    edge_note,
    resolve_lams,
)
from engine.sweep.ray_cluster import LOCAL
from engine.sweep.runner import Sweep

if TYPE_CHECKING:
    from engine.sweep.ray_sweep import RaySweep

__all__ = ["SWEEP_REG_MODES", "sweep_command", "sweep_parser"]

LOCAL_SETTLE_S = 10.0  # how long a Ctrl+C waits for a local Ray instance to finish starting

# Every mode but none: a sweep varies λ, and none has no λ.
SWEEP_REG_MODES = tuple(mode for mode in REG_MODES if mode != "none")


def sweep_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui sweep",
        description="Train one member per λ at once (one batched model) and compare them. "
        f"The best λ: regression's is the {BEST_BY_WORDS['test_loss']}; classification's the "
        f"{BEST_BY_WORDS['test_accuracy']}; without a test split, the train split's.",
    )
    # No `none`: a sweep varies λ. (A --config whose reg is none is refused by the Sweep.)
    add_training_options(parser, with_lam=False, reg_modes=SWEEP_REG_MODES)
    grid = parser.add_argument_group(
        "the λ values",
        f"Default: --lams '{DEFAULT_TEXT}', λ = 0 plus {DEFAULT_GRID_N} log-spaced values from "
        f"{DEFAULT_GRID_START:g} to {DEFAULT_GRID_STOP:g}.",
    )
    grid.add_argument(
        "--lams",
        metavar="0,0.001,0.01",
        help="λ values (>= 0) and log grids START:STOP:N, separated by commas (default: "
        "the grid above)",
    )
    grid.add_argument(
        "--lam-grid",
        metavar="START:STOP:N",
        help="N log-spaced values from START to STOP (> 0) (default: the grid above)",
    )
    grid.add_argument(
        "--with-zero", action="store_true", help="add λ = 0 to the values (default: off)"
    )
    # Only to refuse it clearly: one λ is `wdtui run`; a sweep takes a list. (Its own dest, so
    # that a run's config.json given with --config does not count as a --lam flag.)
    grid.add_argument("--lam", dest="single_lam", help=argparse.SUPPRESS)
    add_schedule_option(parser, hidden=True)  # only to refuse it clearly too
    cluster = parser.add_argument_group(
        "on a Ray cluster (the optional extra: pip install 'wdtui[ray]')",
        "The λ values are cut into slices, one per Ray worker; each trains as this batched sweep "
        "does, on one GPU per worker where the cluster has GPUs, one CPU otherwise. Events, "
        "files and exit codes are the same as without --ray.",
    )
    cluster.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="train on Ray: no ADDRESS starts a local Ray instance, 'auto' joins the running "
        "cluster, ray://HOST:PORT connects as a Ray Client (default: off)",
    )
    cluster.add_argument(
        "--ray-workers",
        type=int,
        metavar="N",
        help="slices of the λ values, one per worker (default: the cluster's GPUs, or its CPUs "
        "without GPUs, at most one per λ)",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print events as JSON lines (default: a progress bar, then the table)",
    )
    return parser


def sweep_command(argv: list[str]) -> int:
    parser = sweep_parser()
    args = parse_training_args(parser, argv, replay_changes=False)
    sink: Callable[[SweepEvent], None] = JsonLines() if args.jsonl else _Table()

    def build() -> Sweep | RaySweep:
        if args.single_lam is not None:
            raise ConfigError(
                "--lam sets one λ (wdtui run); a sweep takes --lams LIST or --lam-grid START:STOP:N"
            )

        if args.lams is None and args.lam_grid is None:
            args.lams = saved_lams(args.saved_config)
        lams = resolve_lams(args.lams, args.lam_grid, args.with_zero)
        if args.ray is None:
            return Sweep(config_from_args(args), lams, sink)
        return _ray_sweep(parser, args, lams, sink)

    if args.ray_workers is not None and args.ray is None:
        fail(parser.prog, "--ray-workers needs --ray: it sets how many Ray workers train")
    if args.at:
        fail(
            parser.prog,
            "--at schedules λ and lr for one run (wdtui run); a sweep has no per-member schedule",
        )
    if getattr(args, "ignored_changes", 0):  # a run's config.json: not for K members
        warn_quietly(
            parser.prog,
            f"the --config run's {args.ignored_changes} λ/lr changes are not applied: a sweep "
            "has no per-member schedule",
        )
    sweep = build_or_exit(parser.prog, build)
    # The same members and texts as sweep_started's `warnings`, on stderr before training.
    for warning in member_warnings(sweep.config, sweep.lams):
        warn_quietly(parser.prog, f"λ {warning.lam:g}: {warning.message}")
    try:
        return train_to_exit_code(sweep, sink)
    finally:
        if not isinstance(sweep, Sweep) and sweep.opened_connection:
            _disconnect_ray()


def _ray_sweep(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    lams: list[float],
    sink: Callable[[SweepEvent], None],
) -> RaySweep:
    """The sweep on Ray workers, connected and placed: exit 2 with one line if it cannot be.
    Imported here: `wdtui sweep` without --ray never loads the Ray code."""
    from engine.sweep.ray_cluster import ClusterUnreachable, connecting, settle
    from engine.sweep.ray_sweep import RaySweep

    sweep = RaySweep(
        config_from_args(args),
        lams,
        sink,
        address=args.ray,
        workers=args.ray_workers,
    )

    def leave(code: int, line: str) -> NoReturn:
        sys.stderr.write(f"{parser.prog}: {line}\n")
        sys.stderr.flush()
        # A local instance still starting is waited for (briefly), so that it can be stopped:
        # its agents would outlive this process. A cluster's connect is simply left.
        started_here = connecting()  # a connect this command began (and was interrupted in)
        if started_here and not settle(LOCAL_SETTLE_S if args.ray == LOCAL else 0):
            os._exit(code)  # Ray's connect still waits on its thread, and so would its exit hooks
        if started_here or sweep.opened_connection:
            _disconnect_ray()
        raise SystemExit(code)

    try:
        sweep.launch()
    except (ConfigError, RuntimeError) as exc:  # ClusterUnreachable and RayMissing included
        words = f"--ray: {exc}" if isinstance(exc, ClusterUnreachable) else str(exc)
        leave(2, f"error: {words}")
    except KeyboardInterrupt:
        leave(130, "interrupted while starting on Ray: nothing trained, nothing saved")
    return sweep


def _disconnect_ray() -> None:
    """Stop a local Ray instance started for this command (a cluster runs on), through a
    Ctrl+C: interrupted, Ray's shutdown would leave its agents running."""
    from engine.sweep.ray_cluster import disconnect

    with signals_ignored():
        disconnect()


def saved_lams(saved: dict[str, Any] | None) -> str | None:
    """A saved sweep's λ list (its config.json has `lams`), as --lams text; None without one.

    A `lams` that is not a non-empty list of numbers is refused: running the default grid
    instead would hide the mistake.
    """
    if saved is None or "lams" not in saved:
        return None
    lams = saved["lams"]
    if (
        not isinstance(lams, list)
        or not lams
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lams)
    ):
        shown = repr(lams)
        if len(shown) > 60:
            shown = shown[:59] + "…"
        raise ConfigError(f"config.json's lams must be a list of numbers (λ values), got {shown}")
    return ",".join(repr(v) for v in lams)


class _Table:
    """A progress bar on stderr while training, then one row per λ on stdout."""

    def __init__(self) -> None:
        self.progress: ProgressLine | None = None
        self.last: SweepEpoch | None = None
        self.device = ""
        self.members = 0
        self.warnings: tuple[MemberWarning, ...] = ()

    def __call__(self, event: Any) -> None:
        if isinstance(event, SweepStarted):
            self.progress = ProgressLine(int(event.config["epochs"]))
            self.device, self.members = event.device, len(event.lams)
            self.warnings = event.warnings
        elif isinstance(event, SweepEpoch):
            self.last = event
            if self.progress is not None:
                self.progress.update(event.epoch, self._epoch_text(event))
        elif isinstance(event, SweepFinished):
            if self.progress is not None:
                if self.last is not None:
                    self.progress.update(self.last.epoch, self._epoch_text(self.last), force=True)
                self.progress.close()
            print_quietly(summary_text(event, self.last, self.device, self.warnings))

    def _epoch_text(self, e: SweepEpoch) -> str:
        rate = e.epoch / e.elapsed_s if e.elapsed_s > 0 else 0.0
        live = sum(s == "running" for s in e.statuses)
        return f"{live}/{self.members} λ training  {rate:,.0f} epochs/s"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def _share(value: float | None) -> str:
    """An accuracy as a percentage: 0.9653 -> 96.53%."""
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if math.isfinite(value) else str(value)


def summary_text(
    done: SweepFinished,
    last: SweepEpoch | None,
    device: str,
    warnings: tuple[MemberWarning, ...] = (),
) -> str:
    """The status line, the table (best λ marked, members whose lr·2λ ≥ 1 marked ⚠), whether
    the best λ is at the grid's edge, each warning in full under it, and where it was saved."""
    head = f"{done.status}: {len(done.results)} λ values × {done.epochs} epochs on {device}"
    if last is not None and last.elapsed_s > 0:
        head += f" in {last.elapsed_s:.2f} s"
    lines = [head]
    if done.message:
        lines.append(f"  {done.message}")
    classified = done.best_by is not None and done.best_by.endswith("accuracy")
    header: tuple[str, ...] = ("λ", "train loss", "test loss", "‖w‖²", "status")
    if classified:
        header = ("λ", "train loss", "test loss", "train acc", "test acc", "‖w‖²", "status")
    rows = [
        (
            f"{r.lam:g}",
            _num(r.train_loss),
            _num(r.test_loss),
            *((_share(r.train_accuracy), _share(r.test_accuracy)) if classified else ()),
            _num(r.weight_sq_norm),
            r.status,
        )
        for r in done.results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines.append(
        ("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))).rstrip()
    )
    warned = {w.index for w in warnings}
    marked = False
    for k, (r, row) in enumerate(zip(done.results, rows, strict=True)):
        text = "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        if not marked and done.best_lam is not None and r.lam == done.best_lam:
            text += "  ◀ best"
            marked = True
        if k in warned:
            text += "  ⚠ lr·2λ ≥ 1"
        lines.append(text.rstrip())
    if done.best_lam is not None:
        words = done.best_by_words
        lines.append(f"  best λ = {done.best_lam:g}" + (f" ({words})" if words else ""))
        note = edge_note([r.lam for r in done.results], done.best_lam)
        if note is not None:
            lines.append(f"  {note}")
    lines.extend(f"  ⚠ λ {w.lam:g}: {w.message}" for w in warnings)
    if done.run_dir:
        lines.append(f"  saved to {done.run_dir}")
    return "\n".join(lines)
