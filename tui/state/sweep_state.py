"""What the sweep view knows about one sweep, folded from its events: plain data, no widgets.

The charts plot every member's *latest* numbers against λ, so only the newest epoch matters:
`apply` overwrites, it never accumulates, and a sweep of a million epochs costs the UI nothing
more than one of ten.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from engine.config import RunConfig
from engine.events import UNFINISHED
from engine.sweep.best import best_by, choose_best
from engine.sweep.events import (
    MemberWarning,
    SweepEpoch,
    SweepEvent,
    SweepFinished,
    SweepStarted,
)
from tui.state.nested import flatten
from tui.state.sweep_settings import SettingsChange, settings_change

PATH_MAX_WEIGHTS = 20  # a regularization path of more lines than this is unreadable
# Near the edge of stability (2λ·lr ≈ 2 with SGD) a member can grow to 1e30 without ever
# turning inf, and would flatten every other member into one row. Such members are left out of
# the charts' ranges (their lines run off the edge): the upper ones, above a jump of more than
# OFF_SCALE between consecutive sorted train losses (growing exponentially,
# a blow-up passes any such gap within a few epochs). Not a ratio to the median: a healthy sweep
# spans many decades too (highdim: 1e-16 at λ = 0 to 1e-2 at λ = 100), but smoothly.
OFF_SCALE = 1e6
NAN = math.nan
LOSS_TINY = 1e-12  # a median loss of 0 (an exact fit) must not put every other member off scale


def _maybe(values: Sequence[float | None] | None) -> list[float] | None:
    return None if values is None else _finite(values)


def _finite(values: Sequence[float | None]) -> list[float]:
    return [NAN if v is None or not math.isfinite(v) else float(v) for v in values]


def _labels(name: str, size: int, features: list[str]) -> list[str]:
    if name == "weight" and size == len(features):
        return [f"w[{f}]" for f in features]
    return [name] if size == 1 else [f"{name}[{j}]" for j in range(size)]


class SweepState:
    """One sweep's results, tied to what they were trained with: `lams` and `config` (the
    sweep's resolved RunConfig; None only in tests of the charts, which need no settings)."""

    def __init__(
        self,
        lams: Sequence[float],
        total_epochs: int,
        config: RunConfig | None = None,
        *,
        ray_address: str | None = None,
    ) -> None:
        self.lams = tuple(lams)
        self.total_epochs = total_epochs
        self.config = config
        # Where it trains: None here, else the Ray address its workers were asked of.
        self.ray_address = ray_address
        self.started = False  # SweepStarted has come: the members were built
        self.device = ""  # as the sweep reported it once started ("2 Ray workers (cpu)")
        k = len(self.lams)
        self.status = "starting"  # then running, completed, stopped or failed
        self.message = ""
        self.epoch = 0
        self.elapsed_s = 0.0
        self.run_dir: str | None = None
        self.train = [NAN] * k
        self.test: list[float] | None = None
        # Classification: each member's accuracies (None for regression, the test's without
        # a test split); the best λ is then the highest accuracy (engine/sweep/best.py).
        self.train_accuracy: list[float] | None = None
        self.test_accuracy: list[float] | None = None
        # Σ‖w‖² over the penalized parameters: what λ multiplies, and what the explorer's
        # readout, `wdtui run` and `wdtui sweep` report as ‖w‖².
        self.sq_norm = [NAN] * k
        # running, diverged, completed, stopped, or failed: its Ray worker was lost
        self.member_status = ["running"] * k
        self.finished_best: float | None = None  # the engine's own answer, once finished
        # The members whose λ makes the decay step alone unstable (lr·2λ ≥ 1), from the start.
        self.warnings: tuple[MemberWarning, ...] = ()
        # The regularization path (small linear models): which flat indices are weights, their
        # labels, each member's latest values of those weights, and the closed-form ridge path.
        self.path_labels: list[str] = []
        self._path_index: list[int] = []
        self._param_sizes: list[tuple[str, int]] = []
        self.path: list[list[float]] | None = None  # [member][weight]
        self.ridge_path: list[list[float]] | None = None  # [member][weight]
        self.ridge_sq_norm: list[float] | None = None  # the optimum's Σ‖w‖², per member
        # The test loss of predicting the training mean (None without a test split).
        self.baseline_test_loss: float | None = None
        self._weights_epoch = 0
        self.version = 0  # bumped on every change the screen should redraw

    # ----- events -------------------------------------------------------------------------------

    def apply(self, event: SweepEvent) -> bool:
        """Fold an event in; True if anything changed. An epoch older than what is shown only
        brings its weights, if newer than the shown weights (the live weights come ~20 times a
        second, on some epochs only); after the end, epochs change nothing."""
        if isinstance(event, SweepStarted):
            self._started(event)
        elif isinstance(event, SweepFinished):
            self._finished(event)
        elif not (isinstance(event, SweepEpoch) and self.active and self._epoch(event)):
            return False
        self.version += 1
        return True

    def _started(self, event: SweepStarted) -> None:
        self.status, self.started = "running", True
        self.run_dir = event.run_dir
        self.device = event.device
        self.warnings = event.warnings
        self.baseline_test_loss = event.baseline_test_loss
        self._param_sizes = [(p.name, math.prod(p.shape)) for p in event.parameters]
        names = list(event.feature_names)
        offset = 0
        for p in event.parameters:
            size = math.prod(p.shape)
            if p.penalized:  # the path shows what λ acts on: the penalized parameters
                self._path_index.extend(range(offset, offset + size))
                self.path_labels.extend(_labels(p.name, size, names))
            offset += size
        ridge_path = None
        if event.ridge is not None:
            # Keyed like the weights; flattened in the same parameter order as the live values.
            ridge = [self._flat_of(member) for member in event.ridge]
            ridge_path = [[row[i] for i in self._path_index] for row in ridge]
            self.ridge_sq_norm = [sum(w * w for w in row) for row in ridge_path]
        is_linear = event.config.get("model") == "linear"
        if not is_linear or not 0 < len(self._path_index) <= PATH_MAX_WEIGHTS:
            self._path_index, self.path_labels = [], []
        else:
            self.ridge_path = ridge_path

    def _flat_of(self, weights: Mapping[str, Any]) -> list[float]:
        return [x for name, _ in self._param_sizes for x in flatten(weights[name])]

    def _epoch(self, event: SweepEpoch) -> bool:
        changed = False
        if event.weights is not None and self._path_index and event.epoch > self._weights_epoch:
            self._weights_epoch = event.epoch
            self.path = [[row[i] for i in self._path_index] for row in event.weights]
            changed = True
        if event.epoch <= self.epoch:
            return changed
        self.status = "running"
        self.epoch, self.elapsed_s = event.epoch, event.elapsed_s
        self.train = _finite(event.train_loss)
        self.test = None if event.test_loss is None else _finite(event.test_loss)
        self.train_accuracy = _maybe(event.train_accuracy)
        self.test_accuracy = _maybe(event.test_accuracy)
        self.sq_norm = _finite(event.weight_sq_norm)
        if event.statuses:
            self.member_status = list(event.statuses)
        return True

    def _finished(self, event: SweepFinished) -> None:
        self.status, self.message = event.status, event.message
        self.epoch = event.epochs
        self.finished_best = event.best_lam
        if len(event.results) != len(self.lams):  # a failure before any result was read
            return
        self.member_status = [r.status for r in event.results]
        self.train = _finite([r.train_loss for r in event.results])
        if self.test is not None:
            self.test = _finite([r.test_loss for r in event.results])
        if self.train_accuracy is not None:
            self.train_accuracy = _finite([r.train_accuracy for r in event.results])
        if self.test_accuracy is not None:
            self.test_accuracy = _finite([r.test_accuracy for r in event.results])
        self.sq_norm = _finite([r.weight_sq_norm for r in event.results])
        if self._path_index:
            # The final weights of every member, also when the sweep was stopped mid-way; a
            # member lost with its Ray worker has none (NaN, not drawn).
            size = sum(n for _, n in self._param_sizes)
            flat = [self._flat_of(r.weights) if r.weights else [NAN] * size for r in event.results]
            self.path = [[row[i] for i in self._path_index] for row in flat]

    def end_unfinished(self, message: str) -> None:
        """A saved sweep whose process ended before the sweep did (no results.json): it stays
        at the epoch it got to, and its best λ is the engine's rule on that epoch."""
        self.finished_best = self.best_lam() if self.active else self.finished_best
        self.status, self.message = UNFINISHED, message
        self.version += 1

    # ----- derived --------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    @property
    def scores(self) -> list[float]:
        """What "best" minimises: the test loss, or the train loss without a test split."""
        return self.train if self.test is None else self.test

    def plotted(self, k: int) -> bool:
        """Drawn and a candidate for the best λ: a member that neither diverged nor failed (a
        failed one's last numbers are of an epoch the others have left behind)."""
        return self.member_status[k] not in ("diverged", "failed")

    @property
    def accuracies(self) -> list[float] | None:
        """What "best" maximises first, for classification: the scored split's accuracy."""
        return self.train_accuracy if self.test is None else self.test_accuracy

    @property
    def best_by(self) -> str:
        """The rule's name (engine/sweep/best.py): test or train, accuracy or loss."""
        return best_by(self.train_accuracy is not None, self.test is not None)

    def best_lam(self) -> float | None:
        """The engine's answer once finished; until then the engine's rule on the latest
        epoch (engine/sweep/best.py: members that did not diverge; for classification the
        highest accuracy, a tie going to the lower loss)."""
        if not self.active:
            return self.finished_best
        candidates = [self.plotted(k) for k in range(len(self.lams))]
        return choose_best(self.lams, candidates, self.scores, self.accuracies)

    def change_for(self, current: RunConfig) -> SettingsChange | None:
        """How `current` (the live run's settings, resolved) differs from the settings these
        results were trained with; None when this sweep's best λ is a best λ for `current`."""
        if self.config is None:
            return None
        return settings_change(self.config, current)

    def best_index(self) -> int | None:
        lam = self.best_lam()
        return None if lam is None else self.lams.index(lam)

    def off_scale(self) -> set[int]:
        """Members whose train loss sits above a jump of > OFF_SCALE× in the upper half."""
        ranked = sorted(
            (v, k) for k, v in enumerate(self.train) if self.plotted(k) and math.isfinite(v)
        )
        if len(ranked) < 3:
            return set()
        for i in range(max(1, len(ranked) // 2), len(ranked)):
            if ranked[i][0] > OFF_SCALE * max(ranked[i - 1][0], LOSS_TINY):
                return {k for _, k in ranked[i:]}
        return set()

    def diverged(self) -> list[float]:
        return self._with_status("diverged")

    def failed(self) -> list[float]:
        """The members whose Ray worker was lost (or whose slice failed on it)."""
        return self._with_status("failed")

    def _with_status(self, status: str) -> list[float]:
        return [lam for lam, s in zip(self.lams, self.member_status, strict=True) if s == status]

    def rate(self) -> float | None:
        return self.epoch / self.elapsed_s if self.elapsed_s > 0 and self.epoch else None
