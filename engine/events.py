"""The event contract between the engine and whoever watches it (the TUI, `wdtui run --jsonl`).

Events are plain, immutable data: no tensors, nothing a consumer must lock. `to_json()` gives the
exact objects `wdtui run --jsonl` prints (see docs/design.md, "The event stream").
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.diagnosis import decay_step_warning
from engine.schedule import Change

if TYPE_CHECKING:  # the UI imports events before torch has loaded
    import torch


def finite_or_none(value: float | None) -> float | None:
    """JSON has no NaN or Infinity: a non-finite number is written as null."""
    if value is None or not math.isfinite(value):
        return None
    return value


def r_squared(test_loss: float | None, variance: float | None) -> float | None:
    """R² = 1 − MSE / variance of the test targets (about their own mean), i.e. 1 − SSE / SST:
    scikit-learn's `r2_score` for one output, its `multioutput="variance_weighted"` for several.
    1 is perfect, 0 is no better than predicting the test mean, below 0 is worse. None when a
    number is missing or non-finite, or the targets are constant (R² undefined)."""
    if test_loss is None or variance is None:
        return None
    if not (math.isfinite(test_loss) and math.isfinite(variance)) or variance <= 0:
        return None
    return 1.0 - test_loss / variance


def effective_lrs(started: Started, epoch: Epoch) -> dict[str, float]:
    """Each scale-invariant weight's effective learning rate at the end of `epoch`,
    lr/‖W‖² (inf at ‖W‖ = 0): the angle a step turns W by grows as decay shrinks ‖W‖.
    Empty without BatchNorm, or for an epoch without per-layer norms (a replayed one)."""
    norms = dict(zip(started.layer_names, epoch.layer_sq_norms, strict=False))
    return {
        name: epoch.lr / norms[name] if norms[name] > 0 else math.inf
        for name in started.scale_invariant
        if name in norms
    }


class TensorWeights(Mapping[str, Any]):
    """Final weights by parameter name: nested lists when read, CPU tensors underneath.

    Turning a wide MLP's weights into Python lists costs seconds (tens of millions of floats for
    a 32-member sweep), so each parameter is converted only when someone reads it: JSON output
    does, a consumer that only wants the status does not pay for it.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self._tensors = dict(tensors)
        self._lists: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._lists:
            self._lists[name] = self._tensors[name].tolist()
        return self._lists[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def tensor(self, name: str) -> torch.Tensor:
        """The parameter itself (a CPU tensor; do not modify it)."""
        return self._tensors[name]

    def __repr__(self) -> str:
        shapes = {name: tuple(t.shape) for name, t in self._tensors.items()}
        return f"TensorWeights({shapes})"


@dataclass(frozen=True)
class ParamInfo:
    name: str
    shape: tuple[int, ...]
    penalized: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "penalized": self.penalized}


@dataclass(frozen=True)
class ParamStats:
    """One parameter tensor summarised; `values` only for small linear models."""

    name: str
    shape: tuple[int, ...]
    penalized: bool
    norm: float
    mean: float
    std: float
    max_abs: float
    values: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Started:
    config: dict[str, Any]
    device: str
    parameters: tuple[ParamInfo, ...]
    run_dir: str | None = None
    n_train: int = 0
    n_test: int = 0
    feature_names: tuple[str, ...] = ()
    # The generating weights by parameter name, in the model's coordinates (linear presets only).
    true_weights: dict[str, list[float]] | None = None
    # The test loss of predicting the training targets' mean (engine/tasks.py): what a model
    # that ignores its input gets. None without a test split (or a replay without its data).
    baseline_test_loss: float | None = None
    # The test targets' variance about their own mean: R² = 1 − test loss / this
    # (`r_squared` above). None where `baseline_test_loss` is.
    test_target_variance: float | None = None
    # Classification: each class index's label, in order (config.json records them too).
    classes: tuple[str, ...] | None = None
    # The weights each epoch's `layer_sq_norms` are of, in order: those λ decays (in mode
    # none, those it would decay).
    layer_names: tuple[str, ...] = ()
    # The weights that feed a BatchNorm (engine/regularization.py `scale_invariant`), in the
    # model's order: decay raises their effective learning rate, lr/‖W‖² (`effective_lrs`).
    scale_invariant: tuple[str, ...] = ()

    @property
    def warning(self) -> str | None:
        """Why the starting λ and lr may be unstable (lr·2λ ≥ 1: engine/diagnosis.py), or None.
        Derived from `config`, so a replayed run says the same as the live one did."""
        return decay_step_warning(self.config, self.config.get("lam"), self.config.get("lr"))

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "started",
            "config": self.config,
            "device": self.device,
            "parameters": [p.to_json() for p in self.parameters],
            "run_dir": self.run_dir,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "classes": None if self.classes is None else list(self.classes),
            "layer_names": list(self.layer_names),
            "scale_invariant": list(self.scale_invariant),
            "warning": self.warning,
        }


@dataclass(frozen=True)
class Epoch:
    epoch: int
    train_loss: float
    test_loss: float | None
    penalty: float  # lam * weight_sq_norm
    objective: float  # train_loss + penalty
    weight_sq_norm: float  # sum of ||w||^2 over the penalized parameters
    lam: float
    lr: float
    elapsed_s: float  # wall time since the run started, pauses excluded
    # Fresh per-parameter statistics, at most 4 times a second (and always on the last epoch):
    # computing them every epoch would cost a fast run a third of its speed.
    param_stats: tuple[ParamStats, ...] | None = field(default=None, compare=False)
    # The share of rows predicted right (classification; None for regression, and the test's
    # without a test split), measured as the losses are.
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    # The epoch's update of the weights λ decays, Δw = data part + decay part
    # (engine/update_split.py): the three norms (metrics.csv keeps them), and each weight's
    # ‖w‖² (Started.layer_names; live and in the JSON lines only, as param_stats are).
    update_norm: float | None = None
    data_update_norm: float | None = None
    decay_update_norm: float | None = None
    layer_sq_norms: tuple[float, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "epoch",
            "epoch": self.epoch,
            "train_loss": finite_or_none(self.train_loss),
            "test_loss": finite_or_none(self.test_loss),
            "penalty": finite_or_none(self.penalty),
            "objective": finite_or_none(self.objective),
            "weight_sq_norm": finite_or_none(self.weight_sq_norm),
            "lam": self.lam,
            "lr": self.lr,
            "elapsed_s": round(self.elapsed_s, 6),
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "update_norm": finite_or_none(self.update_norm),
            "data_update_norm": finite_or_none(self.data_update_norm),
            "decay_update_norm": finite_or_none(self.decay_update_norm),
            "layer_sq_norms": [finite_or_none(v) for v in self.layer_sq_norms],
        }


@dataclass(frozen=True)
class StateChanged:
    """The trainer paused or resumed (applied between two optimizer steps)."""

    state: str  # "paused" | "running"

    def to_json(self) -> dict[str, Any]:
        return {"event": "state", "state": self.state}


@dataclass(frozen=True)
class Finished:
    status: str  # completed | stopped | diverged | failed
    epochs: int
    message: str
    weights: Mapping[str, Any] = field(compare=False)  # name -> nested lists (TensorWeights)
    run_dir: str | None = None  # set whenever the run wrote files, whatever its status
    # Optimizer steps taken into epoch `epochs + 1` before a stop mid-epoch (minibatches only):
    # the final weights (and weights.pt) include them, the epoch rows do not.
    partial_epoch_steps: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "finished",
            "status": self.status,
            "epochs": self.epochs,
            "partial_epoch_steps": self.partial_epoch_steps,
            "message": self.message,
            "weights": dict(self.weights),
            "run_dir": self.run_dir,
        }


@dataclass(frozen=True)
class Changed:
    """λ or lr changed, between two optimizer steps: scripted (--at, a replay) or typed live.
    The next epoch event carries the new value; the run folder's summary.json records it."""

    change: Change

    def to_json(self) -> dict[str, Any]:
        return {"event": "change", **self.change.to_json()}


@dataclass(frozen=True)
class WeightsSnapshot:
    """The weights as they are between two optimizer steps, sent once per `Trainer.snapshot`
    (the explorer's download, D): what weights.pt would hold if the run ended now, as CPU
    copies that nothing else holds. `epoch` is the epochs reported so far (a saved run has
    every one of them in metrics.csv before this event is sent); `step` counts the optimizer
    steps taken over the run (with minibatches, possibly some steps into epoch `epoch + 1`).
    With BatchNorm the running statistics include the forward pass of the step about to be
    taken, as a stop's weights.pt does."""

    epoch: int
    step: int
    state_dict: Mapping[str, torch.Tensor] = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "snapshot",
            "epoch": self.epoch,
            "step": self.step,
            "tensors": list(self.state_dict),
        }


Event = Started | Epoch | StateChanged | Changed | Finished | WeightsSnapshot
# The status of a saved run that has no Finished: its process ended before the run did.
UNFINISHED = "unfinished"
# A summary.json's status while its run trains (engine/store/summary.py).
RUNNING = "running"
