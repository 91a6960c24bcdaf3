"""`--norm batch`: the model, its scale invariance, eval-mode measurements, the effective
learning rate lr/‖W‖², replays and the sweep."""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import replace

import pytest
import torch
from test_tui_controls import choose, paced_app, press
from textual.widgets import Static
from torch import nn

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.events import effective_lrs
from engine.limits import parameter_count
from engine.models import build_model, evaluating
from engine.regularization import effective_lr, scale_invariant
from support.engine import (
    call_wdtui,
    epochs_of,
    finished_of,
    run_to_end,
    started_of,
    sweep_epochs_of,
    sweep_finished_of,
    sweep_to_end,
)
from support.tui import SIZE, running, sync
from tui.state.sweep_settings import settings_change

BN = {"model": "mlp", "hidden": (16, 8), "norm": "batch"}


def bn_model(**settings: object) -> nn.Module:
    config = RunConfig(**{**BN, **settings}).resolved()  # type: ignore[arg-type]
    return build_model(config, n_features=5, n_outputs=3)


def rows(n: int = 32, seed: int = 7) -> torch.Tensor:
    return torch.randn(n, 5, generator=torch.Generator().manual_seed(seed))


def scaled(model: nn.Module, name: str, c: float) -> nn.Module:
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.get_parameter(name).mul_(c)
    return other


# ----- the model ------------------------------------------------------------------------------


def test_each_hidden_layer_is_linear_without_bias_then_batchnorm_then_the_activation() -> None:
    model = bn_model(activation="tanh")
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    assert model[0].bias is None and model[3].bias is None and model[6].bias is not None
    for norm in (model[1], model[4]):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.equal(norm.bias, torch.zeros_like(norm.bias))
    # Seeded: the same config, the same weights.
    again = bn_model(activation="tanh")
    for (name, p), (_, q) in zip(model.named_parameters(), again.named_parameters(), strict=True):
        assert torch.equal(p, q), name
    assert not torch.equal(model[0].weight, bn_model(activation="tanh", seed=1)[0].weight)


@pytest.mark.parametrize("norm", ["none", "batch"])
@pytest.mark.parametrize("hidden", [(16, 8), (3,), (7, 7, 2)])
def test_the_parameter_count_is_the_built_models(norm: str, hidden: tuple[int, ...]) -> None:
    config = RunConfig(model="mlp", hidden=hidden, norm=norm).resolved()
    model = build_model(config, 5, 3)
    assert parameter_count(config, 5, 3) == sum(p.numel() for p in model.parameters())


def test_a_linear_model_with_batchnorm_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as refused:
        RunConfig(model="linear", norm="batch").resolved()
    assert str(refused.value) == (
        "--norm batch needs --model mlp: a linear model has no hidden layer to normalize"
    )
    with pytest.raises(ConfigError, match="unknown norm 'layer'"):
        RunConfig(model="mlp", norm="layer").resolved()
    with pytest.raises(ConfigError, match="decay_norm must be true or false"):
        RunConfig(decay_norm="yes").resolved()  # type: ignore[arg-type]


def test_a_batch_of_one_row_is_refused_before_training() -> None:
    # digits: 300 training rows; batches of 13 leave a last batch of 1 (no variance).
    with pytest.raises(ConfigError, match=r"2 rows or more in every batch.*leave a batch of 1"):
        run_to_end(preset="digits", **BN, batch_size=13, epochs=1)


# ----- scale invariance -------------------------------------------------------------------------


def test_the_weights_before_each_batchnorm_are_found() -> None:
    assert scale_invariant(bn_model()) == {"0.weight", "3.weight"}
    plain = RunConfig(model="mlp", hidden=(16, 8)).resolved()
    assert scale_invariant(build_model(plain, 5, 3)) == set()


def exact_model() -> nn.Module:
    """The BN model in float64 with a negligible ε (torch refuses ε = 0 in training): BN is
    then scale-invariant to rounding."""
    model = bn_model().double()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.eps = 1e-30
    return model


@pytest.mark.parametrize("c", [0.1, 10.0])
@pytest.mark.parametrize("name", ["0.weight", "3.weight"])
def test_scaling_a_weight_before_batchnorm_leaves_the_training_mode_outputs(
    name: str, c: float
) -> None:
    """Exact without BN's ε: BN(cWx) = BN(Wx). With torch's ε = 1e-5 the rows' variance
    moves against ε, so float32 outputs move by about ε/variance, no more."""
    x = rows()
    model = exact_model()
    torch.testing.assert_close(
        scaled(model, name, c)(x.double()), model(x.double()), rtol=1e-10, atol=1e-12
    )
    real = bn_model()
    # ε = 1e-5 against the layer's variance (as low as ~0.03 here), times c² after scaling:
    # measured 1.6e-4 at c = 10 and 0.015 at c = 0.1 for the second layer.
    atol = 5e-2 if c < 1 else 1e-3
    torch.testing.assert_close(scaled(real, name, c)(x), real(x), rtol=1e-5, atol=atol)
    # The output layer feeds no BatchNorm: scaling it scales the logits.
    assert not torch.allclose(scaled(real, "6.weight", c)(x), real(x), rtol=1e-3)


def test_in_eval_mode_the_running_statistics_do_not_scale_with_the_weights() -> None:
    model = bn_model()
    x = rows()
    with torch.no_grad():
        for _ in range(20):  # running statistics from training-mode passes
            model(x)
    other = scaled(model, "0.weight", 10.0)
    with evaluating(model), evaluating(other):
        assert not torch.allclose(other(x), model(x), rtol=1e-2)
    assert model.training and other.training  # back in training mode after


def test_the_gradient_before_batchnorm_is_orthogonal_to_the_weight_and_goes_as_1_over_c() -> None:
    """⟨∇L, W⟩ = 0 (L does not change along W), and ∇L(cW) = ∇L(W)/c: a step turns W by an
    angle of about lr·‖∇L‖/‖W‖, whose size goes as lr/‖W‖² once ‖∇L‖ ∝ 1/‖W‖."""
    x, y = rows().double(), torch.arange(32) % 3

    def gradient(m: nn.Module, name: str) -> torch.Tensor:
        m.zero_grad()
        nn.functional.cross_entropy(m(x.to(next(m.parameters()).dtype)), y).backward()
        grad = m.get_parameter(name).grad
        assert grad is not None
        return grad

    def cosine(m: nn.Module, name: str) -> float:
        w, g = m.get_parameter(name).detach(), gradient(m, name)
        return float((g * w).sum() / (g.norm() * w.norm()))

    model = exact_model()
    for name in ("0.weight", "3.weight"):
        assert abs(cosine(model, name)) < 1e-12, name
        assert abs(cosine(bn_model(), name)) < 1e-4, name  # ε = 1e-5, float32
        g10 = gradient(scaled(model, name, 10.0), name)
        torch.testing.assert_close(g10, gradient(model, name) / 10, rtol=1e-8, atol=1e-14)
    # A weight that feeds no BatchNorm has no such constraint.
    assert abs(cosine(model, "6.weight")) > 1e-3


# ----- a run ------------------------------------------------------------------------------------

DIGITS_BN = {"preset": "digits", "model": "mlp", "hidden": (32, 32), "norm": "batch"}


def test_a_digits_run_with_batchnorm_learns_and_reports_the_effective_learning_rate() -> None:
    trainer, events = run_to_end(**DIGITS_BN, epochs=6, lam=1e-3)
    done, started = finished_of(events), started_of(events)
    assert done.status == "completed", done.message
    last = epochs_of(events)[-1]
    assert last.test_accuracy is not None and last.test_accuracy > 0.8  # chance: 0.1
    assert started.scale_invariant == ("0.weight", "3.weight")
    reported = effective_lrs(started, last)
    assert set(reported) == {"0.weight", "3.weight"}
    for name, value in reported.items():
        sq = float(trainer.model.get_parameter(name).detach().pow(2).sum())
        assert value == pytest.approx(last.lr / sq, rel=1e-6)
        assert value == pytest.approx(effective_lr(last.lr, sq), rel=1e-6)
    # Which parameters decay: the Linear weights only (BN's γ, β and the output bias are free).
    penalized = {p.name for p in started.parameters if p.penalized}
    assert penalized == {"0.weight", "3.weight", "6.weight"}


def test_decay_shrinks_the_weights_before_batchnorm_and_raises_their_effective_lr() -> None:
    settings = {**DIGITS_BN, "epochs": 8, "lr": 0.1}
    rates = []
    for lam in (0.0, 5e-2):
        _, events = run_to_end(**settings, lam=lam)
        rates.append(effective_lrs(started_of(events), epochs_of(events)[-1]))
    for name in ("0.weight", "3.weight"):
        # Measured: 0.0087 → 0.035 (0.weight), 0.0091 → 0.042 (3.weight).
        assert rates[1][name] > 3 * rates[0][name], name


def test_the_losses_reported_are_measured_in_eval_mode() -> None:
    """Test and train loss at an epoch's end use the running statistics, for a full batch
    too (no shortcut through the next training-mode forward pass)."""
    for batch_size in (0, 64):
        trainer, events = run_to_end(**DIGITS_BN, epochs=3, batch_size=batch_size)
        last = epochs_of(events)[-1]
        model, data, task = trainer.model, trainer.data, trainer.task
        assert model.training
        with torch.no_grad(), evaluating(model):
            train = task.loss(model(data.x), data.y).item()
            assert data.test is not None
            test = task.loss(model(data.test[0]), data.test[1]).item()
        with torch.no_grad():
            in_training_mode = task.loss(model(data.x), data.y).item()
        assert last.train_loss == pytest.approx(train, rel=1e-6)
        assert last.test_loss == pytest.approx(test, rel=1e-6)
        assert in_training_mode != pytest.approx(train, rel=1e-6)


def test_a_batchnorm_run_replays_bit_for_bit_from_its_config(capsys, tmp_path) -> None:
    argv = ["run", "--preset", "digits", "--model", "mlp", "--hidden", "16,16", "--norm",
            "batch", "--decay-norm", "--lam", "1e-3", "--epochs", "3", "--runs-dir",
            str(tmp_path / "a")]  # fmt: skip
    code, _, err = call_wdtui(capsys, *argv)
    assert code == 0, err
    (first,) = (tmp_path / "a").iterdir()
    saved = json.loads((first / "config.json").read_text())
    assert saved["norm"] == "batch" and saved["decay_norm"] is True
    code, _, err = call_wdtui(
        capsys, "run", "--config", str(first / "config.json"), "--runs-dir", str(tmp_path / "b")
    )
    assert code == 0, err
    (second,) = (tmp_path / "b").iterdir()
    a = torch.load(first / "weights.pt", weights_only=True)
    b = torch.load(second / "weights.pt", weights_only=True)
    assert "1.running_mean" in a and set(a) == set(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    losses = [
        [(row["train_loss"], row["test_loss"]) for row in csv.DictReader(text.splitlines())]
        for text in ((path / "metrics.csv").read_text() for path in (first, second))
    ]
    assert len(losses[0]) == 3 and losses[0] == losses[1]


def test_the_command_line_refuses_batchnorm_on_a_linear_model_in_one_line(capsys) -> None:
    code, out, err = call_wdtui(capsys, "run", "--preset", "line", "--norm", "batch")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "wdtui run: error: --norm batch needs --model mlp: a linear model has no hidden layer "
        "to normalize"
    ]


# ----- the sweep --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reg", "optimizer", "batch_size", "decay_norm"),
    [("l2", "sgd", 64, False), ("wd", "adamw", 0, True)],
)
def test_sweep_members_with_batchnorm_equal_their_runs(
    reg: str, optimizer: str, batch_size: int, decay_norm: bool
) -> None:
    lams = [0.0, 1e-3, 1e-2]
    settings = {**DIGITS_BN, "hidden": (16, 8), "epochs": 3, "reg": reg, "optimizer": optimizer,
                "batch_size": batch_size, "decay_norm": decay_norm, "lr": 0.02}  # fmt: skip
    _, events = sweep_to_end(lams, **settings)
    done = sweep_finished_of(events)
    assert done.status == "completed", done.message
    sweep_epochs = sweep_epochs_of(events)
    for k, lam in enumerate(lams):
        _, run_events = run_to_end(**settings, lam=lam)
        weights = finished_of(run_events).weights
        member = done.results[k]
        assert set(member.weights) == set(weights)
        for name in weights:
            torch.testing.assert_close(
                torch.tensor(member.weights[name]),
                torch.tensor(weights[name]),
                atol=1e-5,
                rtol=1e-5,
            )
        for s, r in zip(sweep_epochs, epochs_of(run_events), strict=True):
            assert s.train_loss[k] == pytest.approx(r.train_loss, rel=1e-4, abs=1e-6)
            assert s.test_loss[k] == pytest.approx(r.test_loss, rel=1e-4, abs=1e-6)
            assert s.weight_sq_norm[k] == pytest.approx(r.weight_sq_norm, rel=1e-4, abs=1e-6)


# ----- the explorer's controls ------------------------------------------------------------------


@sync
async def test_the_controls_start_a_batchnorm_run_with_its_norm_layers_decayed() -> None:
    app = paced_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        # BatchNorm and its decay mean nothing to a linear model: dimmed, never passed.
        assert app.query_one("#norm-row").disabled and app.query_one("#decay-norm-row").disabled
        await choose(pilot, "model", "mlp")
        assert not app.query_one("#norm-row").disabled
        await choose(pilot, "norm", "batch")
        await choose(pilot, "decay-norm", True)
        assert "norm, BN γβ" in str(app.query_one("#pending", Static).render())
        await press(pilot, "r")
        config = live.current.config  # type: ignore[union-attr]
        assert config.norm == "batch" and config.decay_norm is True
        assert live.trainer is not None
        kinds = [type(m).__name__ for m in live.trainer.model.children()]
        assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
        penalized = {p.name for p in live.parameters if p.penalized}
        assert penalized == {"0.weight", "1.weight", "1.bias", "3.weight", "4.weight", "4.bias",
                             "6.weight"}  # fmt: skip
        await running(pilot, min_epoch=2)
        # Back to a linear model: the next run drops BatchNorm (the engine's rule).
        await choose(pilot, "model", "linear")
        await press(pilot, "r")
        assert live.current.config.norm == "none"  # type: ignore[union-attr]


def test_wdtui_run_reports_what_decays_and_each_effective_learning_rate(capsys, tmp_path) -> None:
    code, out, err = call_wdtui(
        capsys, "run", "--preset", "digits", "--model", "mlp", "--hidden", "16,8", "--norm",
        "batch", "--lam", "1e-2", "--lr", "0.1", "--epochs", "4", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    # By hand: 16×64 + 8×16 + 10×8 = 1,232 weight values; γ, β 2×(16 + 8) = 48, biases 10.
    assert "  λ decays 3 tensors (1,232 values); 5 tensors free (58 values)" in lines
    (line,) = [
        x for x in lines if x.startswith("  effective lr (lr/‖W‖², weights before a BatchNorm)")
    ]
    words = line.split(": ", 1)[1].split()  # name rate name rate
    shown = {name: float(rate) for name, rate in zip(words[::2], words[1::2], strict=True)}
    (run_dir,) = tmp_path.iterdir()
    weights = torch.load(run_dir / "weights.pt", weights_only=True)
    assert set(shown) == {"0.weight", "3.weight"}
    for name, rate in shown.items():
        assert rate == pytest.approx(0.1 / float(weights[name].pow(2).sum()), rel=1e-3)


def test_a_sweep_of_another_norm_or_norm_decay_is_stale_and_says_how() -> None:
    results = RunConfig(preset="digits", model="mlp", hidden=(64, 64)).resolved()
    change = settings_change(results, replace(results, norm="batch"))
    assert change is not None and change.fields == ("norm",)
    assert (change.then, change.now) == ("mlp 64-64 relu", "mlp 64-64 relu batchnorm")
    batch = replace(results, norm="batch")
    change = settings_change(batch, replace(batch, decay_bias=True, decay_norm=True))
    assert change is not None and change.fields == ("decay_bias", "decay_norm")
    assert (change.then, change.now) == ("sgd + l2", "sgd + l2 (biases and BN γ, β too)")
    # Without a BatchNorm (a linear model, or an MLP without one) decay_norm decides nothing.
    for plain in (RunConfig(preset="digits").resolved(), results):
        assert settings_change(plain, replace(plain, decay_norm=True)) is None
