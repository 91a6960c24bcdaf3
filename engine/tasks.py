"""What is being learned: a task owns its data loss, its per-member loss for the sweep, its
output width and whether a closed-form optimum exists.

The trainer, the sweep, the ridge check and the files ask the task instead of assuming mean
squared error, so a new task (classification) is one more class here, not a branch in each of
them. Whatever the task, the objective is `data_loss + λ·Σ‖w‖²` over the penalized parameters
(engine/regularization.py): the task decides `data_loss`, never the penalty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

import torch

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.data import Dataset


class Task(Protocol):
    name: ClassVar[str]

    def output_width(self, dataset: Dataset) -> int:
        """How many numbers the model predicts per row."""
        ...

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The data loss of one model, a 0-d tensor: the mean over the rows."""
        ...

    def member_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The data loss of each sweep member: predictions (K, rows, out) -> (K,), each entry
        exactly what `loss` gives for that member's predictions."""
        ...

    def has_closed_form(self, config: RunConfig) -> bool:
        """Whether training converges to an optimum known in closed form (engine/ridge.py)."""
        ...

    def baseline_test_loss(self, dataset: Dataset) -> float | None:
        """The test loss of a model that ignores its input: the best constant fitted on the
        training targets. None without a test split."""
        ...

    def test_target_variance(self, dataset: Dataset) -> float | None:
        """What a score normalises the test loss by (R²'s denominator for regression); None
        without a test split or for a task that has no such score."""
        ...


class Regression:
    """Mean squared error on one continuous target."""

    name: ClassVar[str] = "regression"

    def output_width(self, dataset: Dataset) -> int:
        return 1

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(prediction, target)

    def member_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # mse_loss's own reduction is the mean over every element; so is this, per member.
        return (prediction - target).pow(2).mean(dim=(1, 2))

    def has_closed_form(self, config: RunConfig) -> bool:
        # Ridge regression is the optimum of a linear model under MSE + λ‖w‖². AdamW's
        # decoupled decay (mode wd) shrinks the weights outside the gradient: another fixed point.
        return config.model == "linear" and not (config.reg == "wd" and config.optimizer == "adamw")

    def baseline_test_loss(self, dataset: Dataset) -> float | None:
        if dataset.y_test is None or dataset.n_test == 0:
            return None
        return mean_prediction_loss(dataset.y_train, dataset.y_test)

    def test_target_variance(self, dataset: Dataset) -> float | None:
        if dataset.y_test is None or dataset.n_test == 0:
            return None
        return target_variance(dataset.y_test)


def mean_prediction_loss(y_train: torch.Tensor, y_test: torch.Tensor) -> float:
    """The mean squared error on `y_test` (rows, outputs) of predicting each output's training
    mean: what a model with only a bias converges to, and scikit-learn's
    `DummyRegressor(strategy="mean")`. In float64, once per dataset."""
    mean = y_train.double().mean(dim=0)
    return float((y_test.double() - mean).pow(2).mean())


def target_variance(y: torch.Tensor) -> float:
    """The mean squared deviation of `y` (rows, outputs) from each output's own mean: the test
    loss of an oracle that predicts the test mean."""
    y = y.double()
    return float((y - y.mean(dim=0)).pow(2).mean())


REGRESSION = Regression()


def task_for(config: RunConfig) -> Task:
    """The task a run learns. Regression is the only one yet; the choice lives here alone."""
    return REGRESSION
