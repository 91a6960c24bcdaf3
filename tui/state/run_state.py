"""What the explorer knows about one run, built from the trainer's events (no tensors here).

The trainer thread only puts events into the explorer's inbox (tui/inbox.py); the explorer's
timer feeds them to `RunState.apply` on the UI thread, so nothing here needs a lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.config import RunConfig
from engine.events import (
    UNFINISHED,
    Epoch,
    Event,
    Finished,
    ParamInfo,
    ParamStats,
    Started,
    StateChanged,
    r_squared,
)
from tui.state.series import MinMaxSeries

if TYPE_CHECKING:  # engine.store imports torch, which loads after the first paint
    from engine.store import SavedRun

ACTIVE = ("starting", "running", "paused")


@dataclass
class Mark:
    """A point where λ or lr changed during the run."""

    epoch: int
    text: str


@dataclass
class RunState:
    run_id: int
    config: RunConfig  # resolved
    status: str = "starting"
    message: str = ""
    device: str = ""
    run_dir: str | None = None
    # Read back from its folder (the runs screen's `a`), not trained in this app: its label
    # says so, as it is drawn beside the live runs.
    saved: bool = False
    epoch: int = 0
    lam: float = 0.0
    lr: float = 0.0
    parameters: tuple[ParamInfo, ...] = ()
    feature_names: tuple[str, ...] = ()
    true_weights: dict[str, list[float]] | None = None
    param_stats: tuple[ParamStats, ...] | None = None
    has_test: bool = True
    # From `Started`: the test loss of predicting the training targets' mean, and the test
    # targets' variance (R²'s denominator). None without a test split.
    baseline_test_loss: float | None = None
    test_target_variance: float | None = None
    # Classification: each class index's label (Started.classes); None for regression.
    classes: tuple[str, ...] | None = None
    train: MinMaxSeries = field(default_factory=MinMaxSeries)
    test: MinMaxSeries = field(default_factory=MinMaxSeries)
    # The share of rows predicted right (classification only: empty for regression), and
    # Σ‖w‖² over the penalized parameters (grokking's plateau shows in it), one per epoch.
    train_accuracy: MinMaxSeries = field(default_factory=MinMaxSeries)
    test_accuracy: MinMaxSeries = field(default_factory=MinMaxSeries)
    weight_sq_norm: MinMaxSeries = field(default_factory=MinMaxSeries)
    # The epoch's update of the penalized weights, ‖Δw‖, and its data and decay parts
    # (engine/update_split.py), and each of `layer_names`' ‖w‖², one per epoch: the decay
    # view's (d) charts. Gaps (NaN) where an epoch has none (a replayed run).
    update_norm: MinMaxSeries = field(default_factory=MinMaxSeries)
    data_update_norm: MinMaxSeries = field(default_factory=MinMaxSeries)
    decay_update_norm: MinMaxSeries = field(default_factory=MinMaxSeries)
    layer_sq_norms: list[MinMaxSeries] = field(default_factory=list)
    # From `Started`: the weights λ decays (in mode none, those it would), those that feed a
    # BatchNorm, and the training rows (the steps per epoch follow from them).
    layer_names: tuple[str, ...] = ()
    scale_invariant: tuple[str, ...] = ()
    n_train: int = 0
    marks: list[Mark] = field(default_factory=list)
    # (first epoch, λ, lr) each time either changed, from epoch 1: the λ and lr of every
    # epoch, without a pair of floats per epoch (`lam_lr_per_epoch`).
    lam_lr_changes: list[tuple[int, float, float]] = field(default_factory=list)
    last: Epoch | None = None  # the newest epoch's numbers
    elapsed_s: float = 0.0
    # Bumped on every applied event, so widgets redraw only when something changed.
    version: int = 0
    stats_version: int = 0
    _rate: float | None = None
    _rate_sample: tuple[float, int, float] | None = None  # (wall time, epoch, elapsed_s)

    def __post_init__(self) -> None:
        self.lam = self.config.effective_lam
        self.lr = float(self.config.lr or 0.0)

    @classmethod
    def from_saved(cls, saved: SavedRun, run_id: int) -> RunState:
        """A run read back from its folder (engine/store.py `load_run`), built from the same
        events a live one is. A run whose process was killed ends `unfinished`."""
        state = cls(run_id, saved.config)
        for event in saved.events():
            state.apply(event)
        if saved.finished is None:
            state.status = UNFINISHED
            state.message = "the process ended before the run did: no results.json"
        return state

    @property
    def total_epochs(self) -> int:
        return int(self.config.epochs or 0)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def label(self) -> str:
        """A short name for the chart's legend, e.g. 'λ=3 sgd', 'λ=0→0.01 sgd' (changed during
        the run) or 'λ=0.1 adamw wd'; 'saved λ=3 sgd' for a run read back from its folder."""
        c = self.config
        first = c.effective_lam
        lam = f"{self.lam:g}" if first == self.lam else f"{first:g}→{self.lam:g}"
        text = f"λ={lam} {c.optimizer}"
        if c.reg != "l2":
            text += f" {c.reg}"
        return f"saved {text}" if self.saved else text

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch: one full batch (batch size 0 or at least the training
        rows), else the minibatches, the last one smaller (engine/job.py's rule)."""
        batch = int(self.config.batch_size or 0)
        if batch == 0 or batch >= self.n_train:
            return 1
        return -(-self.n_train // batch)

    @property
    def r_squared(self) -> float | None:
        """R² of the newest epoch's test loss (engine/events.py `r_squared`), or None."""
        last = self.last
        return None if last is None else r_squared(last.test_loss, self.test_target_variance)

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def epochs_seen(self) -> int:
        """How many epochs the loss history holds (what the chart can draw)."""
        return len(self.train)

    def apply(self, event: Event) -> None:
        self.version += 1
        if isinstance(event, Epoch):
            self._apply_epoch(event)
        elif isinstance(event, Started):
            self.status = "running"
            self.device = event.device
            self.run_dir = event.run_dir
            self.parameters = event.parameters
            self.feature_names = event.feature_names
            self.true_weights = event.true_weights
            self.has_test = event.n_test > 0
            self.baseline_test_loss = event.baseline_test_loss
            self.test_target_variance = event.test_target_variance
            self.classes = event.classes
            self.layer_names = event.layer_names
            self.scale_invariant = event.scale_invariant
            self.n_train = event.n_train
            self.layer_sq_norms = [MinMaxSeries() for _ in event.layer_names]
        elif isinstance(event, StateChanged):
            if self.active:
                self.status = event.state
        elif isinstance(event, Finished):
            self.status = event.status
            self.message = event.message
            self.epoch = event.epochs
            self._rate = None

    def _apply_epoch(self, event: Epoch) -> None:
        if self.epoch and event.lam != self.lam:
            self.marks.append(Mark(event.epoch, f"λ={event.lam:g}"))
        if self.epoch and event.lr != self.lr:
            self.marks.append(Mark(event.epoch, f"lr={event.lr:g}"))
        changes = self.lam_lr_changes
        if not changes or changes[-1][1:] != (event.lam, event.lr):
            changes.append((event.epoch, event.lam, event.lr))
        self.epoch = event.epoch
        self.lam, self.lr = event.lam, event.lr
        self.elapsed_s = event.elapsed_s
        self.train.append(event.train_loss)
        self.test.append(event.test_loss)
        self.weight_sq_norm.append(event.weight_sq_norm)
        self.update_norm.append(event.update_norm)
        self.data_update_norm.append(event.data_update_norm)
        self.decay_update_norm.append(event.decay_update_norm)
        sq_norms = event.layer_sq_norms
        for i, series in enumerate(self.layer_sq_norms):
            series.append(sq_norms[i] if i < len(sq_norms) else None)
        if event.train_accuracy is not None:
            self.train_accuracy.append(event.train_accuracy)
            self.test_accuracy.append(event.test_accuracy)
        self.last = event
        if event.param_stats is not None:
            self.param_stats = event.param_stats
            self.stats_version += 1

    def epochs_per_second(self, now: float | None = None) -> float | None:
        """Training speed over the last half second or so (pauses excluded); None if unknown."""
        if self.status != "running":
            return self._rate if self.status == "paused" else None
        now = time.monotonic() if now is None else now
        sample = self._rate_sample
        if sample is None:
            self._rate_sample = (now, self.epoch, self.elapsed_s)
            return None
        _, epoch0, elapsed0 = sample
        if now - sample[0] >= 0.5 and self.elapsed_s > elapsed0:
            self._rate = (self.epoch - epoch0) / (self.elapsed_s - elapsed0)
            self._rate_sample = (now, self.epoch, self.elapsed_s)
        return self._rate
