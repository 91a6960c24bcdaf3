"""`wdtui run`: train one run without a screen, as JSON lines or with a progress bar."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from engine.cli.lifecycle import build_or_exit, train_to_exit_code
from engine.cli.options import (
    OneLineParser,
    add_schedule_option,
    add_training_options,
    config_from_args,
    parse_training_args,
)
from engine.cli.output import JsonLines, print_quietly, warn_quietly
from engine.cli.progress import ProgressLine
from engine.diagnosis import decay_step_warning
from engine.events import Changed, Epoch, Event, Finished, Started, effective_lrs
from engine.regularization import parameter_counts
from engine.trainer import Trainer


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wdtui run", description="Train one run headless and print its events."
    )
    add_training_options(parser)
    add_schedule_option(parser)
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print events as JSON lines (default: a progress bar, then a summary)",
    )
    return parser


def _state_events_only(event: Event) -> bool:
    return isinstance(event, (Started, Epoch, Changed, Finished))


def run_command(argv: list[str]) -> int:
    parser = run_parser()
    args = parse_training_args(parser, argv)
    sink: Callable[[Event], None] = JsonLines() if args.jsonl else _Summary()
    trainer = build_or_exit(
        parser.prog,
        lambda: Trainer(
            config_from_args(args), lambda e: sink(e) if _state_events_only(e) else None
        ),
    )
    # The same text as the started event's `warning` (both from engine/diagnosis.py).
    warning = decay_step_warning(trainer.config, trainer.lam, trainer.lr)
    if warning is not None:
        warn_quietly(parser.prog, warning)
    return train_to_exit_code(trainer, sink)


class _Summary:
    """A progress bar on stderr while training, a short summary on stdout at the end."""

    def __init__(self) -> None:
        self.progress: ProgressLine | None = None
        self.last: Epoch | None = None
        self.device = ""
        self.changes: list[str] = []
        self.started: Started | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self.progress = ProgressLine(int(event.config["epochs"]))
            self.device, self.started = event.device, event
        elif isinstance(event, Epoch):
            self.last = event
            if self.progress is not None:
                self.progress.update(event.epoch, _epoch_text(event))
        elif isinstance(event, Changed):
            c = event.change
            self.changes.append(f"{'λ' if c.key == 'lam' else 'lr'} {c.value:g} at epoch {c.epoch}")
        elif isinstance(event, Finished):
            if self.progress is not None:
                if self.last is not None:
                    self.progress.update(self.last.epoch, _epoch_text(self.last), force=True)
                self.progress.close()
            text = _summary_text(event, self.last, self.device, self.changes)
            print_quietly(text + _decay_text(self.started, self.last))


def _epoch_text(e: Epoch) -> str:
    rate = e.epoch / e.elapsed_s if e.elapsed_s > 0 else 0.0
    test = "" if e.test_loss is None else f"  test {e.test_loss:.4g}"
    if e.test_accuracy is not None:
        test += f" ({e.test_accuracy:.1%})"
    return f"train {e.train_loss:.4g}{test}  λ {e.lam:g}  {rate:,.0f} epochs/s"


def _decay_text(started: Started | None, last: Epoch | None) -> str:
    """What λ decays (tensors, values) and, before a BatchNorm, each weight's effective
    learning rate lr/‖W‖² at the last epoch: lines to add to the summary."""
    if started is None:
        return ""
    text = f"\n  {parameter_counts(started.parameters).describe()}"
    rates = {} if last is None else effective_lrs(started, last)
    if rates:
        each = "   ".join(f"{name} {rate:.4g}" for name, rate in rates.items())
        text += f"\n  effective lr (lr/‖W‖², weights before a BatchNorm): {each}"
    return text


def _summary_text(done: Finished, last: Epoch | None, device: str, changes: list[str]) -> str:
    lines = [
        f"{done.status}: {done.epochs} epochs on {device}"
        + (
            f" in {last.elapsed_s:.2f} s ({last.epoch / last.elapsed_s:,.0f} epochs/s)"
            if last is not None and last.elapsed_s > 0
            else ""
        )
    ]
    if done.message:
        lines.append(f"  {done.message}")
    if last is not None:
        test = "n/a (no test split)" if last.test_loss is None else f"{last.test_loss:.6g}"
        lines.append(
            f"  train loss {last.train_loss:.6g}   test loss {test}   "
            f"‖w‖² {last.weight_sq_norm:.6g}   λ {last.lam:g}   lr {last.lr:g}"
        )
        if last.train_accuracy is not None:
            test_accuracy = "n/a" if last.test_accuracy is None else f"{last.test_accuracy:.2%}"
            lines.append(
                f"  train accuracy {last.train_accuracy:.2%}   test accuracy {test_accuracy}"
            )
    if changes:
        lines.append(f"  changes: {', '.join(changes)}")
    if done.run_dir:
        lines.append(f"  saved to {done.run_dir}")
    return "\n".join(lines)
