"""Early stopping walks the ridge path: full-batch GD from zero at step t against closed-form
ridge at λ_t = 1/(2·lr·t), computed independently with scikit-learn (engine/early_stopping.py).

The reference is `Ridge(alpha=n·λ, fit_intercept=False)` on the design with a column of ones:
GD trains the bias from 0 like one more weight, so the path it walks penalizes the bias too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from engine.config import RunConfig
from engine.early_stopping import (
    WalkClock,
    WalkGap,
    lam_at_step,
    ridge_curve,
    walk_bound,
    walk_caveat,
    walk_curve,
    walk_gap,
    walk_lams,
    walk_path,
)
from engine.schedule import Change
from support.engine import epochs_of, run_to_end, started_of

STEPS = (1, 10, 100, 1000, 10000)
PRESETS = ("highdim", "poly")


@dataclass(frozen=True)
class Walked:
    """One preset's data and GD's weights and bias (the bias last) after each of STEPS."""

    lr: float
    x: np.ndarray
    y: np.ndarray
    x_test: torch.Tensor
    y_test: torch.Tensor
    path_x: torch.Tensor
    path_y: torch.Tensor
    theta: dict[int, np.ndarray]

    def engine_gap(self, steps: int) -> WalkGap:
        """The engine's own comparison of GD after `steps` with ridge at λ_t, on the test rows."""
        theta = self.theta[steps]
        path = walk_path(self.path_x, self.path_y)
        weight, bias = torch.from_numpy(theta[:-1]), float(theta[-1])
        return walk_gap(path, weight, bias, self.lr, steps, self.x_test, self.y_test)


def full_batch_gd(preset: str, steps: int) -> Any:
    trainer, _ = run_to_end(
        preset=preset, lam=0.0, reg="l2", batch_size=0, init="zeros", epochs=steps
    )
    return trainer


@pytest.fixture(scope="module", params=PRESETS)
def walked(request: pytest.FixtureRequest) -> Walked:
    """Each t is a run of its own: what `wdtui run --epochs t` leaves, nothing read mid-run."""
    theta = {}
    for steps in STEPS:
        trainer = full_batch_gd(request.param, steps)
        state = trainer.model.state_dict()
        theta[steps] = np.append(state["weight"].double().numpy().ravel(), float(state["bias"]))
    data = trainer.dataset
    return Walked(
        trainer.lr,
        data.x_train.double().numpy(),
        data.y_train.double().numpy().ravel(),
        data.x_test,
        data.y_test,
        data.x_train,
        data.y_train,
        theta,
    )


def sklearn_ridge(walked: Walked, lam: float) -> np.ndarray:
    """Ridge with the bias penalized: (weights…, bias) minimising MSE + λ‖θ‖²."""
    n = walked.x.shape[0]
    design = np.hstack([walked.x, np.ones((n, 1))])
    return Ridge(alpha=n * lam, fit_intercept=False).fit(design, walked.y).coef_


def relative_distance(theta: np.ndarray, optimum: np.ndarray) -> float:
    return float(np.linalg.norm(theta - optimum) / np.linalg.norm(optimum))


def spectral_bound(walked: Walked, steps: int) -> float:
    """The largest relative gap GD can have from ridge at λ_t in any one eigen-direction of
    ZᵀZ/n (Z: the design with ones), hence over all of them: in direction i GD reaches
    1 − (1 − 2·lr·s_i)^t of the least-squares solution and ridge s_i/(s_i + λ_t)."""
    n = walked.x.shape[0]
    design = np.hstack([walked.x, np.ones((n, 1))])
    s = np.linalg.eigvalsh(design.T @ design / n)
    s = s[s > 0]
    gd = -np.expm1(steps * np.log1p(-2 * walked.lr * s))
    ridge = s / (s + lam_at_step(walked.lr, steps))
    return float(np.abs(gd / ridge - 1).max())


def test_lam_at_step_is_one_over_two_lr_t() -> None:
    assert lam_at_step(0.003, 100) == pytest.approx(1 / 0.6)
    assert lam_at_step(0.01, 10_000) == pytest.approx(0.005)
    assert lam_at_step(0.01, 0) == math.inf


@pytest.mark.parametrize("steps", STEPS)
def test_gd_at_step_t_is_within_the_spectral_bound_of_ridge_at_lam_t(
    walked: Walked, steps: int
) -> None:
    lam = lam_at_step(walked.lr, steps)
    theta = walked.theta[steps]
    distance = relative_distance(theta, sklearn_ridge(walked, lam))
    # Exact arithmetic keeps the distance under the largest per-direction gap; float32 training
    # adds ~1e-6. The bound is at most 0.313 (highdim, t = 10); measured at most 0.284.
    bound = spectral_bound(walked, steps)
    assert distance <= bound + 1e-4
    assert distance < 0.29
    # The engine's own comparison says the same as the independent one.
    gap = walked.engine_gap(steps)
    assert gap.lam == pytest.approx(lam)
    assert gap.distance == pytest.approx(distance, rel=1e-6, abs=1e-9)
    path = walk_path(walked.path_x, walked.path_y)
    assert walk_bound(path, walked.lr, steps) == pytest.approx(bound, rel=1e-6)
    # Forgetting MSE's 2 (λ = 1/(lr·t), Ali et al.'s formula for a halved loss) is farther at
    # every t: measured 1.98× (late t, both presets) to 50× (poly, t = 1) the distance. Late,
    # ridge trails GD by λ/s in each direction GD has converged along: twice λ, twice as far.
    naive = relative_distance(theta, sklearn_ridge(walked, 2 * lam))
    assert naive > 1.9 * distance


def test_the_two_matters_while_gd_has_barely_moved(walked: Walked) -> None:
    """After one step GD has moved 2·lr·s of the way in each direction; ridge at λ_t matches
    that to first order, at half or twice λ_t it is off by a factor 2 in every direction.
    (Later, once GD has converged along the large directions, any λ below λ_t is closer as
    well: highdim's best multiple grows from 2.2 at t = 1 to 16 and beyond.)"""
    theta, lam = walked.theta[1], lam_at_step(walked.lr, 1)
    assert relative_distance(theta, sklearn_ridge(walked, lam)) < 0.1  # measured 0.098, 0.020
    for off in (lam / 2, lam * 2):
        assert relative_distance(theta, sklearn_ridge(walked, off)) > 0.4  # measured ≥ 0.407


@pytest.mark.parametrize("steps", STEPS)
def test_gd_test_loss_is_within_the_risk_bound_of_ridge_at_lam_t(
    walked: Walked, steps: int
) -> None:
    lam = lam_at_step(walked.lr, steps)
    theta, optimum = walked.theta[steps], sklearn_ridge(walked, lam)
    x_test = np.hstack([walked.x_test.double().numpy(), np.ones((walked.x_test.shape[0], 1))])
    y_test = walked.y_test.double().numpy().ravel()
    gd_test = float(np.mean((x_test @ theta - y_test) ** 2))
    ridge_test = float(np.mean((x_test @ optimum - y_test) ** 2))
    # Ali et al.: gradient flow's risk is at most 1.69× ridge's at λ = 1/t. Measured on these
    # test rows: highdim within 1.2% at every t, poly 0.58 (GD better) to 1.31.
    assert gd_test <= 1.69 * ridge_test
    gap = walked.engine_gap(steps)
    assert gap.gd_test_loss == pytest.approx(gd_test, rel=1e-9)
    assert gap.ridge_test_loss == pytest.approx(ridge_test, rel=1e-6)
    assert gap.test_loss_ratio == pytest.approx(gd_test / ridge_test, rel=1e-6)


def test_ridge_curve_gives_each_optimums_norm_and_test_loss(walked: Walked) -> None:
    lams = walk_lams(walked.lr, 1000, points=7)
    path = walk_path(walked.path_x, walked.path_y)
    curve = ridge_curve(path, lams, walked.x_test, walked.y_test)
    with_bias = ridge_curve(path, lams, include_bias=True)
    assert curve.lams == lams and with_bias.test_losses is None
    x_test = np.hstack([walked.x_test.double().numpy(), np.ones((walked.x_test.shape[0], 1))])
    y_test = walked.y_test.double().numpy().ravel()
    assert curve.test_losses is not None
    for k, lam in enumerate(lams):
        optimum = sklearn_ridge(walked, lam)
        assert curve.weight_sq_norms[k] == pytest.approx(float(optimum[:-1] @ optimum[:-1]))
        assert with_bias.weight_sq_norms[k] == pytest.approx(float(optimum @ optimum))
        test_loss = float(np.mean((x_test @ optimum - y_test) ** 2))
        assert curve.test_losses[k] == pytest.approx(test_loss, rel=1e-6)


def test_walk_curve_is_the_bias_penalized_path_over_the_runs_lams() -> None:
    trainer = full_batch_gd("highdim", 3)
    data = trainer.dataset
    curve = walk_curve(data, trainer.lr, 300)
    assert curve.lams == walk_lams(trainer.lr, 300)
    n = data.n_train
    design = np.hstack([data.x_train.double().numpy(), np.ones((n, 1))])
    target = data.y_train.double().numpy().ravel()
    for k in (0, len(curve.lams) // 2, len(curve.lams) - 1):
        optimum = Ridge(alpha=n * curve.lams[k], fit_intercept=False).fit(design, target).coef_
        assert curve.weight_sq_norms[k] == pytest.approx(float(optimum[:-1] @ optimum[:-1]))
    assert curve.test_losses is not None and len(curve.test_losses) == len(curve.lams)


def test_walk_lams_span_the_run_and_a_decade_beyond_each_end() -> None:
    lams = walk_lams(0.01, 1000, points=31)
    assert len(lams) == 31
    assert lams[0] == pytest.approx(10 * lam_at_step(0.01, 1))
    assert lams[-1] == pytest.approx(lam_at_step(0.01, 1000) / 10)
    ratios = [lams[k + 1] / lams[k] for k in range(30)]
    assert ratios == pytest.approx([ratios[0]] * 30) and ratios[0] < 1


def test_walk_clock_gives_each_epoch_its_lam_from_the_lr_so_far() -> None:
    """A real run with lr doubled from epoch 11: λ_t is 1/(2·Σ lr), and the last point is where
    `walk_gap` puts the final weights."""
    lr = 0.003
    trainer, events = run_to_end(
        preset="highdim",
        lam=0.0,
        lr=lr,
        batch_size=0,
        init="zeros",
        epochs=20,
        schedule=(Change(11, "lr", 2 * lr),),
    )
    clock = WalkClock(trainer.steps_per_epoch)
    points = [clock.point(epoch) for epoch in epochs_of(events)]
    assert [p.steps for p in points] == list(range(1, 21))
    assert points[9].lam == pytest.approx(1 / (2 * 10 * lr))
    assert points[19].lam == pytest.approx(1 / (2 * (10 * lr + 10 * 2 * lr)))
    state = trainer.model.state_dict()
    assert points[19].weight_sq_norm == pytest.approx(float(state["weight"].pow(2).sum()))
    assert points[19].test_loss == epochs_of(events)[19].test_loss
    with pytest.raises(ValueError, match="in order"):
        clock.point(epochs_of(events)[3])


@pytest.mark.parametrize(
    ("settings", "caveat"),
    [
        ({}, None),
        ({"batch_size": 20}, None),  # all 20 training rows: one step an epoch
        ({"batch_size": 5}, "minibatches"),
        ({"init": "default"}, "--init zeros"),
        ({"lam": 0.1}, "λ = 0"),
        ({"optimizer": "adam"}, "plain gradient descent"),
        ({"momentum": 0.9}, "plain gradient descent"),
        ({"model": "mlp", "init": "default"}, "linear model"),
        ({"schedule": (Change(5, "lam", 1.0),)}, "λ = 0"),
    ],
)
def test_walk_caveat_says_when_a_run_is_not_the_walk(
    settings: dict[str, Any], caveat: str | None
) -> None:
    base: dict[str, Any] = {"preset": "highdim", "lam": 0.0, "batch_size": 0, "init": "zeros"}
    config = RunConfig(**{**base, **settings}).resolved()
    steps_per_epoch = math.ceil(20 / config.batch_size) if config.batch_size else 1
    said = walk_caveat(config, steps_per_epoch)
    assert said is None if caveat is None else caveat in (said or "")


def test_walk_caveat_refuses_a_classifier() -> None:
    trainer, events = run_to_end(preset="cancer", epochs=1, batch_size=0, init="zeros")
    classes = started_of(events).classes
    said = walk_caveat(trainer.config, trainer.steps_per_epoch, regression=classes is None)
    assert said is not None and "least squares" in said
