"""Class labels: their order, the checks a classification target must pass, and the stratified
split that keeps every class among the training rows."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.config import DataError

# More classes than this is a column of IDs or of measurements, not a classification target.
MAX_CLASSES = 1000


def class_order(labels: Sequence[str]) -> tuple[str, ...]:
    """The distinct labels in a fixed order: numerically when all are whole numbers (so "10"
    follows "9"), as text otherwise."""
    distinct = set(labels)
    if all(_is_whole_number(label) for label in distinct):
        return tuple(sorted(distinct, key=lambda label: (int(label), label)))
    return tuple(sorted(distinct))


def encode_labels(labels: Sequence[str], what: str) -> tuple[tuple[str, ...], torch.Tensor]:
    """The classes (`class_order`) and each row's class index, int64 of shape (n,). `what`
    names the target in messages ("d.csv: column 'y'"); raises DataError for one class only
    or more than MAX_CLASSES."""
    distinct = set(labels)
    if len(distinct) > MAX_CLASSES:
        raise DataError(
            f"{what} has {len(distinct):,} classes, more than the {MAX_CLASSES:,} allowed "
            "(is it an ID or a continuous column?)"
        )
    if len(distinct) == 1:
        raise DataError(
            f"{what} has one class only ({labels[0]!r}): classification needs at least 2"
        )
    classes = class_order(labels)
    index = {label: i for i, label in enumerate(classes)}
    return classes, torch.tensor([index[label] for label in labels], dtype=torch.int64)


def stratified_split(
    y: torch.Tensor,
    classes: tuple[str, ...],
    n_test: int,
    generator: torch.Generator,
    source: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices (train, test) for class indices `y`, in a random order drawn from
    `generator`. With `n_test` > 0 every class gets at least one training and one test row,
    and its share of the test rows as close to n_test/n as whole rows allow (largest
    remainders, so the shares add up to n_test unless a class's bounds move them); with
    n_test = 0 every row trains. Raises DataError, naming `source`, for a class of one row."""
    n, k = y.shape[0], len(classes)
    order = torch.randperm(n, generator=generator)
    if n_test == 0:
        return order, order[:0]
    counts = torch.bincount(y, minlength=k)
    single = [classes[c] for c in range(k) if counts[c] == 1]
    if single:
        raise DataError(f"{source}: {_single_rows(single)}")
    test_counts = _apportion(counts.tolist(), n_test)
    # Each row's rank within its class, in the random order: a class's first ranks test.
    y_order = y[order]
    by_class = torch.sort(y_order, stable=True).indices
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(n, dtype=torch.int64)
    rank[by_class] = torch.arange(n) - starts[y_order[by_class]]
    is_test = rank < torch.tensor(test_counts)[y_order]
    return order[~is_test], order[is_test]


def _apportion(counts: list[int], n_test: int) -> list[int]:
    """Each class's test rows: its exact share count·n_test/n rounded down, one more for the
    classes with the largest remainders (ties: the first class), then kept in [1, count − 1]."""
    n = sum(counts)
    shares = [count * n_test for count in counts]  # in units of 1/n
    test = [share // n for share in shares]
    left = n_test - sum(test)
    for c in sorted(range(len(counts)), key=lambda c: (-(shares[c] % n), c))[:left]:
        test[c] += 1
    return [min(max(t, 1), count - 1) for t, count in zip(test, counts, strict=True)]


def _single_rows(labels: list[str]) -> str:
    reason = "a class needs at least 2, one to train on and one to test"
    if len(labels) == 1:
        return f"class {labels[0]!r} has only 1 row: {reason}"
    shown = ", ".join(repr(label) for label in labels[:3])
    more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
    return f"{len(labels)} classes have only 1 row ({shown}{more}): {reason}"


def _is_whole_number(label: str) -> bool:
    try:
        int(label)
    except ValueError:
        return False
    return True
