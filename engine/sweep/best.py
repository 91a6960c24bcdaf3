"""Which λ of a sweep is best: one rule, its name and its words, for the sweep's result, the
`wdtui sweep` table and any view that ranks the members while they train.

- Regression: the lowest final test loss.
- Classification: the highest final test accuracy. Accuracy moves in steps of one row, so equal
  accuracies are common (two λ that classify the same rows); the tie goes to the lower test
  loss, which still tells the members apart: the one more confident where it is right.
- Without a test split, the train split's, by the same rule.

Members that diverged, or were never measured, are not candidates; among exact ties the first
λ in sweep order wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# What `best_by` can say (SweepFinished, its JSON), and the words the table prints.
BEST_BY_WORDS = {
    "test_accuracy": "highest final test accuracy, a tie going to the lower test loss",
    "train_accuracy": "highest final train accuracy, a tie going to the lower train loss",
    "test_loss": "lowest final test loss",
    "train_loss": "lowest final train loss",
}


def best_by(classification: bool, has_test: bool) -> str:
    """The name of the rule a sweep's best λ follows: a key of BEST_BY_WORDS."""
    split = "test" if has_test else "train"
    return f"{split}_{'accuracy' if classification else 'loss'}"


def choose_best(
    lams: Sequence[float],
    candidates: Sequence[bool],
    losses: Sequence[float | None],
    accuracies: Sequence[float | None] | None,
) -> float | None:
    """The best λ among the `candidates` (members that did not diverge), by `losses` (the
    scored split's: test, or train without a test split) and, for classification, that split's
    `accuracies` first; None when no candidate has a finite loss. All in the order of `lams`."""
    best: tuple[tuple[float, ...], float] | None = None
    scores = accuracies if accuracies is not None else [None] * len(lams)
    for lam, candidate, loss, accuracy in zip(lams, candidates, losses, scores, strict=True):
        if not candidate or loss is None or not math.isfinite(loss):
            continue
        if accuracies is None:
            key: tuple[float, ...] = (loss,)
        elif accuracy is None or not math.isfinite(accuracy):
            continue
        else:
            key = (-accuracy, loss)
        if best is None or key < best[0]:
            best = (key, lam)
    return None if best is None else best[1]


def choose_by(
    rule: str,
    lams: Sequence[float],
    candidates: Sequence[bool],
    train_loss: Sequence[float | None],
    test_loss: Sequence[float | None],
    train_accuracy: Sequence[float | None],
    test_accuracy: Sequence[float | None],
) -> float | None:
    """`choose_best` on the split and the measure that `rule` (a key of BEST_BY_WORDS) names,
    from every member's numbers: each list in the order of `lams`."""
    on_test = rule.startswith("test")
    accuracies = test_accuracy if on_test else train_accuracy
    return choose_best(
        lams,
        candidates,
        test_loss if on_test else train_loss,
        accuracies if rule.endswith("accuracy") else None,
    )
