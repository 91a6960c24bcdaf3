"""The explorer's runs: the one training now, the earlier ones still drawn, the replaced ones
still finishing their step. No widgets here: the explorer screen renders what this holds.

One `Trainer` at a time. A new run stops the current one and waits JOIN_TIMEOUT_S for it; one
still inside a long step then finishes it and saves in the background, and quitting joins it too.
The trainers are made on the UI thread, after the app's loader thread has imported torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from engine.config import ConfigError, RunConfig, check_lam, check_lr
from engine.events import Event, ParamInfo, WeightsSnapshot
from tui.datasets import DatasetCache
from tui.inbox import EventInbox
from tui.state.run_state import RunState

if TYPE_CHECKING:  # torch-backed: loaded on the app's loader thread, after the first paint
    from engine.ridge import RidgePath
    from engine.trainer import Trainer

JOIN_TIMEOUT_S = 2.0
MAX_OVERLAYS = 4  # earlier runs kept, and drawn dimmed beside the current one


class RunNotStarted(Exception):
    """A run could not be made (bad settings, an unreadable CSV): one line, fit to show."""


def cannot_start(exc: Exception) -> str:
    if isinstance(exc, ConfigError):  # one line written for the user
        return f"cannot start: {exc}"
    return f"cannot start: {type(exc).__name__}: {exc}"  # bad CSV, unreadable file


class LiveRun:
    """`start` a run, send it λ, lr, pause and stop, and fold its events into RunStates
    (`apply_events`, on the UI thread). `close` on the way out: no run starts after it."""

    def __init__(
        self,
        initial: RunConfig,
        datasets: DatasetCache,
        inbox: EventInbox[Event],
        *,
        pace: float | None = None,
    ) -> None:
        self.initial = initial.resolved()
        self.pace = pace  # the most epochs/s every run trains at; None: as fast as it can
        self._datasets = datasets
        self._inbox = inbox
        self.current: RunState | None = None
        self.earlier: list[RunState] = []  # overlaid dimmed on the chart, oldest first
        self.trainer: Trainer | None = None
        self.finishing: list[Trainer] = []  # replaced while inside a long step: not yet saved
        # What the next step key starts from: the live trainer's values, else the next run's.
        self.lam = self.initial.effective_lam
        self.lr = float(self.initial.lr or 0.0)
        self.closed = False
        self._next_id = 1
        # Of the current run, for the weight tables.
        self.parameters: tuple[ParamInfo, ...] = ()
        self.feature_names: Sequence[str] = ()
        self.shows_weights = False  # a small linear model: a row per weight
        self.ridge: RidgePath | None = None  # its closed form, where training converges to it
        # Weight snapshots by run id, the trainers' answers to a download (D, tui/download.py):
        # for the explorer to take, never drawn.
        self.snapshots: list[tuple[int, WeightsSnapshot]] = []

    @property
    def active(self) -> bool:
        """A trainer is training (or paused): commands reach it."""
        return self.trainer is not None and self.current is not None and self.current.active

    @property
    def base(self) -> RunConfig:
        """The settings the next run starts from: the current run's, else the first ones."""
        return self.current.config if self.current is not None else self.initial

    def settings(self) -> RunConfig:
        """The current run's settings with the lr in use (the keys may have changed it)."""
        return replace(self.base, lr=self.lr)

    def start(self, config: RunConfig, *, keep_current: bool) -> bool:
        """Start a run for `config`, stopping the current one; `keep_current` keeps the old one
        on the chart. False once closed; raises RunNotStarted if the trainer cannot be made
        (the current run then trains on, untouched)."""
        from engine.models import SMALL_MODEL_WEIGHTS  # torch-backed, imported by now
        from engine.trainer import Trainer

        if self.closed:
            return False
        run_id = self._next_id
        try:
            # Made before the current run is stopped: a run that cannot be made (a model too
            # big for memory, a bad CSV) leaves the current one training.
            trainer = Trainer(
                config,
                lambda event: self._inbox.put(run_id, event),
                dataset=self._datasets.get(config),
                pace=self.pace,
            )
        except Exception as exc:  # bad settings, a bad CSV: said on screen, the app stays up
            raise RunNotStarted(cannot_start(exc)) from exc
        self._stop_trainer()
        self._next_id += 1
        if self.current is not None and keep_current:
            self.earlier.append(self.current)
            del self.earlier[:-MAX_OVERLAYS]  # only these are drawn; each holds its history
        self.current = RunState(run_id, trainer.config)
        self.trainer = trainer
        if trainer.config.reg != "none":  # mode none trains at λ = 0; keep the λ chosen
            self.lam = self.current.lam
        self.lr = self.current.lr
        self.finishing = [t for t in self.finishing if not t.join(0)]
        self.parameters = trainer.parameter_info()
        self.feature_names = trainer.dataset.feature_names
        n_weights = sum(math.prod(p.shape) for p in self.parameters)
        self.shows_weights = trainer.config.model == "linear" and n_weights <= SMALL_MODEL_WEIGHTS
        # None where training does not converge to it (AdamW's decoupled decay, an MLP).
        self.ridge = trainer.ridge() if self.shows_weights else None
        trainer.start()
        return True

    def _stop_trainer(self) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        trainer.stop()
        if not trainer.join(JOIN_TIMEOUT_S):
            self.finishing.append(trainer)  # joined on the way out: it must save first
        self.apply_events()  # its last events (Finished) belong to its RunState

    def add_saved(self, run: RunState) -> None:
        """Draw a run read back from its folder beside the live ones, as an earlier run (the
        oldest beyond MAX_OVERLAYS leaves). It gets an id no trainer of this app has."""
        run.run_id = self._next_id
        self._next_id += 1
        run.saved = True
        self.earlier.append(run)
        del self.earlier[:-MAX_OVERLAYS]

    def apply_events(self) -> None:
        """Fold the inbox's events into their runs (on the UI thread)."""
        runs = {r.run_id: r for r in self.earlier}
        if self.current is not None:
            runs[self.current.run_id] = self.current
        for run_id, event in self._inbox.take():
            if isinstance(event, WeightsSnapshot):
                self.snapshots.append((run_id, event))
                continue
            run = runs.get(run_id)
            if run is not None:  # else a run that a restart replaced
                run.apply(event)

    def use(self, which: Literal["lam", "lr"], value: float) -> None:
        """λ or lr = `value` from now on: the live trainer's, else the next run's. Raises
        ConfigError, changing nothing, for an invalid value (a step past float32, lr ÷ 2
        reaching 0, λ ≠ 0 in mode 'none' on a live run)."""
        live = self.trainer if self.active else None
        if which == "lam":
            lam = check_lam(value)
            if live is not None:
                live.set_lam(lam)
            self.lam = lam
        else:
            lr = check_lr(value)
            if live is not None:
                live.set_lr(lr)
            self.lr = lr

    def toggle_pause(self) -> None:
        if self.trainer is None or self.current is None or not self.current.active:
            return
        if self.current.status == "paused":
            self.trainer.resume()
        else:
            self.trainer.pause()

    def stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()

    def set_pace(self, pace: float | None) -> None:
        """The most epochs/s, for this run and the next ones (None: no cap)."""
        self.pace = pace
        if self.trainer is not None:
            self.trainer.set_pace(pace)

    def step_epoch(self) -> None:
        """While paused: train to the end of the next epoch, then pause again."""
        if (
            self.trainer is not None
            and self.current is not None
            and self.current.status == "paused"
        ):
            self.trainer.step_epoch()

    def close(self) -> list[Trainer]:
        """No run starts from now on. Asks every run still training to stop (at its next
        step) and returns them, to join."""
        self.closed = True
        jobs = [t for t in [*self.finishing, self.trainer] if t is not None]
        for trainer in jobs:
            trainer.stop()
        return jobs
