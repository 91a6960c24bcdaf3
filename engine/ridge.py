"""The exact optimum of a linear model under MSE + λ‖w‖²: closed-form ridge regression.

For n training rows, minimising (1/n)‖Xw + b − y‖² + λ‖w‖² with the bias unpenalized is
scikit-learn's `Ridge(alpha=n·λ)`. One SVD of the centred design gives the solution for every λ:
w(λ) = V · diag(s / (s² + nλ)) · Uᵀ(y − ȳ). At λ = 0 that is the minimum-norm least-squares
solution, which is also where gradient descent from w = 0 converges when d > n.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from engine.config import RunConfig
from engine.data import Dataset
from engine.tasks import task_for


class RidgePath:
    def __init__(self, x: torch.Tensor, y: torch.Tensor, decay_bias: bool = False) -> None:
        x64 = x.detach().to("cpu", torch.float64)
        y64 = y.detach().to("cpu", torch.float64).reshape(-1)
        self.n, self.d = x64.shape
        self.decay_bias = decay_bias
        if decay_bias:
            # The bias is one more penalized weight: no centring, a column of ones.
            design, target = torch.cat([x64, torch.ones(self.n, 1, dtype=torch.float64)], 1), y64
            self._x_mean = torch.zeros(self.d, dtype=torch.float64)
            self._y_mean = 0.0
        else:
            self._x_mean, self._y_mean = x64.mean(0), float(y64.mean())
            design, target = x64 - self._x_mean, y64 - self._y_mean
        u, s, vh = torch.linalg.svd(design, full_matrices=False)
        rank_tol = s.max() * max(design.shape) * torch.finfo(torch.float64).eps if s.numel() else 0
        self._s = torch.where(s > rank_tol, s, torch.zeros_like(s))
        self._v = vh.T
        self._u_t_y = u.T @ target

    @property
    def spectrum(self) -> torch.Tensor:
        """The nonzero eigenvalues of the (centred, or bias-augmented) design's DᵀD/n: the
        curvatures of the MSE along the directions the data pin down, largest first."""
        s = self._s[self._s > 0]
        return s * s / self.n

    def solve(self, lam: float) -> tuple[torch.Tensor, float]:
        """(weight of shape (d,), bias) minimising MSE + λ‖w‖², in float64."""
        weights, biases = self.path([lam])
        return weights[0], float(biases[0])

    def path(self, lams: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights (K, d) and biases (K,) for each λ in `lams`."""
        lam = torch.as_tensor(list(lams), dtype=torch.float64).unsqueeze(1)
        s = self._s.unsqueeze(0)
        denom = s * s + self.n * lam
        coef = torch.where(s > 0, s / torch.where(denom > 0, denom, torch.ones_like(denom)), 0.0)
        solution = (coef * self._u_t_y) @ self._v.T  # (K, d or d+1)
        if self.decay_bias:
            return solution[:, :-1], solution[:, -1]
        return solution, self._y_mean - solution @ self._x_mean

    def as_parameters(self, lam: float) -> dict[str, list]:
        """The optimum keyed like a `torch.nn.Linear(d, 1)`'s state_dict, as plain lists."""
        weight, bias = self.solve(lam)
        return {"weight": [weight.tolist()], "bias": [bias]}


def member_optima(
    config: RunConfig, dataset: Dataset, lams: Sequence[float]
) -> tuple[dict[str, Any], ...] | None:
    """The closed-form optimum for each λ, keyed like a linear model's parameters, where
    training converges to it (the task says where); None elsewhere."""
    if not task_for(dataset).has_closed_form(config):
        return None
    path = RidgePath(dataset.x_train, dataset.y_train, config.decay_bias)
    weights, biases = path.path(lams)
    return tuple(
        {"weight": [w.tolist()], "bias": [float(b)]} for w, b in zip(weights, biases, strict=True)
    )
