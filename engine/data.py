"""Datasets: the built-in presets, numeric CSV files, the train/test split and scaling.

Everything is deterministic for a given seed and lives on the CPU until the trainer moves it to
its device, once.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import CSV_TEST_FRACTION, DataError, RunConfig

__all__ = [
    "DataError",
    "Dataset",
    "column_list",
    "epoch_batches",
    "load_dataset",
    "read_csv",
    "true_parameters",
]

COLUMNS_SHOWN = 5  # a message lists this many columns of a wide file, then a count
COLUMN_NAME_SHOWN = 40  # characters of one column's name in such a list


@dataclass
class Dataset:
    name: str
    x_train: torch.Tensor  # (n_train, d) float32
    y_train: torch.Tensor  # (n_train, 1)
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    feature_names: list[str]
    # The generating weights, expressed in the model's (standardized) coordinates.
    true_weight: torch.Tensor | None = None  # (d,)
    true_bias: float | None = None

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
    if config.data is not None:
        x, y, names = read_csv(config.data, config.target or "")
        perm = torch.randperm(x.shape[0], generator=g)
        x, y = x[perm], y[perm]
        n_test = _test_rows(
            x.shape[0], CSV_TEST_FRACTION if config.test_fraction is None else config.test_fraction
        )
        n_train = x.shape[0] - n_test
        true_w, true_b, name = None, None, Path(config.data).name
    else:
        synth = PRESET_BUILDERS[config.preset or "line"](g)
        x, y, names = synth.x, synth.y, synth.feature_names
        n_train, n_test = synth.n_train, synth.n_test
        if config.test_fraction is not None:
            n_test = _test_rows(x.shape[0], config.test_fraction)
            n_train = x.shape[0] - n_test
        true_w, true_b, name = synth.true_weight, synth.true_bias, str(config.preset)

    x_train, y_train = x[:n_train], y[:n_train]
    x_test, y_test = (x[n_train:], y[n_train:]) if n_test else (None, None)
    if config.standardize:
        mean = x_train.mean(dim=0)
        std = x_train.std(dim=0, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        x_train = (x_train - mean) / std
        x_test = None if x_test is None else (x_test - mean) / std
        if true_w is not None and true_b is not None:
            # y = w·x + b = (w∘σ)·z + (b + w·μ) for z = (x − μ)/σ.
            true_b = float(true_b + (true_w * mean).sum())
            true_w = true_w * std
    return Dataset(
        name=name,
        x_train=x_train.contiguous(),
        y_train=y_train.contiguous(),
        x_test=None if x_test is None else x_test.contiguous(),
        y_test=None if y_test is None else y_test.contiguous(),
        feature_names=names,
        true_weight=true_w,
        true_bias=true_b,
    )


def _test_rows(n: int, fraction: float) -> int:
    if fraction == 0:
        return 0
    n_test = max(1, round(n * fraction))
    if n - n_test < 1:
        raise DataError(f"test fraction {fraction} leaves no training rows out of {n}")
    return n_test


def read_csv(path: str, target: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read a numeric CSV with a header row; `target` may be any column."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {path}")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise DataError(f"{path} is empty")
    header = [name.strip() for name in rows[0]]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(
                f"{path} has two columns named {name!r}: rename one (each column must have "
                "its own name)"
            )
        seen.add(name)
    if target not in header:
        raise DataError(f"{path} has no column {target!r}; {column_list(header)}")
    if len(header) < 2:
        raise DataError(f"{path} needs at least one feature column besides {target!r}")
    if len(rows) < 3:
        raise DataError(f"{path} needs at least 2 data rows, found {len(rows) - 1}")
    values: list[list[float]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path} line {line_no}: {len(row)} cells where the header has {len(header)}"
            )
        parsed = []
        for name, cell in zip(header, row, strict=True):
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"{path} line {line_no}, column {name!r}: {cell.strip()!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise DataError(
                    f"{path} line {line_no}, column {name!r}: {cell.strip()!r} is not finite"
                )
            parsed.append(value)
        values.append(parsed)
    table = torch.tensor(values, dtype=torch.float32)
    if not torch.isfinite(table).all():  # finite as a Python float, beyond float32's range
        row, col = (~torch.isfinite(table)).nonzero()[0].tolist()
        raise DataError(
            f"{path} line {row + 2}, column {header[col]!r}: {rows[row + 1][col].strip()!r} "
            "is too large for float32"
        )
    t = header.index(target)
    features = [i for i in range(len(header)) if i != t]
    return table[:, features], table[:, t : t + 1], [header[i] for i in features]


def column_list(header: list[str]) -> str:
    """'the file has 3 columns: 'a', 'b', 'y'', shortened for a wide file to a few and a count:
    one line of a readable length, whatever the file."""

    def shown(name: str) -> str:
        if len(name) > COLUMN_NAME_SHOWN:
            name = name[: COLUMN_NAME_SHOWN - 1] + "…"
        return repr(name)

    n = len(header)
    noun = "column" if n == 1 else "columns"
    if n <= COLUMNS_SHOWN + 1:  # "… (and 1 more)" would be no shorter than the name
        return f"the file has {n} {noun}: {', '.join(shown(h) for h in header)}"
    first = ", ".join(shown(h) for h in header[:COLUMNS_SHOWN])
    return f"the file has {n} columns: {first}, … (and {n - COLUMNS_SHOWN} more)"


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
