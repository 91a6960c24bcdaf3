"""Freezing diverged sweep members: their parameters and optimizer state stop changing.

A diverged member keeps taking part in the batched forward and backward (skipping it would mean
re-packing the stacked tensors), and its NaNs stay in its own slice: every op is per member.
What must not happen is that it keeps moving: momentum or Adam's moments would change its
weights even with a zero gradient, and a mask multiply would not help (NaN·0 = NaN). So its
slices are saved when it is frozen and written back, by index, after every optimizer step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class FrozenMembers:
    def __init__(self, params: Sequence[torch.Tensor], optimizer: torch.optim.Optimizer) -> None:
        self._params = list(params)
        self._optimizer = optimizer
        self._members: list[int] = []
        self._index: torch.Tensor | None = None
        # (tensor owner, state key or None for the parameter itself, saved rows)
        self._saved: list[tuple[torch.Tensor, str | None, torch.Tensor]] = []

    def _slices(self) -> list[tuple[torch.Tensor, str | None, torch.Tensor]]:
        """Every stacked tensor a step may change: parameters and per-member optimizer state."""
        k = self._params[0].shape[0]
        out: list[tuple[torch.Tensor, str | None, torch.Tensor]] = []
        for p in self._params:
            out.append((p, None, p))
            for key, value in self._optimizer.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == k:
                    out.append((p, key, value))
        return out

    @torch.no_grad()
    def freeze(self, members: Sequence[int]) -> None:
        """Keep these members' current values from now on."""
        self._members = sorted(set(self._members) | set(members))
        device = self._params[0].device
        self._index = torch.tensor(self._members, dtype=torch.long, device=device)
        self._saved = [
            (p, key, tensor.index_select(0, self._index).clone())
            for p, key, tensor in self._slices()
        ]

    @torch.no_grad()
    def restore(self) -> None:
        """Write the frozen members' saved values back (after an optimizer step)."""
        if self._index is None:
            return
        for p, key, saved in self._saved:
            # Look the state tensor up again: an optimizer may have replaced it (SGD creates its
            # momentum buffer on the first step).
            tensor = p if key is None else self._optimizer.state[p][key]
            tensor.index_copy_(0, self._index, saved)
