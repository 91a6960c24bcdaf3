"""The closed-form optimum, against scikit-learn, and trained runs against it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from engine.ridge import RidgePath
from support.engine import run_to_end


def random_problem(n: int, d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.linspace(0.5, 3, d)
    y = x @ torch.randn(d, 1, generator=g, dtype=torch.float64) + 1.5
    return x, y + 0.3 * torch.randn(n, 1, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("lam", [1e-4, 0.01, 0.3, 5.0])
def test_matches_sklearn_ridge_with_alpha_n_lambda(lam: float) -> None:
    x, y = random_problem(n=40, d=6)
    weight, bias = RidgePath(x, y).solve(lam)
    reference = Ridge(alpha=40 * lam, solver="cholesky").fit(x.numpy(), y.numpy().ravel())
    np.testing.assert_allclose(weight.numpy(), reference.coef_, rtol=1e-9, atol=1e-10)
    assert bias == pytest.approx(reference.intercept_, rel=1e-9)


def test_decay_bias_penalizes_the_intercept_like_an_extra_weight() -> None:
    x, y = random_problem(n=30, d=4)
    lam = 0.2
    weight, bias = RidgePath(x, y, decay_bias=True).solve(lam)
    augmented = torch.cat([x, torch.ones(30, 1, dtype=torch.float64)], 1).numpy()
    reference = Ridge(alpha=30 * lam, fit_intercept=False).fit(augmented, y.numpy().ravel())
    np.testing.assert_allclose([*weight.tolist(), bias], reference.coef_, rtol=1e-8)


def test_lambda_zero_with_more_features_than_rows_is_the_minimum_norm_solution() -> None:
    x, y = random_problem(n=10, d=25)
    weight, bias = RidgePath(x, y).solve(0.0)
    xc, yc = x - x.mean(0), y - y.mean()
    expected = torch.linalg.pinv(xc) @ yc
    torch.testing.assert_close(weight, expected.ravel(), rtol=1e-8, atol=1e-10)
    assert bias == pytest.approx(float(y.mean() - x.mean(0) @ expected.ravel()))


def test_path_equals_pointwise_solutions() -> None:
    x, y = random_problem(n=25, d=5)
    ridge = RidgePath(x, y)
    lams = [0.0, 0.001, 0.1, 10.0]
    weights, biases = ridge.path(lams)
    for k, lam in enumerate(lams):
        w, b = ridge.solve(lam)
        torch.testing.assert_close(weights[k], w)
        assert float(biases[k]) == pytest.approx(b)
    norms = weights.norm(dim=1)
    assert all(norms[i] > norms[i + 1] for i in range(len(lams) - 1))  # shrinks as λ grows


@pytest.mark.parametrize("reg", ["l2", "wd"])
@pytest.mark.parametrize("lam", [0.0, 0.05, 1.0])
def test_converged_sgd_run_reaches_the_closed_form_optimum(reg: str, lam: float) -> None:
    trainer, _ = run_to_end(preset="line", lam=lam, reg=reg, lr=0.1, epochs=800)
    x, y = trainer.dataset.x_train, trainer.dataset.y_train
    weight, bias = RidgePath(x, y).solve(lam)
    reference = Ridge(alpha=x.shape[0] * lam).fit(x.double().numpy(), y.double().numpy().ravel())
    assert trainer.model.weight.item() == pytest.approx(float(weight[0]), abs=1e-5)
    assert trainer.model.bias.item() == pytest.approx(bias, abs=1e-5)
    assert float(weight[0]) == pytest.approx(reference.coef_[0], abs=1e-9)


def test_converged_multi_feature_csv_run_matches_sklearn(tmp_path) -> None:
    x, y = random_problem(n=60, d=5, seed=3)
    csv = tmp_path / "data.csv"
    rows = ["a,b,target,c,d,e"]
    for xi, yi in zip(x.tolist(), y.ravel().tolist(), strict=True):
        rows.append(",".join(map(str, [xi[0], xi[1], yi, *xi[2:]])))
    csv.write_text("\n".join(rows) + "\n")
    lam = 0.05
    trainer, _ = run_to_end(
        data=str(csv), target="target", test_fraction=0.0, lam=lam, lr=0.1, epochs=3000
    )
    xs, ys = trainer.dataset.x_train, trainer.dataset.y_train  # standardized, shuffled
    reference = Ridge(alpha=len(xs) * lam).fit(xs.double().numpy(), ys.double().numpy().ravel())
    np.testing.assert_allclose(trainer.model.weight.detach().numpy()[0], reference.coef_, atol=1e-4)
    assert trainer.model.bias.item() == pytest.approx(reference.intercept_, abs=1e-4)
    solved, _ = trainer.ridge().solve(lam)
    np.testing.assert_allclose(solved.numpy(), reference.coef_, atol=1e-8)
