"""scikit-learn's bundled datasets, read from the files installed with it (nothing is
downloaded): `digits`, `cancer` (breast cancer Wisconsin) and `diabetes`.

Each preset trains on a small share of its rows by default, so that a model can overfit and
λ visibly helps (figures in the README's Presets section); the rest are test rows.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from engine.config import DataError
from engine.sources.labels import encode_labels
from engine.sources.table import Table

DIGITS_TRAIN_ROWS = 300  # of 1,797
CANCER_TRAIN_ROWS = 100  # of 569
DIABETES_TRAIN_ROWS = 100  # of 442


@functools.cache
def digits() -> Table:
    """1,797 8×8 images of the digits 0–9, one feature per pixel (0–16), row by row."""
    data = _datasets("digits").load_digits()
    names = [f"px{row}_{col}" for row in range(8) for col in range(8)]
    classes, y = encode_labels([str(int(t)) for t in data.target], "digits")
    return Table(torch.tensor(data.data, dtype=torch.float32), y, names, classes)


@functools.cache
def cancer() -> Table:
    """569 tumours, 30 measurements each, labelled "malignant" or "benign"."""
    data = _datasets("cancer").load_breast_cancer()
    labels = [str(data.target_names[t]) for t in data.target]
    classes, y = encode_labels(labels, "cancer")
    names = [str(name) for name in data.feature_names]
    return Table(torch.tensor(data.data, dtype=torch.float32), y, names, classes)


@functools.cache
def diabetes() -> Table:
    """442 patients, 10 measurements in their own units (scikit-learn's `scaled=False`), and
    a measure of the disease's progression a year later."""
    data = _datasets("diabetes").load_diabetes(scaled=False)
    x = torch.tensor(data.data, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.float32).unsqueeze(1)
    return Table(x, y, [str(name) for name in data.feature_names])


BUNDLED = {"digits": digits, "cancer": cancer, "diabetes": diabetes}
TRAIN_ROWS = {
    "digits": DIGITS_TRAIN_ROWS,
    "cancer": CANCER_TRAIN_ROWS,
    "diabetes": DIABETES_TRAIN_ROWS,
}


def _datasets(preset: str) -> Any:
    try:
        import sklearn.datasets  # a second or so: imported only when one of these is asked for
    except ImportError:
        raise DataError(
            f"the {preset} preset reads scikit-learn's copy of it: install scikit-learn"
        ) from None
    return sklearn.datasets
