"""The predict-the-mean baseline and R², against scikit-learn; and how they reach the events."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score

from engine.config import RunConfig
from engine.data import load_dataset
from engine.events import Started, r_squared
from engine.store import load_run, load_sweep
from engine.sweep.runner import Sweep
from engine.tasks import REGRESSION, mean_prediction_loss, target_variance
from engine.trainer import Trainer
from support.engine import run_to_end, started_of


def arrays(config: RunConfig) -> tuple[np.ndarray, ...]:
    data = load_dataset(config.resolved())
    assert data.x_test is not None and data.y_test is not None
    return tuple(t.double().numpy() for t in (data.x_train, data.y_train, data.x_test, data.y_test))


@pytest.mark.parametrize("preset", ["highdim", "line", "poly"])
def test_the_baseline_is_what_a_mean_predictor_gets_on_the_test_rows(preset: str) -> None:
    config = RunConfig(preset=preset)
    x_train, y_train, x_test, y_test = arrays(config)
    dummy = DummyRegressor(strategy="mean").fit(x_train, y_train.ravel())
    expected = mean_squared_error(y_test.ravel(), dummy.predict(x_test))
    data = load_dataset(config.resolved())
    assert REGRESSION.baseline_test_loss(data) == pytest.approx(expected, rel=1e-12)
    # R² of the mean predictor, from its loss, is sklearn's (≤ 0: the train mean is not the
    # test mean).
    variance = REGRESSION.test_target_variance(data)
    baseline_r2 = r_squared(REGRESSION.baseline_test_loss(data), variance)
    assert baseline_r2 == pytest.approx(r2_score(y_test.ravel(), dummy.predict(x_test)), abs=1e-12)
    assert baseline_r2 is not None and baseline_r2 <= 0


def test_highdim_r2_of_a_fitted_model_is_sklearns() -> None:
    x_train, y_train, x_test, y_test = arrays(RunConfig(preset="highdim"))
    model = Ridge(alpha=20 * 3.0).fit(x_train, y_train.ravel())  # λ = 3 on 20 rows
    predicted = model.predict(x_test)
    # The loss as the task computes it (float32 tensors), R² from it and the variance.
    loss = float(
        REGRESSION.loss(
            torch.tensor(predicted, dtype=torch.float32).unsqueeze(1),
            torch.tensor(y_test, dtype=torch.float32),
        )
    )
    expected = r2_score(y_test.ravel(), predicted)
    assert r_squared(loss, target_variance(torch.tensor(y_test))) == pytest.approx(
        expected, rel=1e-5
    )
    # highdim's point (issue 10): with 20 rows for 200 features, even the best λ barely beats
    # predicting the mean.
    assert 0 < expected < 0.2


def test_several_outputs_weigh_each_by_its_variance_as_sklearn_does() -> None:
    rng = np.random.default_rng(0)
    y_train = rng.normal([0.0, 5.0, -2.0], [1.0, 10.0, 0.1], size=(40, 3))
    y_test = rng.normal([0.5, 4.0, -2.0], [1.0, 10.0, 0.1], size=(30, 3))
    predicted = y_test + rng.normal(0, 0.5, size=y_test.shape)
    dummy = DummyRegressor(strategy="mean").fit(np.zeros((40, 1)), y_train)
    baseline = mean_squared_error(y_test, dummy.predict(np.zeros((30, 1))))
    assert mean_prediction_loss(torch.tensor(y_train), torch.tensor(y_test)) == pytest.approx(
        baseline, rel=1e-12
    )
    mse = float(np.mean((predicted - y_test) ** 2))
    expected = r2_score(y_test, predicted, multioutput="variance_weighted")
    assert r_squared(mse, target_variance(torch.tensor(y_test))) == pytest.approx(
        expected, rel=1e-12
    )


def test_r2_is_undefined_without_a_number_or_a_spread() -> None:
    assert r_squared(None, 1.0) is None and r_squared(0.5, None) is None
    assert r_squared(math.inf, 1.0) is None and r_squared(math.nan, 1.0) is None
    assert r_squared(0.5, 0.0) is None  # constant test targets
    assert r_squared(0.0, 2.0) == 1.0 and r_squared(2.0, 2.0) == 0.0


def test_no_test_split_has_no_baseline(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(10)))
    _, events = run_to_end(data=str(csv), target="y", test_fraction=0.0, epochs=1)
    started = started_of(events)
    assert started.baseline_test_loss is None and started.test_target_variance is None


def test_runs_sweeps_and_their_replays_carry_the_baseline(tmp_path: Path) -> None:
    config = RunConfig(preset="highdim", epochs=3, runs_dir=str(tmp_path))
    data = load_dataset(config.resolved())
    expected = REGRESSION.baseline_test_loss(data)
    variance = REGRESSION.test_target_variance(data)
    assert expected is not None and variance is not None

    events: list[object] = []
    trainer = Trainer(config, events.append)
    trainer.run()
    live = events[0]
    assert isinstance(live, Started)
    assert (live.baseline_test_loss, live.test_target_variance) == (expected, variance)
    # A replay regenerates the data, so a folder saved before the field existed has it too.
    replayed = load_run(trainer.run_dir or "").started
    assert (replayed.baseline_test_loss, replayed.test_target_variance) == (expected, variance)

    sweep_events: list[object] = []
    sweep = Sweep(config, [0.0, 3.0], sweep_events.append)
    sweep.run()
    assert getattr(sweep_events[0], "baseline_test_loss", None) == expected
    assert load_sweep(sweep.run_dir or "").started.baseline_test_loss == expected


def test_a_replay_whose_data_has_gone_has_no_baseline(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{(i * 7) % 5}\n" for i in range(20)))
    config = RunConfig(data=str(csv), target="y", epochs=2, runs_dir=str(tmp_path / "runs"))
    trainer = Trainer(config, lambda event: None)
    trainer.run()
    assert load_run(trainer.run_dir or "").started.baseline_test_loss is not None
    csv.unlink()
    replayed = load_run(trainer.run_dir or "").started
    assert replayed.baseline_test_loss is None and replayed.test_target_variance is None
