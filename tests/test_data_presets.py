"""The real-data presets (scikit-learn's bundled digits, cancer, diabetes) and grokking: their
rows, classes, split and scaling, each checked against an independent reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import datasets

from engine.config import RunConfig
from engine.data import DataError, Dataset, load_dataset
from engine.sources.bundled import CANCER_TRAIN_ROWS, DIABETES_TRAIN_ROWS, DIGITS_TRAIN_ROWS
from engine.sources.grokking import GROKKING_P, GROKKING_TRAIN_FRACTION

REAL = ("digits", "cancer", "diabetes", "grokking")


def load(preset: str, **settings: object) -> Dataset:
    return load_dataset(RunConfig(preset=preset, **settings).resolved())  # type: ignore[arg-type]


def all_rows(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    if data.x_test is None or data.y_test is None:
        return data.x_train, data.y_train
    return torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test])


def sorted_rows(x: np.ndarray, labels: list[str] | np.ndarray) -> list[tuple[object, ...]]:
    """The rows as a multiset: order-free, so a permutation compares equal."""
    return sorted((*row, str(label)) for row, label in zip(x.tolist(), labels, strict=True))


def test_digits_are_scikit_learns_images_with_a_small_training_split() -> None:
    data = load("digits", standardize=False)
    assert (data.n_train, data.n_test, data.n_features) == (DIGITS_TRAIN_ROWS, 1797 - 300, 64)
    assert data.classes == tuple(str(d) for d in range(10))
    assert (data.task, data.n_classes) == ("classification", 10)
    assert data.feature_names[:3] == ["px0_0", "px0_1", "px0_2"]
    assert data.feature_names[8] == "px1_0" and data.feature_names[-1] == "px7_7"
    assert data.y_train.dtype == torch.int64 and data.y_train.shape == (300,)
    reference = datasets.load_digits()
    x, y = all_rows(data)
    # class index d is the digit d, and feature px{row}_{col} is the image's pixel [row, col]
    pixels = [reference.images[:, int(name[2]), int(name[4])] for name in data.feature_names]
    assert sorted_rows(x.numpy(), [data.classes[i] for i in y]) == sorted_rows(
        np.stack(pixels, axis=1).astype(np.float32), [str(t) for t in reference.target]
    )


def test_cancer_labels_come_from_the_datasets_target_names_in_text_order() -> None:
    data = load("cancer", standardize=False)
    assert (data.n_train, data.n_test, data.n_features) == (CANCER_TRAIN_ROWS, 469, 30)
    assert data.classes == ("benign", "malignant")  # sorted as text: malignant is index 1
    reference = datasets.load_breast_cancer()
    assert data.feature_names == list(reference.feature_names)
    x, y = all_rows(data)
    labels = [data.classes[i] for i in y]
    assert labels.count("malignant") == 212 and labels.count("benign") == 357
    assert sorted_rows(x.numpy(), labels) == sorted_rows(
        reference.data.astype(np.float32), reference.target_names[reference.target]
    )


def test_diabetes_is_a_regression_on_the_measurements_in_their_units() -> None:
    data = load("diabetes", standardize=False)
    assert (data.n_train, data.n_test, data.n_features) == (DIABETES_TRAIN_ROWS, 342, 10)
    assert data.classes is None and (data.task, data.n_classes) == ("regression", 0)
    assert data.y_train.dtype == torch.float32 and data.y_train.shape == (100, 1)
    reference = datasets.load_diabetes(scaled=False)
    assert data.feature_names == list(reference.feature_names)
    x, y = all_rows(data)
    assert sorted_rows(x.numpy(), y.ravel().tolist()) == sorted_rows(
        reference.data.astype(np.float32), reference.target.astype(np.float32).tolist()
    )
    assert data.true_weight is None and data.true_bias is None


def test_grokking_is_every_pair_once_with_its_sum_mod_p() -> None:
    p = GROKKING_P
    data = load("grokking", standardize=False)
    assert data.n_train + data.n_test == p * p and data.n_features == 2 * p
    assert data.n_test == round(p * p * (1 - GROKKING_TRAIN_FRACTION))
    assert data.classes == tuple(str(c) for c in range(p))
    assert data.feature_names[0] == "a=0" and data.feature_names[p] == "b=0"
    x, y = all_rows(data)
    assert x.dtype == torch.float32 and set(x.unique().tolist()) == {0.0, 1.0}
    a_part, b_part = x[:, :p], x[:, p:]
    assert (a_part.sum(1) == 1).all() and (b_part.sum(1) == 1).all()  # one one-hot each
    a, b = a_part.argmax(1), b_part.argmax(1)
    assert torch.equal(y, (a + b) % p)
    assert sorted((a * p + b).tolist()) == list(range(p * p))  # every pair, once
    assert set(data.y_train.tolist()) == set(range(p))  # every sum among the training pairs


def test_grokkings_test_fraction_overrides_its_split() -> None:
    p = GROKKING_P
    data = load("grokking", test_fraction=0.3)
    assert data.n_test == round(p * p * 0.3) and data.n_train == p * p - data.n_test


def test_a_grokking_split_that_leaves_a_sum_untrained_is_one_clear_line() -> None:
    with pytest.raises(DataError) as info:
        load("grokking", test_fraction=0.99)
    message = str(info.value)
    assert message.startswith("test fraction 0.99 leaves grokking's sum ")
    assert message.endswith(f" of {GROKKING_P} sums have none): lower the test fraction")


@pytest.mark.parametrize("preset", REAL)
def test_real_presets_are_deterministic_per_seed(preset: str) -> None:
    a, b, c = load(preset), load(preset), load(preset, seed=1)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.y_train, c.y_train) or not torch.equal(a.x_train, c.x_train)
    assert (a.n_train, a.n_test) == (c.n_train, c.n_test)


@pytest.mark.parametrize(
    ("preset", "test_fraction"),
    [("digits", None), ("digits", 0.5), ("cancer", None), ("cancer", 0.2)],
)
def test_the_classification_presets_split_every_class_by_the_same_share(
    preset: str, test_fraction: float | None
) -> None:
    data = load(preset, test_fraction=test_fraction)
    assert data.y_test is not None
    train = torch.bincount(data.y_train, minlength=data.n_classes)
    test = torch.bincount(data.y_test, minlength=data.n_classes)
    n = data.n_train + data.n_test
    share = data.n_test / n
    assert (train >= 1).all() and (test >= 1).all()
    exact = (train + test) * share
    assert ((test - exact).abs() < 1).all()  # each class: its exact share, rounded
    if test_fraction is not None:
        assert data.n_test == round(n * test_fraction)


def test_no_test_fraction_trains_on_every_row() -> None:
    data = load("digits", test_fraction=0.0)
    assert (data.n_train, data.n_test, data.x_test, data.y_test) == (1797, 0, None, None)


@pytest.mark.parametrize("preset", ["digits", "cancer", "diabetes"])
def test_standardizing_uses_the_training_rows_statistics(preset: str) -> None:
    raw = load(preset, standardize=False)
    scaled = load(preset, standardize=True)
    assert raw.x_test is not None and scaled.x_test is not None
    mean = raw.x_train.double().mean(0)
    std = raw.x_train.double().std(0, unbiased=False)
    varying = std > 0
    assert scaled.x_train.double().mean(0).abs().max() < 1e-5
    assert torch.allclose(
        scaled.x_train.double().std(0, unbiased=False)[varying],
        torch.ones(int(varying.sum()), dtype=torch.float64),
        atol=1e-5,
    )
    assert (scaled.x_train[:, ~varying] == 0).all()  # a constant pixel is only centred
    expected = (raw.x_test.double() - mean) / torch.where(varying, std, torch.ones_like(std))
    torch.testing.assert_close(scaled.x_test.double(), expected, rtol=1e-5, atol=1e-4)
    assert torch.equal(scaled.y_train, raw.y_train)  # the target is never scaled


@pytest.mark.parametrize(
    ("preset", "task", "message"),
    [
        ("diabetes", "classification", "--task classification: diabetes's target is continuous"),
        ("line", "classification", "--task classification: line's target is continuous"),
        ("digits", "regression", "--task regression: digits is a classification problem"),
        ("grokking", "regression", "--task regression: grokking is a classification problem"),
    ],
)
def test_a_task_that_contradicts_the_preset_is_one_clear_line(
    preset: str, task: str, message: str
) -> None:
    with pytest.raises(DataError) as info:
        load(preset, task=task)
    assert str(info.value) == message


@pytest.mark.parametrize("preset", REAL)
def test_each_preset_takes_its_own_task_explicitly_too(preset: str) -> None:
    own = load(preset)
    assert torch.equal(load(preset, task=own.task).y_train, own.y_train)
