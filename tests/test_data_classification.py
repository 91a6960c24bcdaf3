"""A CSV's target read as class labels: which task a file gets, the classes' order, the
stratified split, and each bad input as one line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from engine.config import RunConfig
from engine.data import DataError, Dataset, load_dataset
from engine.sources.labels import MAX_CLASSES, stratified_split


def write_csv(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def load(csv: str, **settings: object) -> Dataset:
    config = RunConfig(data=csv, target="y", **settings)  # type: ignore[arg-type]
    return load_dataset(config.resolved())


def labels_of(data: Dataset, y: torch.Tensor | None) -> list[str]:
    assert data.classes is not None and y is not None
    return [data.classes[i] for i in y.tolist()]


def pets(tmp_path: Path) -> str:
    """30 rows: a feature that gives the class away, and 3 text labels (15, 10, 5 rows)."""
    names = ["dog"] * 15 + ["cat"] * 10 + ["emu"] * 5
    code = {"cat": 0, "dog": 1, "emu": 2}
    rows = [f"{code[n]}.5,{i},{n}" for i, n in enumerate(names)]
    return write_csv(tmp_path / "pets.csv", ["a,b,y", *rows])


def test_a_text_target_is_classification_with_classes_in_text_order(tmp_path) -> None:
    data = load(pets(tmp_path))
    assert (data.task, data.classes, data.n_classes) == ("classification", ("cat", "dog", "emu"), 3)
    assert data.feature_names == ["a", "b"]
    assert data.y_train.dtype == torch.int64 and data.y_train.ndim == 1
    assert (data.n_train, data.n_test) == (24, 6)  # the CSV's 0.2 test share
    # each row keeps its own label: feature a is 0.5 for cats, 1.5 for dogs, 2.5 for emus
    # (standardized by default, so read the order back from the unscaled run)
    raw = load(pets(tmp_path), standardize=False)
    assert raw.x_test is not None
    for x, y in ((raw.x_train, raw.y_train), (raw.x_test, raw.y_test)):
        assert labels_of(raw, y) == [("cat", "dog", "emu")[int(a)] for a in x[:, 0].tolist()]
    # stratified: 20% of each class tests (3 of 15, 2 of 10, 1 of 5)
    assert sorted(labels_of(data, data.y_test)) == ["cat", "cat", "dog", "dog", "dog", "emu"]
    assert data.x_train.mean(0).abs().max() < 1e-6  # standardized, as any CSV


def test_the_split_is_deterministic_per_seed_and_differs_across_seeds(tmp_path) -> None:
    csv = pets(tmp_path)
    a, b, c = load(csv), load(csv), load(csv, seed=1)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_test, c.x_test)
    assert sorted(labels_of(a, a.y_test)) == sorted(labels_of(c, c.y_test))  # same shares


def test_whole_number_labels_are_a_regression_target_unless_asked(tmp_path) -> None:
    rows = [f"{i},{label}" for i, label in enumerate(["10", "2", "2.0", "1", "10", "1"])]
    csv = write_csv(tmp_path / "ints.csv", ["a,y", *rows])
    auto = load(csv)
    assert auto.classes is None and auto.y_train.shape == (auto.n_train, 1)
    data = load(csv, task="classification", test_fraction=0.0)
    assert data.classes == ("1", "2", "10")  # numerically, "2.0" is "2"
    raw = load(csv, task="classification", test_fraction=0.0, standardize=False)
    by_row = {
        int(a): label
        for a, label in zip(raw.x_train[:, 0].tolist(), labels_of(raw, raw.y_train), strict=True)
    }
    assert by_row == {0: "10", 1: "2", 2: "2", 3: "1", 4: "10", 5: "1"}


def test_a_regression_task_keeps_a_text_target_an_error(tmp_path) -> None:
    csv = write_csv(tmp_path / "t.csv", ["a,y", "1,2", "3,x", "4,x", "5,2"])
    assert load(csv).classes == ("2", "x")  # auto: any text makes it labels
    with pytest.raises(DataError) as info:
        load(csv, task="regression")
    assert str(info.value) == f"{csv} line 3, column 'y': 'x' is not a number"


def test_features_must_stay_numbers_whatever_the_target(tmp_path) -> None:
    csv = write_csv(tmp_path / "f.csv", ["a,y", "1,cat", "oops,dog", "2,cat", "3,dog"])
    with pytest.raises(DataError) as info:
        load(csv)
    assert str(info.value) == f"{csv} line 3, column 'a': 'oops' is not a number"
    big = write_csv(tmp_path / "g.csv", ["y,a", "cat,1", "dog,2", "cat,1e39", "dog,3"])
    with pytest.raises(DataError) as info:
        load(big)
    assert str(info.value) == f"{big} line 4, column 'a': '1e39' is too large for float32"


def bad(tmp_path: Path, labels: list[str], **settings: object) -> str:
    csv = write_csv(
        tmp_path / "bad.csv", ["a,y", *[f"{i},{label}" for i, label in enumerate(labels)]]
    )
    with pytest.raises(DataError) as info:
        load(csv, **settings)
    message = str(info.value)
    assert "\n" not in message
    return message.replace(csv, "FILE")


def test_a_continuous_target_is_not_a_classification(tmp_path) -> None:
    assert bad(tmp_path, ["1", "2", "2.5", "3"], task="classification") == (
        "--task classification: FILE's column 'y' is continuous (line 4: '2.5' is not a whole "
        "number); class labels are text or whole numbers"
    )


def test_a_class_of_one_row_is_one_clear_line(tmp_path) -> None:
    assert bad(tmp_path, ["a", "a", "b", "b", "x"]) == (
        "FILE: class 'x' has only 1 row: a class needs at least 2, one to train on and one to test"
    )
    assert bad(tmp_path, ["a", "a", "p", "q", "r", "s", "t"]) == (
        "FILE: 5 classes have only 1 row ('p', 'q', 'r' and 2 more): a class needs at least 2, "
        "one to train on and one to test"
    )


def test_a_class_of_one_row_trains_when_nothing_is_held_out(tmp_path) -> None:
    csv = write_csv(tmp_path / "one.csv", ["a,y", "1,a", "2,a", "3,x"])
    data = load(csv, test_fraction=0.0)
    assert data.n_train == 3 and sorted(labels_of(data, data.y_train)) == ["a", "a", "x"]


def test_one_class_only_is_one_clear_line(tmp_path) -> None:
    assert bad(tmp_path, ["cat"] * 4) == (
        "FILE: column 'y' has one class only ('cat'): classification needs at least 2"
    )
    assert bad(tmp_path, ["7"] * 4, task="classification") == (
        "FILE: column 'y' has one class only ('7'): classification needs at least 2"
    )


def test_more_than_a_thousand_classes_is_one_clear_line(tmp_path) -> None:
    labels = [f"id{i}" for i in range(MAX_CLASSES + 1)]
    assert bad(tmp_path, labels) == (
        "FILE: column 'y' has 1,001 classes, more than the 1,000 allowed (is it an ID or a "
        "continuous column?)"
    )


def test_an_empty_label_is_one_clear_line(tmp_path) -> None:
    assert bad(tmp_path, ["cat", "dog", " ", "cat"]) == (
        "FILE line 4, column 'y': no class label (the cell is empty)"
    )


@pytest.mark.parametrize("seed", range(20))
def test_a_stratified_split_gives_each_class_its_share_rounded(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    k = int(torch.randint(2, 12, (1,), generator=g))
    counts = torch.randint(2, 60, (k,), generator=g)
    y = torch.repeat_interleave(torch.arange(k), counts)[
        torch.randperm(int(counts.sum()), generator=g)
    ]
    n = y.shape[0]
    n_test = int(torch.randint(k, n - k + 1, (1,), generator=g))
    classes = tuple(f"c{c}" for c in range(k))
    train, test = stratified_split(y, classes, n_test, torch.Generator().manual_seed(seed), "src")
    assert sorted(torch.cat([train, test]).tolist()) == list(range(n))  # each row once
    train_counts = torch.bincount(y[train], minlength=k)
    test_counts = torch.bincount(y[test], minlength=k)
    for c in range(k):
        exact = int(counts[c]) * n_test / n
        bounds = {
            min(max(math.floor(exact), 1), int(counts[c]) - 1),
            min(max(math.ceil(exact), 1), int(counts[c]) - 1),
        }
        assert int(test_counts[c]) in bounds
        assert train_counts[c] >= 1
    within_bounds = [
        math.floor(int(c) * n_test / n) >= 1 and math.ceil(int(c) * n_test / n) <= int(c) - 1
        for c in counts
    ]
    if all(within_bounds):
        assert test.numel() == n_test  # no class at a bound: the shares add up exactly
    again = stratified_split(y, classes, n_test, torch.Generator().manual_seed(seed), "src")
    assert torch.equal(again[0], train) and torch.equal(again[1], test)
