"""Datasets: the built-in presets, CSV files, the train/test split and scaling.

Everything is deterministic for a given seed and lives on the CPU until the trainer moves it to
its device, once. Where the rows come from is `engine/sources/`; this module splits and scales
them: at random for regression, stratified for classification (every class among the
training rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import CSV_TEST_FRACTION, DataError, RunConfig
from engine.sources import bundled, grokking
from engine.sources.csv_file import read_csv
from engine.sources.csv_header import column_list
from engine.sources.labels import stratified_split
from engine.sources.table import Table

__all__ = [
    "DataError",
    "Dataset",
    "column_list",
    "epoch_batches",
    "load_dataset",
    "read_csv",
    "true_parameters",
]

REGRESSION = "regression"
CLASSIFICATION = "classification"
PRESET_TASKS = {
    "line": REGRESSION,
    "highdim": REGRESSION,
    "poly": REGRESSION,
    "diabetes": REGRESSION,
    "digits": CLASSIFICATION,
    "cancer": CLASSIFICATION,
    "grokking": CLASSIFICATION,
}


@dataclass
class Dataset:
    name: str
    x_train: torch.Tensor  # (n_train, d) float32
    # Regression: (n_train, 1) float32. Classification: (n_train,) int64 class indices.
    y_train: torch.Tensor
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    feature_names: list[str]
    # The generating weights, expressed in the model's (standardized) coordinates.
    true_weight: torch.Tensor | None = None  # (d,)
    true_bias: float | None = None
    # Classification: each class index's label (whole numbers in numeric order, text sorted).
    classes: tuple[str, ...] | None = None

    @property
    def task(self) -> str:
        return CLASSIFICATION if self.classes is not None else REGRESSION

    @property
    def n_classes(self) -> int:
        """The number of classes; 0 for regression."""
        return 0 if self.classes is None else len(self.classes)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        return 0 if self.x_test is None else self.x_test.shape[0]


@dataclass(frozen=True)
class _Synthetic:
    n_train: int
    n_test: int
    x: torch.Tensor  # all rows, train first
    y: torch.Tensor
    true_weight: torch.Tensor
    true_bias: float
    feature_names: list[str]


def _line(g: torch.Generator, n_train: int = 100, n_test: int = 100) -> _Synthetic:
    n = n_train + n_test
    x = torch.randn(n, 1, generator=g)
    y = 3.0 * x + 2.0 + torch.randn(n, 1, generator=g)
    return _Synthetic(n_train, n_test, x, y, torch.tensor([3.0]), 2.0, ["x"])


def _highdim(g: torch.Generator, n_train: int = 20, n_test: int = 100) -> _Synthetic:
    # d2l "weight decay": 200 features, far fewer rows than features.
    n, d = n_train + n_test, 200
    true_w = torch.full((d,), 0.01)
    x = torch.randn(n, d, generator=g)
    y = x @ true_w.unsqueeze(1) + 0.05 + 0.01 * torch.randn(n, 1, generator=g)
    return _Synthetic(n_train, n_test, x, y, true_w, 0.05, [f"x{i}" for i in range(d)])


def _poly(g: torch.Generator, n_train: int = 20, n_test: int = 100) -> _Synthetic:
    # d2l "underfitting and overfitting": a cubic seen through 20 scaled monomials x^k / k!.
    n, degree = n_train + n_test, 20
    true_w = torch.zeros(degree)
    true_w[:3] = torch.tensor([1.2, -3.4, 5.6])
    x = torch.randn(n, 1, generator=g)
    powers = torch.arange(1, degree + 1, dtype=torch.float64)
    feats = (x.double() ** powers) / torch.exp(torch.lgamma(powers + 1))
    y = feats.float() @ true_w.unsqueeze(1) + 5.0 + 0.1 * torch.randn(n, 1, generator=g)
    names = [f"x^{k}/{k}!" for k in range(1, degree + 1)]
    return _Synthetic(n_train, n_test, feats.float(), y, true_w, 5.0, names)


PRESET_BUILDERS = {"line": _line, "highdim": _highdim, "poly": _poly}


def load_dataset(config: RunConfig) -> Dataset:
    """Build the dataset a resolved config describes; raises DataError on bad input."""
    g = torch.Generator().manual_seed(config.seed)
    task = _asked_task(config)
    if config.data is not None:
        table = read_csv(config.data, config.target or "", task)
        fraction = CSV_TEST_FRACTION if config.test_fraction is None else config.test_fraction
        n_test = _test_rows(table.n_rows, fraction)
        split = _split(table, n_test, g, config.data)
        split.name = Path(config.data).name
    else:
        preset = config.preset or "line"
        if preset in PRESET_BUILDERS:
            split = _synthetic_split(preset, config.test_fraction, g)
        elif preset in bundled.BUNDLED:
            table = bundled.BUNDLED[preset]()
            if config.test_fraction is None:
                n_test = table.n_rows - bundled.TRAIN_ROWS[preset]
            else:
                n_test = _test_rows(table.n_rows, config.test_fraction)
            split = _split(table, n_test, g, preset)
        else:
            split = _grokking_split(config.test_fraction, g)
        split.name = preset
    if config.standardize:
        split.standardize()
    return split.dataset()


def _asked_task(config: RunConfig) -> str:
    """A preset's own task, or for a CSV `config.task` as given ("auto" is decided by
    `read_csv` from the target column). Raises DataError when an explicit task contradicts a
    preset."""
    task = config.task
    if config.data is not None:
        return task
    preset = config.preset or "line"
    own = PRESET_TASKS[preset]
    if task == CLASSIFICATION and own == REGRESSION:
        raise DataError(f"--task classification: {preset}'s target is continuous")
    if task == REGRESSION and own == CLASSIFICATION:
        raise DataError(f"--task regression: {preset} is a classification problem")
    return own


@dataclass
class _Split:
    """A dataset under construction: split, not yet scaled."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    feature_names: list[str]
    true_weight: torch.Tensor | None = None
    true_bias: float | None = None
    classes: tuple[str, ...] | None = None

    def standardize(self) -> None:
        """Scale each feature by the training rows' mean and std (a constant one is only
        centred), and map the true weights to the scaled coordinates."""
        mean = self.x_train.mean(dim=0)
        std = self.x_train.std(dim=0, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.x_train = (self.x_train - mean) / std
        self.x_test = None if self.x_test is None else (self.x_test - mean) / std
        if self.true_weight is not None and self.true_bias is not None:
            # y = w·x + b = (w∘σ)·z + (b + w·μ) for z = (x − μ)/σ.
            self.true_bias = float(self.true_bias + (self.true_weight * mean).sum())
            self.true_weight = self.true_weight * std

    def dataset(self) -> Dataset:
        return Dataset(
            name=self.name,
            x_train=self.x_train.contiguous(),
            y_train=self.y_train.contiguous(),
            x_test=None if self.x_test is None else self.x_test.contiguous(),
            y_test=None if self.y_test is None else self.y_test.contiguous(),
            feature_names=self.feature_names,
            true_weight=self.true_weight,
            true_bias=self.true_bias,
            classes=self.classes,
        )


def _split(table: Table, n_test: int, g: torch.Generator, source: str) -> _Split:
    """A real table's split: stratified for classes, at random for a regression target (the
    first rows of a random order train, as ever: saved runs replay on the same rows)."""
    if table.classes is not None:
        train, test = stratified_split(table.y, table.classes, n_test, g, source)
        return _from_indices(table, train, test)
    perm = torch.randperm(table.n_rows, generator=g)
    x, y = table.x[perm], table.y[perm]
    n_train = table.n_rows - n_test
    x_test, y_test = (x[n_train:], y[n_train:]) if n_test else (None, None)
    return _Split("", x[:n_train], y[:n_train], x_test, y_test, table.feature_names)


def _from_indices(table: Table, train: torch.Tensor, test: torch.Tensor) -> _Split:
    has_test = test.numel() > 0
    return _Split(
        "",
        table.x[train],
        table.y[train],
        table.x[test] if has_test else None,
        table.y[test] if has_test else None,
        table.feature_names,
        classes=table.classes,
    )


def _synthetic_split(preset: str, test_fraction: float | None, g: torch.Generator) -> _Split:
    synth = PRESET_BUILDERS[preset](g)
    x, y = synth.x, synth.y
    n_train, n_test = synth.n_train, synth.n_test
    if test_fraction is not None:
        n_test = _test_rows(x.shape[0], test_fraction)
        n_train = x.shape[0] - n_test
    x_test, y_test = (x[n_train:], y[n_train:]) if n_test else (None, None)
    return _Split(
        "",
        x[:n_train],
        y[:n_train],
        x_test,
        y_test,
        synth.feature_names,
        synth.true_weight,
        synth.true_bias,
    )


def _grokking_split(test_fraction: float | None, g: torch.Generator) -> _Split:
    table = grokking.modular_addition()
    if test_fraction is None:
        test_fraction = 1 - grokking.GROKKING_TRAIN_FRACTION
    n_test = _test_rows(table.n_rows, test_fraction)
    train, test = grokking.random_split(table, n_test, g, test_fraction)
    return _from_indices(table, train, test)


def _test_rows(n: int, fraction: float) -> int:
    if fraction == 0:
        return 0
    n_test = max(1, round(n * fraction))
    if n - n_test < 1:
        raise DataError(f"test fraction {fraction} leaves no training rows out of {n}")
    return n_test


def epoch_batches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> list[torch.Tensor] | None:
    """This epoch's minibatch indices (a fresh shuffle), or None for one full batch.

    The sweep calls this with the same generator sequence as a single run, so its members see
    exactly the batches a separate run would.
    """
    if batch_size == 0 or batch_size >= n:
        return None
    perm = torch.randperm(n, generator=generator).to(device)
    return list(perm.split(batch_size))


def true_parameters(config: RunConfig, dataset: Dataset) -> dict[str, list[float]] | None:
    """The generating weights keyed like a linear model's parameters (presets only: a CSV's
    are unknown, an MLP has no such coordinates)."""
    if config.model != "linear" or dataset.true_weight is None or dataset.true_bias is None:
        return None
    return {"weight": dataset.true_weight.tolist(), "bias": [dataset.true_bias]}
