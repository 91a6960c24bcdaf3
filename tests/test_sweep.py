"""The batched sweep: every member is exactly the run Trainer makes with its λ."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from sklearn.linear_model import Ridge

from engine.config import RunConfig
from engine.data import load_dataset
from engine.ridge import RidgePath
from engine.store import load_sweep
from engine.sweep.events import SweepEvent, SweepStarted
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import sweep_epochs_of as epochs
from support.engine import sweep_finished_of as finished
from support.engine import sweep_to_end

LAMS = [0.0, 0.01, 0.3, 2.0]


def single_run(lam: float, **settings: Any):
    """(final weights as tensors, finished event, epoch events) of a separate Trainer run."""
    events: list[Any] = []
    trainer = Trainer(RunConfig(save=False, lam=lam, **settings), events.append)
    done = trainer.run()
    weights = {name: torch.tensor(value) for name, value in done.weights.items()}
    return weights, done, [e for e in events if type(e).__name__ == "Epoch"]


def assert_members_match_runs(lams: list[float], atol: float = 1e-5, **settings: Any) -> None:
    _, events = sweep_to_end(lams, **settings)
    done = finished(events)
    assert done.status == "completed"
    sweep_epochs = epochs(events)
    for k, lam in enumerate(lams):
        weights, run_done, run_epochs = single_run(lam, **settings)
        member = done.results[k]
        assert member.lam == lam and member.epochs == run_done.epochs
        assert set(member.weights) == set(weights)
        for name, expected in weights.items():
            got = torch.tensor(member.weights[name])
            assert got.shape == expected.shape, name
            torch.testing.assert_close(got, expected, atol=atol, rtol=1e-5)
        # The per-epoch numbers are the run's too, epoch by epoch.
        assert len(sweep_epochs) == len(run_epochs)
        for s, r in zip(sweep_epochs, run_epochs, strict=True):
            assert s.train_loss[k] == pytest.approx(r.train_loss, rel=1e-4, abs=1e-6)
            assert s.test_loss[k] == pytest.approx(r.test_loss, rel=1e-4, abs=1e-6)
            assert s.weight_sq_norm[k] == pytest.approx(r.weight_sq_norm, rel=1e-4, abs=1e-6)


OPTIMIZER_MODES = [
    ("sgd", "l2"),
    ("sgd", "wd"),
    ("adam", "l2"),
    ("adam", "wd"),
    ("adamw", "l2"),
    ("adamw", "wd"),
]


@pytest.mark.parametrize(("optimizer", "reg"), OPTIMIZER_MODES)
def test_zero_init_full_batch_members_equal_single_runs(optimizer: str, reg: str) -> None:
    lr = 0.003 if optimizer == "sgd" else 0.01
    assert_members_match_runs(
        LAMS,
        preset="highdim",
        init="zeros",
        batch_size=0,
        epochs=12,
        optimizer=optimizer,
        reg=reg,
        lr=lr,
    )


@pytest.mark.parametrize(("optimizer", "reg"), OPTIMIZER_MODES)
def test_default_init_minibatch_members_equal_single_runs(optimizer: str, reg: str) -> None:
    # highdim: 20 rows in batches of 5, a fresh shuffle each epoch: the order must be the run's.
    lr = 0.003 if optimizer == "sgd" else 0.01
    assert_members_match_runs(LAMS, preset="highdim", epochs=8, optimizer=optimizer, reg=reg, lr=lr)


@pytest.mark.parametrize("reg", ["l2", "wd"])
def test_line_minibatch_with_momentum_and_decayed_bias(reg: str) -> None:
    assert_members_match_runs(
        LAMS, preset="line", batch_size=10, epochs=6, momentum=0.9, decay_bias=True, reg=reg
    )


@pytest.mark.parametrize(("optimizer", "reg"), [("sgd", "l2"), ("sgd", "wd"), ("adamw", "wd")])
def test_mlp_members_equal_single_runs(optimizer: str, reg: str) -> None:
    lr = 0.05 if optimizer == "sgd" else 0.01
    assert_members_match_runs(
        [0.0, 0.01, 0.1],
        preset="line",
        model="mlp",
        hidden=(8, 6),
        activation="tanh" if reg == "wd" else "relu",
        batch_size=10,
        epochs=5,
        optimizer=optimizer,
        reg=reg,
        lr=lr,
    )


def test_weights_are_named_and_shaped_like_a_single_run() -> None:
    _, events = sweep_to_end([0.0, 0.1], preset="line", model="mlp", hidden=(4, 3), epochs=1)
    started = events[0]
    assert isinstance(started, SweepStarted)
    assert [(p.name, p.shape, p.penalized) for p in started.parameters] == [
        ("0.weight", (4, 1), True),
        ("0.bias", (4,), False),
        ("2.weight", (3, 4), True),
        ("2.bias", (3,), False),
        ("4.weight", (1, 3), True),
        ("4.bias", (1,), False),
    ]
    weights = finished(events).results[1].weights
    assert {n: tuple(torch.tensor(v).shape) for n, v in weights.items()} == {
        p.name: p.shape for p in started.parameters
    }


# ----- divergence -------------------------------------------------------------------------

DIVERGING = {"preset": "line", "epochs": 30, "lr": 0.01, "momentum": 0.9, "batch_size": 10}
HUGE = 1000.0  # lr·2λ = 20: the l2 pull overshoots and blows up within a few epochs


def test_a_diverging_member_is_reported_frozen_and_harms_no_one() -> None:
    lams = [0.0, HUGE, 0.1]
    _, events = sweep_to_end(lams, **DIVERGING)
    done = finished(events)
    _, run_done, _ = single_run(HUGE, **DIVERGING)
    assert run_done.status == "diverged"
    bad = done.results[1]
    assert bad.status == "diverged" and bad.epochs == run_done.epochs < DIVERGING["epochs"]
    assert bad.train_loss is None or not math.isfinite(bad.train_loss)
    assert bad.to_json()["train_loss"] is None
    # Frozen at the weights the run ended with, although momentum would have kept moving it.
    for name, value in run_done.weights.items():
        torch.testing.assert_close(
            torch.tensor(bad.weights[name]), torch.tensor(value), equal_nan=True
        )
    statuses = [e.statuses[1] for e in epochs(events)]
    assert statuses.index("diverged") == run_done.epochs - 1
    assert done.status == "completed" and done.epochs == DIVERGING["epochs"]
    assert "diverged" in done.message
    # The others: bit for bit what the same sweep gives with a harmless λ in that slot.
    _, calm_events = sweep_to_end([0.0, 0.05, 0.1], **DIVERGING)
    calm = finished(calm_events)
    for k in (0, 2):
        assert done.results[k].status == "completed"
        for name in calm.results[k].weights:
            assert torch.equal(
                torch.tensor(done.results[k].weights[name]),
                torch.tensor(calm.results[k].weights[name]),
            )
        for e, c in zip(epochs(events), epochs(calm_events), strict=True):
            assert (e.train_loss[k], e.test_loss[k]) == (c.train_loss[k], c.test_loss[k])
    assert done.best_lam in (0.0, 0.1)


def test_every_member_diverging_ends_the_sweep_early() -> None:
    _, events = sweep_to_end([HUGE, 2 * HUGE], **DIVERGING)
    done = finished(events)
    assert done.status == "failed" and done.best_lam is None
    assert done.message == "every member diverged"
    assert done.epochs < DIVERGING["epochs"]
    assert all(r.status == "diverged" for r in done.results)


# ----- best λ and the closed form -----------------------------------------------------------


def test_best_lam_is_the_argmin_of_the_final_test_loss() -> None:
    lams = [0.0, 0.01, 0.1, 1.0, 3.0, 10.0]
    _, events = sweep_to_end(lams, preset="highdim", epochs=30)
    done = finished(events)
    tests = [r.test_loss for r in done.results]
    assert done.best_lam == lams[tests.index(min(tests))]
    assert epochs(events)[-1].test_loss == tuple(tests)
    # highdim overfits at λ = 0: the best λ is a real one.
    assert done.best_lam > 0


def test_best_lam_without_a_test_split_uses_the_train_loss() -> None:
    lams = [0.0, 0.1, 1.0]
    _, events = sweep_to_end(lams, preset="line", epochs=20, test_fraction=0.0)
    done = finished(events)
    assert all(r.test_loss is None for r in done.results)
    assert epochs(events)[-1].test_loss is None
    assert epochs(events)[-1].to_json()["test_loss"] is None
    trains = [r.train_loss for r in done.results]
    assert done.best_lam == lams[trains.index(min(trains))] == 0.0


def test_linear_sweep_reaches_the_closed_form_ridge_path() -> None:
    lams = [0.0, 0.01, 0.1, 0.5, 2.0]
    settings = {"preset": "line", "init": "zeros", "lr": 0.1, "epochs": 600}
    sweep, events = sweep_to_end(lams, **settings)
    done = finished(events)
    data = load_dataset(sweep.config)
    weights, biases = RidgePath(data.x_train, data.y_train).path(lams)
    for k, member in enumerate(done.results):
        assert member.weights["weight"][0] == pytest.approx(weights[k].tolist(), abs=1e-4)
        assert member.weights["bias"][0] == pytest.approx(float(biases[k]), abs=1e-4)
    # The started event carries the same optimum per member, for the sweep view.
    started = events[0]
    assert started.ridge[3]["weight"] == [pytest.approx(weights[3].tolist())]
    # One point against scikit-learn: MSE + λ‖w‖² over n rows is Ridge(alpha = n·λ).
    n = data.n_train
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy().ravel()
    ridge = Ridge(alpha=n * 0.5).fit(x, y)
    assert done.results[3].weights["weight"][0][0] == pytest.approx(ridge.coef_[0], abs=1e-4)
    assert done.results[3].weights["bias"][0] == pytest.approx(ridge.intercept_, abs=1e-4)
    # More λ, smaller weights: the path shrinks monotonically.
    norms = [r.weight_sq_norm for r in done.results]
    assert norms == sorted(norms, reverse=True)


@pytest.mark.parametrize("batch_size", [0, 5])
def test_batch_mean_members_equal_single_runs(batch_size: int) -> None:
    """--train-loss batch-mean: each member reports its run's mean of the minibatch losses."""
    assert_members_match_runs(
        LAMS, preset="highdim", batch_size=batch_size, epochs=6, train_loss="batch-mean"
    )


def test_a_member_diverged_on_its_test_loss_alone_replays(tmp_path) -> None:
    # poly's λ = 100 ends with its test loss inf while its train loss is still finite: sweep.csv
    # stops its rows there, and the replay must read that as the divergence it was.
    events: list[SweepEvent] = []
    config = RunConfig(preset="poly", epochs=400, runs_dir=str(tmp_path))
    Sweep(config, [0.0, 100.0], events.append).run()
    done = finished(events)
    member = done.results[1]
    assert member.status == "diverged" and member.epochs < 400
    assert member.train_loss is not None and math.isfinite(member.train_loss)
    saved = load_sweep(str(done.run_dir))
    assert len(saved.epochs) == 400
    assert [e.statuses for e in saved.epochs] == [e.statuses for e in epochs(events)]
