"""The update split (engine/update_split.py): each part against a hand-computed reference, for
every optimizer; the shrink factor and τ from their formulas; the numbers the run reports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from engine.config import RunConfig
from engine.decay_timescale import decay_timescale, no_timescale_reason
from engine.events import Epoch
from engine.job import DeviceData
from engine.regularization import build_optimizer
from engine.store import read_metrics
from engine.trainer import Trainer
from engine.update_split import UpdateSplit
from support.engine import call_wdtui, epochs_of

LAM, LR = 0.3, 0.05

# (optimizer, mode, momentum): every way λ reaches the weights.
CASES = [
    ("sgd", "l2", 0.0),
    ("sgd", "wd", 0.0),
    ("sgd", "l2", 0.9),
    ("sgd", "wd", 0.9),
    ("adam", "l2", 0.0),
    ("adam", "wd", 0.0),
    ("adamw", "l2", 0.0),
    ("adamw", "wd", 0.0),
]


def problem() -> tuple[torch.Tensor, torch.Tensor, torch.nn.Linear]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 5, generator=generator)
    y = x @ torch.randn(5, 1, generator=generator) + 0.1 * torch.randn(32, 1, generator=generator)
    model = torch.nn.Linear(5, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 5, generator=generator))
        model.bias.zero_()
    return x, y, model


@pytest.mark.parametrize(("optimizer_name", "reg", "momentum"), CASES)
def test_each_part_matches_its_hand_computed_reference(
    optimizer_name: str, reg: str, momentum: float
) -> None:
    x, y, model = problem()
    w = model.weight
    config = RunConfig(optimizer=optimizer_name, reg=reg, momentum=momentum, lam=LAM, lr=LR)
    optimizer = build_optimizer(config, [w], [model.bias], LAM, LR)
    split = UpdateSplit([w], optimizer, optimizer_name=optimizer_name, reg=reg, momentum=momentum)
    start = w.detach().clone()
    decay_ref = torch.zeros_like(w)
    data_ref = torch.zeros_like(w)
    # The decay's and the data's own moments, by hand (SGD's buffer, Adam's first moment).
    decay_moment, data_moment = torch.zeros_like(w), torch.zeros_like(w)
    beta1, beta2 = 0.9, 0.999
    decoupled = optimizer_name == "adamw" and reg == "wd"
    adam = optimizer_name in ("adam", "adamw")
    for t, rows in enumerate([slice(0, 8), slice(8, 16), slice(16, 24), slice(24, 32)] * 2, 1):
        before = w.detach().clone()
        data_loss = F.mse_loss(model(x[rows]), y[rows])
        data_grad = torch.autograd.grad(data_loss, w, retain_graph=True)[0]
        loss = data_loss + (LAM * w.pow(2).sum() if reg == "l2" else 0.0)
        optimizer.zero_grad()
        loss.backward()
        split.before_step(LAM, LR)
        optimizer.step()
        split.after_step()
        if adam:
            state = optimizer.state[w]
            denominator = state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t) + 1e-8
            data_moment = beta1 * data_moment + (1 - beta1) * data_grad
            data_ref += -LR / (1 - beta1**t) * data_moment / denominator
            if decoupled:  # AdamW's shrink, applied before its Adam step
                decay_ref += -LR * 2 * LAM * before
            else:
                decay_moment = beta1 * decay_moment + (1 - beta1) * 2 * LAM * before
                decay_ref += -LR / (1 - beta1**t) * decay_moment / denominator
        else:
            decay_moment = momentum * decay_moment + 2 * LAM * before
            data_moment = momentum * data_moment + data_grad
            decay_ref += -LR * decay_moment
            data_ref += -LR * data_moment
    (update,), (data,), (decay,) = split.parts()
    torch.testing.assert_close(update, w.detach() - start, rtol=0, atol=0)
    torch.testing.assert_close(decay, decay_ref, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(data, data_ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(data + decay, update, rtol=1e-6, atol=1e-7)  # the parts add up
    assert decay.norm() > 1e-3  # and the penalty did something


def test_sgd_decay_part_is_minus_lr_times_the_sum_of_2_lambda_w() -> None:
    # The issue's own statement, with minibatches (4 steps an epoch) on a preset.
    config = RunConfig(preset="highdim", epochs=3, lam=0.7, lr=0.01, save=False)
    trainer = Trainer(config, lambda e: None)
    weight = trainer.model.weight
    data = DeviceData(trainer.dataset, torch.device("cpu"), config.seed, 5)
    twin = torch.nn.Linear(weight.shape[1], 1)
    twin.load_state_dict(trainer.model.state_dict())
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.01)
    decays = []
    for _ in range(3):
        total = torch.zeros_like(twin.weight)
        for idx in data.epoch_order() or []:
            xb, yb = data.batch(idx)
            total += -0.01 * 2 * 0.7 * twin.weight.detach()
            loss = F.mse_loss(twin(xb), yb) + 0.7 * twin.weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        decays.append(total.norm().item())
    events: list = []
    Trainer(config, events.append).run()
    reported = [e.decay_update_norm for e in epochs_of(events)]
    assert reported == pytest.approx(decays, rel=1e-5)


def test_the_run_reports_the_split_in_events_json_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call_wdtui(
        capsys, "run", "--jsonl", "--preset", "highdim", "--epochs", "5", "--lam", "1",
        "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    started = lines[0]
    epochs = [e for e in lines if e["event"] == "epoch"]
    assert started["layer_names"] == ["weight"]
    for e in epochs:
        assert e["update_norm"] > 0 and e["decay_update_norm"] > 0
        # the parts add up: ‖data + decay‖ = ‖Δw‖ ≤ ‖data‖ + ‖decay‖ (the triangle inequality)
        assert e["update_norm"] <= e["data_update_norm"] + e["decay_update_norm"] + 1e-9
        (layer,) = e["layer_sq_norms"]
        assert layer == pytest.approx(e["weight_sq_norm"], rel=1e-6)
    (run_dir,) = tmp_path.iterdir()
    rows = read_metrics(run_dir)
    for row, e in zip(rows, epochs, strict=True):
        for name in ("update_norm", "data_update_norm", "decay_update_norm"):
            assert row[name] == e[name]


def test_mode_none_has_no_decay_part_and_the_update_is_all_data() -> None:
    events: list = []
    Trainer(RunConfig(preset="highdim", epochs=3, reg="none", save=False), events.append).run()
    for e in epochs_of(events):
        assert e.decay_update_norm == 0.0
        assert e.data_update_norm == pytest.approx(e.update_norm, rel=1e-6)


def test_an_mlp_reports_each_weight_s_norm() -> None:
    events: list = []
    config = RunConfig(preset="highdim", model="mlp", hidden=(8, 4), epochs=2, save=False)
    trainer = Trainer(config, events.append)
    trainer.run()
    last: Epoch = epochs_of(events)[-1]
    expected = [p.detach().pow(2).sum().item() for n, p in trainer.model.named_parameters()]
    names = [n for n, _ in trainer.model.named_parameters()]
    by_name = dict(zip(names, expected, strict=True))
    started = events[0]
    assert started.layer_names == ("0.weight", "2.weight", "4.weight")
    assert list(last.layer_sq_norms) == pytest.approx(
        [by_name[n] for n in started.layer_names], rel=1e-6
    )
    assert sum(last.layer_sq_norms) == pytest.approx(last.weight_sq_norm, rel=1e-6)


# ----- the shrink factor and τ ----------------------------------------------------------------


def test_shrink_and_tau_follow_their_formulas() -> None:
    sgd = decay_timescale("sgd", "l2", 0.3, 0.01, steps_per_epoch=19)
    assert sgd is not None
    assert sgd.shrink == pytest.approx(1 - 0.01 * 2 * 0.3)
    assert sgd.tau_steps == pytest.approx(1 / (0.01 * 2 * 0.3))
    assert sgd.tau_epochs == pytest.approx(1 / (0.01 * 2 * 0.3) / 19)
    assert sgd.words() == (
        "each step keeps 99.4% of w; the decay forgets in about 170 steps (8.8 epochs)"
    )
    momentum = decay_timescale("sgd", "wd", 0.3, 0.01, momentum=0.9)
    assert momentum is not None and momentum.tau_steps == pytest.approx(0.1 / (0.01 * 0.6))
    adamw = decay_timescale("adamw", "wd", 0.01, 0.001, steps_per_epoch=4)
    assert adamw is not None and adamw.shrink == pytest.approx(1 - 0.001 * 0.02)
    assert "99.998%" in adamw.words() and "50,000 steps (12,500 epochs)" in adamw.words()
    assert decay_timescale("adam", "l2", 0.1, 0.01) is None
    assert decay_timescale("adamw", "l2", 0.1, 0.01) is None
    assert decay_timescale("sgd", "l2", 0.0, 0.01) is None
    assert decay_timescale("sgd", "none", 1.0, 0.01) is None
    assert "no fixed shrink" in no_timescale_reason("adam", "l2", 0.1)
    overshoot = decay_timescale("sgd", "l2", 100.0, 0.01)
    assert overshoot is not None and "overshoots" in overshoot.words()


def test_sgd_weights_shrink_by_that_factor_when_the_data_pull_is_zero() -> None:
    # With no data gradient (targets all zero and inputs zero), each SGD step multiplies w by
    # exactly the factor: the decay alone.
    w = torch.nn.Parameter(torch.tensor([[2.0, -1.0]]))
    optimizer = torch.optim.SGD([w], lr=0.01, weight_decay=2 * 0.3)
    timescale = decay_timescale("sgd", "wd", 0.3, 0.01)
    assert timescale is not None
    for _ in range(10):
        optimizer.zero_grad()
        (w * 0).sum().backward()
        optimizer.step()
    torch.testing.assert_close(w.detach(), torch.tensor([[2.0, -1.0]]) * timescale.shrink**10)
