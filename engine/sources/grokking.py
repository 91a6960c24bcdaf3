"""The grokking set: modular addition, (a + b) mod p, on every pair (a, b) of 0..p−1.

Each pair is the one-hot of a followed by the one-hot of b (2p features); its class is the sum.
Trained on a fraction of the pairs, a network fits them long before it generalises to the rest,
and weight decay is what makes it generalise (Power et al. 2022, "Grokking").
"""

from __future__ import annotations

import torch

from engine.config import DataError
from engine.sources.table import Table

GROKKING_P = 37
GROKKING_TRAIN_FRACTION = 0.6  # of the p² pairs; --test-fraction overrides it


def modular_addition(p: int = GROKKING_P) -> Table:
    a = torch.arange(p).repeat_interleave(p)  # pairs in order: (0, 0), (0, 1), …, (p−1, p−1)
    b = torch.arange(p).repeat(p)
    x = torch.cat([torch.nn.functional.one_hot(v, p) for v in (a, b)], dim=1).float()
    names = [f"a={i}" for i in range(p)] + [f"b={i}" for i in range(p)]
    return Table(x, (a + b) % p, names, tuple(str(i) for i in range(p)))


def random_split(
    table: Table, n_test: int, generator: torch.Generator, fraction: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices (train, test): a random `n_test` of the pairs test, the rest train. Raises
    DataError when a sum is left without a training pair (a test share close to 1)."""
    order = torch.randperm(table.n_rows, generator=generator)
    train, test = order[: table.n_rows - n_test], order[table.n_rows - n_test :]
    classes = table.classes or ()
    seen = torch.bincount(table.y[train], minlength=len(classes))
    missing = [classes[c] for c in range(len(classes)) if seen[c] == 0]
    if missing:
        raise DataError(
            f"test fraction {fraction:g} leaves grokking's sum {missing[0]} with no training "
            f"pair ({len(missing)} of {len(classes)} sums have none): lower the test fraction"
        )
    return train, test
