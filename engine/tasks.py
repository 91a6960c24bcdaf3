"""What is being learned: a task owns its data loss, its per-member loss for the sweep, its
output width and whether a closed-form optimum exists.

The trainer, the sweep, the ridge check and the files ask the task instead of assuming mean
squared error: regression (MSE) and classification (softmax cross-entropy) are the two classes
here, not a branch in each of them. Whatever the task, the objective is
`data_loss + λ·Σ‖w‖²` over the penalized parameters (engine/regularization.py): the task
decides `data_loss`, never the penalty.
"""

from __future__ import annotations

import math
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

    def accuracy(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """The share of rows predicted right, a 0-d tensor (no host sync); None for a task
        without classes."""
        ...

    def member_accuracy(
        self, prediction: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor | None:
        """Each sweep member's accuracy: predictions (K, rows, out) -> (K,); None without
        classes."""
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

    def accuracy(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        return None

    def member_accuracy(
        self, prediction: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor | None:
        return None


class Classification:
    """Softmax cross-entropy over K classes: the model's K outputs are logits, the targets
    class indices (int64, one per row; engine/data.py)."""

    name: ClassVar[str] = "classification"

    def output_width(self, dataset: Dataset) -> int:
        return dataset.n_classes

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(prediction, target)

    def member_loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # cross_entropy takes the classes on dim 1: (K, C, rows) against (K, rows), each
        # member's rows' losses, then their mean, as `loss` takes it.
        members = prediction.shape[0]
        losses = torch.nn.functional.cross_entropy(
            prediction.transpose(1, 2), target.expand(members, -1), reduction="none"
        )
        return losses.mean(dim=1)

    def has_closed_form(self, config: RunConfig) -> bool:
        return False  # regularized logistic regression has no closed form

    def baseline_test_loss(self, dataset: Dataset) -> float | None:
        if dataset.y_test is None or dataset.n_test == 0:
            return None
        return prior_prediction_loss(dataset.y_train, dataset.y_test, dataset.n_classes)

    def test_target_variance(self, dataset: Dataset) -> float | None:
        return None  # R² is regression's score; accuracy is this task's

    def accuracy(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        return (prediction.argmax(dim=-1) == target).float().mean()

    def member_accuracy(
        self, prediction: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor | None:
        return (prediction.argmax(dim=-1) == target).float().mean(dim=1)


def exact_share(value: float, rows: int) -> float:
    """An accuracy measured in float32 on the device, as the exact fraction correct/rows it
    stands for: equal counts compare equal (the sweep's best-λ rule breaks such ties), and the
    numbers read as what they are (0.93, not 0.9300000071525574)."""
    return round(value * rows) / rows if math.isfinite(value) else value


def prior_prediction_loss(y_train: torch.Tensor, y_test: torch.Tensor, n_classes: int) -> float:
    """The cross-entropy on `y_test` of predicting every row's class with the training rows'
    class frequencies: what a model with only biases converges to, and scikit-learn's
    `DummyClassifier(strategy="prior")`. Every class has training rows (the split is
    stratified), so no probability is 0. In float64, once per dataset."""
    counts = torch.bincount(y_train, minlength=n_classes).double()
    log_prior = (counts / counts.sum()).log()
    return float(-log_prior[y_test].mean())


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
CLASSIFICATION = Classification()


def task_for(dataset: Dataset) -> Task:
    """The task a run learns: the data decide it (engine/data.py resolves `--task` and a
    preset's own into `Dataset.classes`); the choice lives here alone."""
    return CLASSIFICATION if dataset.classes is not None else REGRESSION
