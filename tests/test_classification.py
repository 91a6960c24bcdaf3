"""Classification, against independent references: scikit-learn's LogisticRegression for a
converged linear softmax classifier, torch's optimizers configured by hand on cross-entropy,
scikit-learn's accuracy and its prior-predicting dummy; and the grokking preset groks.

λ's meaning does not change: objective = mean cross-entropy + λ·Σ‖w‖² over the weights.
scikit-learn minimises C·Σᵢ CEᵢ + ½‖W‖²; divided by n·C that is mean CE + ‖W‖²/(2nC), so
C = 1/(2nλ) with K ≥ 3 classes (both keep one weight vector per class). With two classes
scikit-learn keeps one vector w, where softmax keeps w₀ and w₁: at the optimum w₀ = −w₁
(the penalty is smallest there for the same difference), w = w₁ − w₀ = 2w₁ and
λ(‖w₀‖² + ‖w₁‖²) = λ‖w‖²/2, so C = 1/(nλ). Biases are not penalized and a shared constant added
to every class's bias changes nothing: they are compared after centring.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss

from engine.config import RunConfig
from engine.store import load_run, read_metrics
from engine.trainer import Trainer
from support.engine import call_wdtui, epochs_of, finished_of, run_to_end, started_of

LAM = 0.05


def sklearn_c(n_rows: int, n_classes: int, lam: float) -> float:
    return 1 / (2 * n_rows * lam) if n_classes > 2 else 1 / (n_rows * lam)


@pytest.mark.parametrize(("preset", "epochs"), [("digits", 2000), ("cancer", 1500)])
def test_a_converged_linear_classifier_is_scikit_learns_logistic_regression(
    preset: str, epochs: int
) -> None:
    trainer, _ = run_to_end(
        preset=preset, model="linear", optimizer="sgd", reg="l2", lam=LAM, lr=0.5,
        epochs=epochs, batch_size=0,
    )  # fmt: skip
    data = trainer.dataset
    x, y = data.x_train.double().numpy(), data.y_train.numpy()
    k = data.n_classes
    reference = LogisticRegression(C=sklearn_c(len(y), k, LAM), tol=1e-10, max_iter=10_000)
    reference.fit(x, y)
    weight = trainer.model.weight.detach().double().numpy()
    bias = trainer.model.bias.detach().double().numpy()
    if k > 2:
        np.testing.assert_allclose(weight, reference.coef_, atol=1e-5)
        np.testing.assert_allclose(
            bias - bias.mean(), reference.intercept_ - reference.intercept_.mean(), atol=1e-5
        )
    else:
        np.testing.assert_allclose(weight[1] - weight[0], reference.coef_[0], atol=1e-5)
        np.testing.assert_allclose(bias[1] - bias[0], reference.intercept_[0], atol=1e-5)
        np.testing.assert_allclose(weight[0], -weight[1], atol=1e-5)  # the symmetric optimum


def reference_run(settings: dict, make_optimizer, lam_in_loss: float) -> dict[str, torch.Tensor]:
    """A bare full-batch cross-entropy loop from the engine's initial weights and data."""
    trainer = Trainer(RunConfig(save=False, **settings), lambda e: None)
    x, y = trainer.dataset.x_train, trainer.dataset.y_train
    model = torch.nn.Linear(x.shape[1], trainer.dataset.n_classes)
    model.load_state_dict(trainer.model.state_dict())
    optimizer = make_optimizer(model.weight, model.bias)
    for _ in range(trainer.config.epochs):
        loss = F.cross_entropy(model(x), y)
        if lam_in_loss:
            loss = loss + lam_in_loss * model.weight.pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach() for k, v in model.state_dict().items()}


def decayed(cls, **kwargs):
    """`cls` with weight_decay 2λ on the weight only."""
    return lambda w, b: cls(
        [{"params": [w], "weight_decay": 2 * LAM}, {"params": [b], "weight_decay": 0.0}],
        **kwargs,
    )


@pytest.mark.parametrize(
    ("optimizer", "reg", "make", "lam_in_loss"),
    [
        ("sgd", "l2", lambda w, b: torch.optim.SGD([w, b], lr=0.05), LAM),
        ("sgd", "wd", decayed(torch.optim.SGD, lr=0.05), 0.0),
        ("adam", "l2", lambda w, b: torch.optim.Adam([w, b], lr=0.05), LAM),
        ("adam", "wd", decayed(torch.optim.Adam, lr=0.05), 0.0),
        ("adamw", "l2", lambda w, b: torch.optim.AdamW([w, b], lr=0.05, weight_decay=0.0), LAM),
        ("adamw", "wd", decayed(torch.optim.AdamW, lr=0.05), 0.0),
    ],
)
def test_each_mode_matches_torch_configured_by_hand_on_cross_entropy(
    optimizer, reg, make, lam_in_loss
) -> None:
    settings = {
        "preset": "digits", "model": "linear", "batch_size": 0, "epochs": 40, "lr": 0.05,
        "optimizer": optimizer, "reg": reg, "lam": LAM,
    }  # fmt: skip
    expected = reference_run(settings, make, lam_in_loss)
    trainer, _ = run_to_end(**settings)
    for name, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, expected[name], atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("batch_size", [0, 32])
def test_accuracies_and_the_baseline_are_scikit_learns(batch_size: int) -> None:
    trainer, events = run_to_end(preset="cancer", epochs=30, batch_size=batch_size, lam=0.01)
    data, last = trainer.dataset, epochs_of(events)[-1]
    assert data.x_test is not None and data.y_test is not None
    with torch.no_grad():
        train_pred = trainer.model(data.x_train).argmax(1).numpy()
        test_pred = trainer.model(data.x_test).argmax(1).numpy()
        test_logits = trainer.model(data.x_test).double()
    # Exact train loss: at the epoch's final weights, whatever the batch size.
    assert last.train_accuracy == pytest.approx(accuracy_score(data.y_train, train_pred))
    assert last.test_accuracy == pytest.approx(accuracy_score(data.y_test, test_pred))
    expected_loss = log_loss(data.y_test, test_logits.softmax(1).numpy(), labels=[0, 1])
    assert last.test_loss == pytest.approx(expected_loss, rel=1e-5)
    dummy = DummyClassifier(strategy="prior").fit(data.x_train, data.y_train)
    baseline = log_loss(data.y_test, dummy.predict_proba(data.x_test))
    assert started_of(events).baseline_test_loss == pytest.approx(baseline, rel=1e-9)
    assert started_of(events).classes == ("benign", "malignant")


def test_batch_mean_accuracy_is_the_mean_over_the_epochs_minibatches() -> None:
    # One epoch of batch-mean from the initial weights: each minibatch's accuracy is that of
    # the weights before its step, so the mean follows the steps taken.
    settings = {"preset": "digits", "epochs": 1, "batch_size": 100, "train_loss": "batch-mean"}
    trainer = Trainer(RunConfig(save=False, **settings), lambda e: None)
    order = torch.randperm(trainer.dataset.n_train, generator=torch.Generator().manual_seed(2))
    model = torch.nn.Linear(trainer.dataset.n_features, 10)
    model.load_state_dict(trainer.model.state_dict())
    sgd = torch.optim.SGD(model.parameters(), lr=trainer.config.lr)
    hits, losses = 0.0, 0.0
    for idx in order.split(100):
        x, y = trainer.dataset.x_train[idx], trainer.dataset.y_train[idx]
        out = model(x)
        loss = F.cross_entropy(out, y)
        hits += float((out.argmax(1) == y).sum())
        losses += float(loss.detach()) * len(idx)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    (epoch,) = epochs_of(run_to_end(**settings)[1])
    assert epoch.train_accuracy == pytest.approx(hits / trainer.dataset.n_train)
    assert epoch.train_loss == pytest.approx(losses / trainer.dataset.n_train, rel=1e-5)


def test_a_classification_run_records_its_classes_and_accuracies(tmp_path, capsys) -> None:
    code, out, _ = call_wdtui(
        capsys, "run", "--preset", "cancer", "--epochs", "3", "--jsonl",
        "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    started, epochs = lines[0], [e for e in lines if e["event"] == "epoch"]
    assert started["classes"] == ["benign", "malignant"]
    assert started["config"]["task"] == "classification"  # "auto", resolved
    assert all(0 <= e["train_accuracy"] <= 1 and 0 <= e["test_accuracy"] <= 1 for e in epochs)
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["classes"] == ["benign", "malignant"] and config["task"] == "classification"
    rows = read_metrics(run_dir)
    assert [r["test_accuracy"] for r in rows] == [e["test_accuracy"] for e in epochs]
    saved = load_run(run_dir)
    assert [e.train_accuracy for e in saved.epochs] == [e["train_accuracy"] for e in epochs]
    assert saved.started.classes == ("benign", "malignant")


def test_without_a_test_split_there_is_no_test_accuracy() -> None:
    _, events = run_to_end(preset="cancer", epochs=2, test_fraction=0.0)
    assert finished_of(events).status == "completed" and len(epochs_of(events)) == 2
    assert all(e.test_accuracy is None and e.train_accuracy is not None for e in epochs_of(events))


def test_regression_has_no_accuracies() -> None:
    _, events = run_to_end(preset="line", epochs=2)
    assert len(epochs_of(events)) == 2
    assert all(e.train_accuracy is None and e.test_accuracy is None for e in epochs_of(events))
    assert started_of(events).classes is None


@pytest.mark.slow
def test_the_grokking_preset_groks_with_decay_and_not_without() -> None:
    """Its defaults (README, "Grokking"): train accuracy 100% within ~40 epochs, test
    accuracy near 0 for hundreds of epochs, then past 99%; with λ = 0 it never generalises."""
    _, grokked = run_to_end(preset="grokking")
    epochs = epochs_of(grokked)
    assert finished_of(grokked).status == "completed"
    memorised = next(e.epoch for e in epochs if e.train_accuracy == 1.0)
    assert memorised <= 100
    assert epochs[5 * memorised - 1].test_accuracy < 0.10  # long after: still near chance
    assert epochs[-1].test_accuracy >= 0.98
    # ‖w‖² falls through the plateau, from its peak to where the test accuracy climbs.
    peak = max(e.weight_sq_norm for e in epochs[:200])
    climbed = next(e for e in epochs if e.test_accuracy >= 0.9)
    assert climbed.weight_sq_norm < 0.8 * peak
    _, memorising = run_to_end(preset="grokking", lam=0.0)
    assert epochs_of(memorising)[-1].test_accuracy < 0.10
    assert all(math.isfinite(e.train_loss) for e in epochs_of(memorising))
