"""Early stopping walks the ridge path: gradient descent at step t sits close to ridge at
λ_t = 1/(2·lr·t) (Ali, Kolter and Tibshirani, 2019, for gradient flow).

Why that λ, on this project's scale (objective = MSE + λ‖w‖², MSE the mean over n rows): in an
eigen-direction of XᵀX/n with eigenvalue s, full-batch GD from w = 0 reaches the fraction
1 − (1 − 2·lr·s)^t ≈ 1 − exp(−2·lr·s·t) of the least-squares solution, ridge reaches s/(s + λ).
Both are ≈ 2·lr·s·t for small s (the 2 is MSE's gradient, 2/n·Xᵀ(Xw − y)) when λ = 1/(2·lr·t),
and both tend to 1 for large s; in between GD's fraction is 1 to 1.30 times ridge's, in every
direction at once, so ‖w_t − w*(λ_t)‖ ≤ 0.30·‖w*(λ_t)‖ for gradient flow (a step of 2·lr·s
adds a little: 0.31 on `highdim`). At λ = 1/(lr·t) GD's fraction is 1 to 2 times ridge's, at
λ = 1/(4·lr·t) 0.5 to 1.11 times: each is off by a factor 2 in the directions GD has barely
started along. With lr changed along the way, lr·t is the sum of the steps' lr.

Which ridge path: GD trains the bias from 0 like one more weight, so the path it walks is
ridge with the bias penalized too (`RidgePath(..., decay_bias=True)`), whatever `--decay-bias`
says (the walk is for a run at λ = 0, where that setting changes nothing). With more
parameters than rows (`highdim`, `poly`) the two paths end at different least-squares
solutions: measured on `highdim` (benchmarks/ridge_walk.py), GD after 10,000 steps is 0.002
from the bias-penalized path at λ_t and 0.66 from the other one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from engine.config import RunConfig
from engine.data import Dataset
from engine.events import Epoch
from engine.ridge import RidgePath

GRID_POINTS = 61  # the ridge curve's λ values: a smooth line at 200 columns, in 0.5 ms


def lam_at_step(lr: float, steps: int) -> float:
    """The ridge λ that GD at a constant lr matches after `steps` steps: 1/(2·lr·t); inf
    before any step."""
    return lam_at_lr_time(lr * steps)


def lam_at_lr_time(lr_time: float) -> float:
    """1/(2·Σ lr) over the steps taken: λ_t when lr has changed along the way. inf at 0."""
    if lr_time <= 0:
        return math.inf
    return 1.0 / (2.0 * lr_time)


def walk_path(x: torch.Tensor, y: torch.Tensor) -> RidgePath:
    """The ridge path GD from zero walks along: the bias penalized like a weight (see above)."""
    return RidgePath(x, y, decay_bias=True)


def walk_caveat(config: RunConfig, steps_per_epoch: int = 1, regression: bool = True) -> str | None:
    """Why this run's trajectory is not the walk the claim describes (one line), or None when
    it is: a linear regression trained by full-batch (one step an epoch), momentum-free SGD
    from w = 0 at λ = 0. `regression` is False for a classifier (`Started.classes` set)."""
    if config.model != "linear" or config.norm != "none":
        return "the walk is for a linear model"
    if not regression:
        return "the walk is for least squares: a classifier has no ridge path"
    if config.optimizer != "sgd" or config.momentum != 0:
        return "the walk is for plain gradient descent (sgd, no momentum)"
    if config.lam or any(change.key == "lam" and change.value for change in config.schedule):
        return "the walk is for a run at λ = 0: here the penalty shrinks the weights too"
    if steps_per_epoch > 1:
        return "minibatches: SGD follows the walk only roughly (full batch: --batch-size 0)"
    if config.init != "zeros":
        return "the walk starts at w = 0 (--init zeros); this run starts elsewhere"
    return None


@dataclass(frozen=True)
class WalkPoint:
    """Where one epoch of the run sits on the walk: its λ_t and what the curve plots."""

    epoch: int
    steps: int  # optimizer steps taken so far
    lam: float  # λ_t = 1/(2·Σ lr)
    weight_sq_norm: float
    test_loss: float | None


class WalkClock:
    """Turns a run's epochs, in order, into walk points: it adds up each epoch's lr × steps.

    An lr changed inside an epoch is counted from that epoch's end (its `lr`); a full-batch
    run has one step per epoch, so there it is exact."""

    def __init__(self, steps_per_epoch: int) -> None:
        self.steps_per_epoch = steps_per_epoch
        self.lr_time = 0.0
        self.epoch = 0

    def point(self, epoch: Epoch) -> WalkPoint:
        """The walk point of the next epoch; epochs must come once each, in order."""
        if epoch.epoch != self.epoch + 1:
            raise ValueError(f"epoch {epoch.epoch} after epoch {self.epoch}: one each, in order")
        self.epoch = epoch.epoch
        self.lr_time += epoch.lr * self.steps_per_epoch
        return WalkPoint(
            epoch=epoch.epoch,
            steps=epoch.epoch * self.steps_per_epoch,
            lam=lam_at_lr_time(self.lr_time),
            weight_sq_norm=epoch.weight_sq_norm,
            test_loss=epoch.test_loss,
        )


def walk_lams(lr: float, steps: int, points: int = GRID_POINTS) -> tuple[float, ...]:
    """A log grid of λ, largest first, covering the walk from step 1 to `steps` (λ_1 = 1/(2·lr)
    down to λ_steps) and a decade beyond each end, so the run's points land inside it."""
    high = lam_at_step(lr, 1) * 10
    low = lam_at_step(lr, max(steps, 1)) / 10
    if points < 2:
        return (high,)
    ratio = math.log(low / high) / (points - 1)
    return tuple(high * math.exp(k * ratio) for k in range(points))


@dataclass(frozen=True)
class RidgeCurve:
    """The ridge path as the walk's view draws it: per λ (largest first), the optimum's Σ‖w‖²
    (the same quantity an epoch's `weight_sq_norm` is) and its test loss (None without test
    rows). Plain floats, computed once per run."""

    lams: tuple[float, ...]
    weight_sq_norms: tuple[float, ...]
    test_losses: tuple[float, ...] | None


def ridge_curve(
    path: RidgePath,
    lams: Sequence[float],
    x_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    include_bias: bool = False,
) -> RidgeCurve:
    """`path`'s optimum at each λ: Σ‖w‖² (plus the bias², with `include_bias`, as a run with
    --decay-bias counts it) and the test MSE, in float64, in one batched product."""
    weights, biases = path.path(lams)
    sq_norms = (weights * weights).sum(1)
    if include_bias:
        sq_norms = sq_norms + biases * biases
    test_losses = None
    if x_test is not None and y_test is not None and x_test.shape[0] > 0:
        x64 = x_test.detach().to("cpu", torch.float64)
        y64 = y_test.detach().to("cpu", torch.float64).reshape(1, -1)
        predictions = weights @ x64.T + biases.unsqueeze(1)  # (K, rows)
        test_losses = tuple((predictions - y64).pow(2).mean(1).tolist())
    return RidgeCurve(tuple(float(lam) for lam in lams), tuple(sq_norms.tolist()), test_losses)


def walk_curve(
    dataset: Dataset, lr: float, steps: int, include_bias: bool = False, points: int = GRID_POINTS
) -> RidgeCurve:
    """What the walk's view draws the run's points against, once per run: the path GD walks
    (`walk_path`) over `walk_lams(lr, steps)`, with the test loss where there are test rows.
    `steps` is the run's whole length in optimizer steps; `include_bias` is the run's
    --decay-bias, so Σ‖w‖² counts what the run's `weight_sq_norm` counts."""
    path = walk_path(dataset.x_train, dataset.y_train)
    lams = walk_lams(lr, steps, points)
    return ridge_curve(path, lams, dataset.x_test, dataset.y_test, include_bias)


def walk_bound(path: RidgePath, lr: float, steps: int) -> float:
    """The most GD after `steps` steps can differ from ridge at λ_t in any one direction of
    `path`'s data, as a share of ridge's: |GD's fraction / ridge's − 1|, its largest over the
    spectrum. The relative distance `walk_gap` measures is at most this (in exact arithmetic)."""
    s = path.spectrum
    if steps < 1 or s.numel() == 0:
        return 0.0
    step = 2 * lr * s
    # 1 − (1 − 2·lr·s)^t without cancelling to 0 in the directions GD has barely moved along;
    # from 2·lr·s ≥ 1 on GD overshoots (and from 2 diverges), so the plain power.
    stable = -torch.expm1(steps * torch.log1p(-step.clamp(max=0.5)))
    gd = torch.where(step < 0.5, stable, 1 - (1 - step) ** steps)
    ridge = s / (s + lam_at_step(lr, steps))
    return float((gd / ridge - 1).abs().max())


@dataclass(frozen=True)
class WalkGap:
    """How close GD after `steps` steps is to ridge at λ_t."""

    steps: int
    lam: float
    distance: float  # ‖θ_t − θ*(λ_t)‖ / ‖θ*(λ_t)‖ over the weights and the bias
    gd_test_loss: float | None
    ridge_test_loss: float | None

    @property
    def test_loss_ratio(self) -> float | None:
        """GD's test loss over ridge's at λ_t."""
        if self.gd_test_loss is None or not self.ridge_test_loss:
            return None
        return self.gd_test_loss / self.ridge_test_loss


def walk_gap(
    path: RidgePath,
    weight: torch.Tensor,
    bias: float,
    lr: float,
    steps: int,
    x_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
) -> WalkGap:
    """Compare GD's weights (shape (d,) or (1, d)) and bias after `steps` full-batch steps at
    `lr` with `path`'s optimum at λ_t = 1/(2·lr·steps) (`path` from `walk_path`)."""
    if steps < 1:
        raise ValueError("the walk starts after the first step")
    lam = lam_at_step(lr, steps)
    ridge_weight, ridge_bias = path.solve(lam)
    trained = torch.cat([weight.detach().to("cpu", torch.float64).reshape(-1), _scalar(bias)])
    optimum = torch.cat([ridge_weight, _scalar(ridge_bias)])
    distance = float((trained - optimum).norm() / optimum.norm())
    gd_test = ridge_test = None
    if x_test is not None and y_test is not None and x_test.shape[0] > 0:
        gd_test = _mse(trained, x_test, y_test)
        ridge_test = _mse(optimum, x_test, y_test)
    return WalkGap(steps, lam, distance, gd_test, ridge_test)


def _scalar(value: float) -> torch.Tensor:
    return torch.tensor([float(value)], dtype=torch.float64)


def _mse(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test MSE of the linear model whose weights are θ[:-1] and bias θ[-1]."""
    x64 = x.detach().to("cpu", torch.float64)
    y64 = y.detach().to("cpu", torch.float64).reshape(-1)
    return float((x64 @ theta[:-1] + theta[-1] - y64).pow(2).mean())
