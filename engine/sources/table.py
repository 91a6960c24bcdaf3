"""All the rows of a problem, before the split."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Table:
    x: torch.Tensor  # (n, d) float32
    # Regression: (n, 1) float32. Classification: (n,) int64, each row's index into `classes`.
    y: torch.Tensor
    feature_names: list[str]
    classes: tuple[str, ...] | None = None  # None: regression

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]
