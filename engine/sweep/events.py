"""The events a λ sweep emits: plain, immutable data, one list entry per λ in sweep order.

`to_json()` gives the exact objects `wdtui sweep --jsonl` prints. JSON has no NaN or Infinity,
so a non-finite number (a diverged member's loss) is written as null. Accuracies are the share
of rows classified right (0 to 1), one per member, and null for regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.config import RunConfig
from engine.diagnosis import decay_step_warning
from engine.events import ParamInfo, finite_or_none
from engine.sweep.best import BEST_BY_WORDS


def _floats(values: tuple[float, ...] | None) -> list[float | None] | None:
    return None if values is None else [finite_or_none(v) for v in values]


@dataclass(frozen=True)
class MemberWarning:
    """A member whose λ makes the decay step alone unstable with the sweep's lr (lr·2λ ≥ 1)."""

    index: int  # the member's position in `lams`
    lam: float
    message: str  # engine/diagnosis.py decay_step_warning's text

    def to_json(self) -> dict[str, Any]:
        return {"lam": self.lam, "message": self.message}


def member_warnings(
    settings: RunConfig | Mapping[str, Any], lams: Sequence[float]
) -> tuple[MemberWarning, ...]:
    """Each member whose λ, with the sweep's lr (`settings`' lr), makes the decay step alone
    reach or overshoot w = 0: engine/diagnosis.py `decay_step_warning`, once per member."""
    lr = settings.lr if isinstance(settings, RunConfig) else settings.get("lr")
    found = []
    for k, lam in enumerate(lams):
        message = decay_step_warning(settings, lam, lr)
        if message is not None:
            found.append(MemberWarning(k, lam, message))
    return tuple(found)


@dataclass(frozen=True)
class SweepStarted:
    config: dict[str, Any]  # the resolved RunConfig; its `lam` is null (the λ list is `lams`)
    device: str
    lams: tuple[float, ...]
    parameters: tuple[ParamInfo, ...]  # one member's parameters, as in a single run
    run_dir: str | None = None
    n_train: int = 0
    n_test: int = 0
    feature_names: tuple[str, ...] = ()
    # The closed-form ridge optimum of each member, keyed like its weights (linear models whose
    # objective's minimum is where training goes; None otherwise). In the order of `lams`.
    ridge: tuple[dict[str, Any], ...] | None = field(default=None, compare=False)
    # The test loss of predicting the training targets' mean (engine/tasks.py), the line every
    # member's test loss should beat; None without a test split (or a replay without its data).
    baseline_test_loss: float | None = None

    @property
    def warnings(self) -> tuple[MemberWarning, ...]:
        """The members whose λ trips the decay-step warning with the sweep's lr, in the order of
        `lams`. Derived from `config` and `lams`, so a replayed sweep says the same."""
        return member_warnings(self.config, self.lams)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "sweep_started",
            "config": self.config,
            "device": self.device,
            "lams": list(self.lams),
            "warnings": [w.to_json() for w in self.warnings],
        }


@dataclass(frozen=True)
class SweepEpoch:
    epoch: int
    train_loss: tuple[float, ...]  # the task's data loss on the whole train split, per member
    test_loss: tuple[float, ...] | None  # None without a test split
    weight_sq_norm: tuple[float, ...]  # Σ‖w‖² over the penalized parameters, per member
    elapsed_s: float
    # Each member's status after this epoch: "running", or "diverged" from the epoch it diverged.
    statuses: tuple[str, ...] = ()
    # Small models only (≤ SMALL_MODEL_WEIGHTS parameters per member), at most ~20 times a second
    # and on the last epoch: each member's parameters flattened in `SweepStarted.parameters`
    # order, for the explorer's live regularization path. Not part of the JSON.
    weights: tuple[tuple[float, ...], ...] | None = field(default=None, compare=False)
    # Classification: each member's accuracy on the train split (by the train loss's rule: at
    # the epoch's final weights, or over its minibatches with --train-loss batch-mean) and on
    # the test split (None without one). None for regression.
    train_accuracy: tuple[float, ...] | None = None
    test_accuracy: tuple[float, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "sweep_epoch",
            "epoch": self.epoch,
            "train_loss": _floats(self.train_loss),
            "test_loss": _floats(self.test_loss),
            "train_accuracy": _floats(self.train_accuracy),
            "test_accuracy": _floats(self.test_accuracy),
            "weight_sq_norm": _floats(self.weight_sq_norm),
            "elapsed_s": round(self.elapsed_s, 6),
        }


@dataclass(frozen=True)
class MemberResult:
    lam: float
    status: str  # completed | stopped | diverged | failed
    epochs: int  # epochs trained: the divergence epoch for a diverged member
    train_loss: float | None  # at its final weights; None if no epoch was measured
    test_loss: float | None
    weight_sq_norm: float | None
    # name -> nested lists in single-run shapes (a TensorWeights: converted when first read)
    weights: Mapping[str, Any] = field(compare=False)
    # Classification only, at its final weights as `train_loss` is; None for regression.
    train_accuracy: float | None = None
    test_accuracy: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "lam": self.lam,
            "status": self.status,
            "epochs": self.epochs,
            "train_loss": finite_or_none(self.train_loss),
            "test_loss": finite_or_none(self.test_loss),
            "train_accuracy": finite_or_none(self.train_accuracy),
            "test_accuracy": finite_or_none(self.test_accuracy),
            "weight_sq_norm": finite_or_none(self.weight_sq_norm),
            "weights": dict(self.weights),
        }


@dataclass(frozen=True)
class SweepFinished:
    status: str  # completed | stopped | failed
    epochs: int
    message: str
    best_lam: float | None  # by the rule `best_by` names (engine/sweep/best.py)
    results: tuple[MemberResult, ...] = field(compare=False)
    run_dir: str | None = None  # set whenever the sweep wrote files, whatever its status
    partial_epoch_steps: int = 0  # as in a run's Finished: steps into the epoch after `epochs`
    # How the best λ was chosen: "test_accuracy" (classification: the highest, a tie going to
    # the lower test loss), "test_loss" (regression: the lowest), or "train_…" of either
    # without a test split. None only when the sweep failed before knowing its task.
    best_by: str | None = None

    @property
    def best_by_words(self) -> str | None:
        """`best_by` as the table says it ("highest final test accuracy, a tie going to …")."""
        return None if self.best_by is None else BEST_BY_WORDS.get(self.best_by)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "sweep_finished",
            "status": self.status,
            "epochs": self.epochs,
            "partial_epoch_steps": self.partial_epoch_steps,
            "message": self.message,
            "best_lam": self.best_lam,
            "best_by": self.best_by,
            "results": [r.to_json() for r in self.results],
            "run_dir": self.run_dir,
        }


SweepEvent = SweepStarted | SweepEpoch | SweepFinished
