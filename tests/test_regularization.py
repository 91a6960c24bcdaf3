"""λ means one thing in every mode: objective = MSE + λ·Σ‖w‖² over the penalized parameters.

Each mode is checked against torch's own optimizers, configured by hand, outside the engine.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.config import RunConfig
from engine.trainer import Trainer
from support.engine import epochs_of, finished_of, run_to_end


def reference_run(
    settings: dict, make_optimizer, lam_in_loss: float, penalize_bias: bool = False
) -> dict[str, torch.Tensor]:
    """A bare full-batch loop from the engine's initial weights and data, with torch's optimizer."""
    trainer = Trainer(RunConfig(save=False, **settings), lambda e: None)
    x, y = trainer.dataset.x_train, trainer.dataset.y_train
    model = torch.nn.Linear(x.shape[1], 1)
    model.load_state_dict(trainer.model.state_dict())
    optimizer = make_optimizer(model.weight, model.bias)
    penalized = [model.weight, model.bias] if penalize_bias else [model.weight]
    for _ in range(trainer.config.epochs):
        loss = F.mse_loss(model(x), y)
        if lam_in_loss:
            loss = loss + lam_in_loss * sum(p.pow(2).sum() for p in penalized)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach() for k, v in model.state_dict().items()}


def final_weights(**settings: object) -> dict[str, torch.Tensor]:
    trainer, _ = run_to_end(**settings)
    return {k: v.detach() for k, v in trainer.model.state_dict().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float = 1e-6):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=atol, rtol=1e-5, msg=name)


BASE = {"preset": "highdim", "batch_size": 0, "epochs": 60, "lr": 0.01}
LAM = 0.5


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_l2_and_wd_follow_the_same_trajectory(momentum: float) -> None:
    settings = {"preset": "highdim", "epochs": 40, "lam": LAM, "momentum": momentum}  # minibatch 5
    l2 = final_weights(**settings, reg="l2")
    wd = final_weights(**settings, reg="wd")
    assert_same(l2, wd, atol=1e-6)
    # and the penalty did something: λ = 0 ends elsewhere
    free = final_weights(**{**settings, "lam": 0.0})
    assert (free["weight"] - l2["weight"]).abs().max() > 1e-3


@pytest.mark.parametrize(
    ("optimizer", "reg", "make", "lam_in_loss"),
    [
        ("sgd", "l2", lambda w, b: torch.optim.SGD([w, b], lr=0.01), LAM),
        (
            "sgd",
            "wd",
            lambda w, b: torch.optim.SGD(
                [{"params": [w], "weight_decay": 2 * LAM}, {"params": [b]}], lr=0.01
            ),
            0.0,
        ),
        ("adam", "l2", lambda w, b: torch.optim.Adam([w, b], lr=0.01), LAM),
        (
            "adam",
            "wd",
            lambda w, b: torch.optim.Adam(
                [{"params": [w], "weight_decay": 2 * LAM}, {"params": [b]}], lr=0.01
            ),
            0.0,
        ),
        # AdamW in l2 mode: the penalty is in the loss and AdamW's own decay is 0, not 0.01.
        (
            "adamw",
            "l2",
            lambda w, b: torch.optim.AdamW([w, b], lr=0.01, weight_decay=0.0),
            LAM,
        ),
        # AdamW in wd mode: decoupled decay of 2λ on the weights only.
        (
            "adamw",
            "wd",
            lambda w, b: torch.optim.AdamW(
                [{"params": [w], "weight_decay": 2 * LAM}, {"params": [b], "weight_decay": 0.0}],
                lr=0.01,
            ),
            0.0,
        ),
    ],
)
def test_each_mode_matches_torch_configured_by_hand(optimizer, reg, make, lam_in_loss) -> None:
    settings = {**BASE, "optimizer": optimizer, "reg": reg, "lam": LAM}
    expected = reference_run(settings, make, lam_in_loss)
    assert_same(final_weights(**settings), expected, atol=1e-6)


def test_adamw_with_lam_zero_has_no_decay_at_all() -> None:
    plain_adam = reference_run(
        {**BASE, "optimizer": "adamw"}, lambda w, b: torch.optim.Adam([w, b], lr=0.01), 0.0
    )
    for reg in ("l2", "wd", "none"):
        trainer, _ = run_to_end(**BASE, optimizer="adamw", reg=reg, lam=0.0)
        assert all(g["weight_decay"] == 0.0 for g in trainer.optimizer.param_groups)
        weights = {k: v.detach() for k, v in trainer.model.state_dict().items()}
        assert_same(weights, plain_adam, atol=1e-6)


def test_adamw_default_decay_never_leaks_into_l2_or_none() -> None:
    for reg in ("l2", "none"):
        trainer = Trainer(
            RunConfig(save=False, optimizer="adamw", reg=reg, lam=0.3), lambda e: None
        )
        assert [g["weight_decay"] for g in trainer.optimizer.param_groups] == [0.0]


def test_wd_sets_two_lambda_on_weights_only() -> None:
    trainer = Trainer(RunConfig(save=False, reg="wd", lam=0.3), lambda e: None)
    groups = {g["penalized"]: g["weight_decay"] for g in trainer.optimizer.param_groups}
    assert groups == {True: pytest.approx(0.6), False: 0.0}


def test_decay_bias_penalizes_the_bias_too() -> None:
    settings = {**BASE, "preset": "line", "lam": LAM, "decay_bias": True}
    expected = reference_run(
        settings, lambda w, b: torch.optim.SGD([w, b], lr=0.01), LAM, penalize_bias=True
    )
    assert_same(final_weights(**settings), expected, atol=1e-6)
    trainer, events = run_to_end(**settings)
    last = epochs_of(events)[-1]
    w, b = trainer.model.weight.detach(), trainer.model.bias.detach()
    assert last.weight_sq_norm == pytest.approx(float(w.pow(2).sum() + b.pow(2).sum()), rel=1e-5)


@pytest.mark.parametrize("reg", ["l2", "wd", "none"])
def test_reported_numbers_are_the_objective_at_the_final_weights(reg: str) -> None:
    trainer, events = run_to_end(preset="line", lam=0.2, reg=reg, epochs=30)
    last = epochs_of(events)[-1]
    x, y = trainer.dataset.x_train.double(), trainer.dataset.y_train.double()
    xt, yt = trainer.dataset.x_test.double(), trainer.dataset.y_test.double()
    w, b = trainer.model.weight.detach().double(), trainer.model.bias.detach().double()
    lam = 0.0 if reg == "none" else 0.2
    assert last.lam == lam
    assert last.train_loss == pytest.approx(float(((x @ w.T + b - y) ** 2).mean()), rel=1e-5)
    assert last.test_loss == pytest.approx(float(((xt @ w.T + b - yt) ** 2).mean()), rel=1e-5)
    assert last.weight_sq_norm == pytest.approx(float((w**2).sum()), rel=1e-5)
    assert last.penalty == pytest.approx(lam * float((w**2).sum()), rel=1e-5)
    assert last.objective == pytest.approx(last.train_loss + last.penalty, rel=1e-9)
    assert finished_of(events).weights["weight"] == trainer.model.weight.tolist()
