"""Which parameters decay: a Linear weight always, a Linear bias with --decay-bias, BatchNorm's
γ and β with --decay-norm. One rule (engine/regularization.py), the same in a run's optimizer
groups, its l2 penalty, a sweep and a replay; checked against counts made by hand and a bare
torch loop that penalizes the hand-chosen parameters."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from engine.config import RunConfig
from engine.events import ParamInfo
from engine.models import build_model, evaluating
from engine.regularization import (
    DecayCounts,
    decayed_names,
    parameter_counts,
    parameter_kinds,
    split_parameters,
)
from engine.store import load_run
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import finished_of, run_to_end, started_of

# An MLP 5 → 4 → 3 → 2 with BatchNorm, by hand:
#   0.weight 4×5 = 20   1.weight γ 4   1.bias β 4   (the hidden Linear has no bias)
#   3.weight 3×4 = 12   4.weight γ 3   4.bias β 3
#   6.weight 2×3 = 6    6.bias 2
WEIGHTS = {"0.weight", "3.weight", "6.weight"}  # 3 tensors, 38 values
BIASES = {"6.bias"}  # 1 tensor, 2 values
NORMS = {"1.weight", "1.bias", "4.weight", "4.bias"}  # 4 tensors, 14 values
HAND_COUNTS = {
    (False, False): DecayCounts(3, 38, 5, 16),
    (True, False): DecayCounts(4, 40, 4, 14),
    (False, True): DecayCounts(7, 52, 1, 2),
    (True, True): DecayCounts(8, 54, 0, 0),
}


def small_bn(**settings: object) -> tuple[RunConfig, nn.Module]:
    config = RunConfig(model="mlp", hidden=(4, 3), norm="batch", **settings).resolved()  # type: ignore[arg-type]
    return config, build_model(config, 5, 2)


def test_each_parameter_has_the_kind_of_the_module_it_belongs_to() -> None:
    _, model = small_bn()
    kinds = parameter_kinds(model)
    assert {n for n, k in kinds.items() if k == "weight"} == WEIGHTS
    assert {n for n, k in kinds.items() if k == "bias"} == BIASES
    assert {n for n, k in kinds.items() if k == "norm"} == NORMS


@pytest.mark.parametrize(("decay_bias", "decay_norm"), list(HAND_COUNTS))
def test_which_parameters_decay_for_each_choice(decay_bias: bool, decay_norm: bool) -> None:
    config, model = small_bn(decay_bias=decay_bias, decay_norm=decay_norm)
    expected = WEIGHTS | (BIASES if decay_bias else set()) | (NORMS if decay_norm else set())
    assert decayed_names(model, config) == expected
    penalized, free = split_parameters(model, config)
    assert {n for n, _ in penalized} == expected
    assert len(penalized) + len(free) == 8  # every parameter, once
    info = [
        ParamInfo(name, tuple(p.shape), name in expected) for name, p in model.named_parameters()
    ]
    assert parameter_counts(info) == HAND_COUNTS[(decay_bias, decay_norm)]


def test_mode_none_decays_nothing_but_keeps_the_norm_over_the_would_be_decayed() -> None:
    config, model = small_bn(reg="none", decay_norm=True)
    assert decayed_names(model, config) == set()
    penalized, _ = split_parameters(model, config)  # ‖w‖² is reported over these
    assert {n for n, _ in penalized} == WEIGHTS | NORMS


def test_a_plain_mlp_decays_its_weights_and_with_decay_bias_its_biases() -> None:
    for decay_bias, counts in ((False, DecayCounts(3, 38, 3, 9)), (True, DecayCounts(6, 47, 0, 0))):
        config = RunConfig(model="mlp", hidden=(4, 3), decay_bias=decay_bias).resolved()
        model = build_model(config, 5, 2)
        info = [
            ParamInfo(n, tuple(p.shape), n in decayed_names(model, config))
            for n, p in model.named_parameters()
        ]
        assert parameter_counts(info) == counts
    assert DecayCounts(3, 38, 5, 16).describe() == (
        "λ decays 3 tensors (38 values); 5 tensors free (16 values)"
    )
    assert DecayCounts(1, 1_000, 1, 1).describe() == (
        "λ decays 1 tensor (1,000 values); 1 tensor free (1 value)"
    )


# ----- the run's optimizer and penalty use exactly those ---------------------------------------

RUN = {"preset": "digits", "model": "mlp", "hidden": (8, 6), "norm": "batch", "batch_size": 0}


@pytest.mark.parametrize(("decay_bias", "decay_norm"), list(HAND_COUNTS))
def test_wd_mode_puts_exactly_the_decayed_parameters_in_the_decaying_group(
    decay_bias: bool, decay_norm: bool
) -> None:
    trainer = Trainer(
        RunConfig(
            save=False, reg="wd", lam=0.01, decay_bias=decay_bias, decay_norm=decay_norm, **RUN
        ),  # type: ignore[arg-type]
        lambda e: None,
    )
    ids = {id(p): name for name, p in trainer.model.named_parameters()}
    decaying = [g for g in trainer.optimizer.param_groups if g["weight_decay"]]
    assert len(decaying) == 1 and decaying[0]["weight_decay"] == pytest.approx(0.02)
    expected = {n for n, kind in parameter_kinds(trainer.model).items()
                if kind == "weight" or (kind == "bias" and decay_bias)
                or (kind == "norm" and decay_norm)}  # fmt: skip
    assert {ids[id(p)] for p in decaying[0]["params"]} == expected
    assert {p.name for p in trainer.parameter_info() if p.penalized} == expected


@pytest.mark.parametrize("reg", ["l2", "wd"])
@pytest.mark.parametrize(
    ("decay_bias", "decay_norm"), [(False, False), (True, True), (False, True)]
)
def test_a_run_equals_a_bare_torch_loop_that_decays_the_parameters_chosen_by_hand(
    reg: str, decay_bias: bool, decay_norm: bool
) -> None:
    lam, lr, epochs = 0.05, 0.1, 4
    settings = {**RUN, "reg": reg, "lam": lam, "lr": lr, "epochs": epochs,
                "decay_bias": decay_bias, "decay_norm": decay_norm}  # fmt: skip
    trainer, events = run_to_end(**settings)
    # The reference: the same initial weights, the hand-made choice of what decays.
    reference = Trainer(RunConfig(save=False, **settings), lambda e: None)  # type: ignore[arg-type]
    model = copy.deepcopy(reference.model)
    chosen = [p for n, p in model.named_parameters()
              if (n.endswith("weight") and n.split(".")[0] in ("0", "3", "6"))
              or (decay_bias and n == "6.bias")
              or (decay_norm and n.split(".")[0] in ("1", "4"))]  # fmt: skip
    others = [p for p in model.parameters() if all(p is not q for q in chosen)]
    x, y = reference.data.x, reference.data.y
    if reg == "wd":
        optimizer = torch.optim.SGD(
            [{"params": chosen, "weight_decay": 2 * lam}, {"params": others}], lr=lr
        )
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(model(x), y)
        if reg == "l2":
            loss = loss + lam * sum(p.pow(2).sum() for p in chosen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, p in model.state_dict().items():
        torch.testing.assert_close(trainer.model.state_dict()[name], p, rtol=1e-5, atol=1e-6)
    # The reported penalty is λ·Σ‖w‖² over exactly those, at the last epoch's weights.
    last = [e for e in events if type(e).__name__ == "Epoch"][-1]
    assert last.penalty == pytest.approx(
        lam * sum(float(p.detach().pow(2).sum()) for p in chosen), rel=1e-5
    )
    with torch.no_grad(), evaluating(model):  # the train loss, with the running statistics
        expected = float(nn.functional.cross_entropy(model(x), y))
    assert last.train_loss == pytest.approx(expected, rel=1e-5)


def test_a_sweep_and_a_replay_report_the_same_choice_as_the_run(tmp_path) -> None:
    settings = {**RUN, "epochs": 2, "decay_norm": True, "runs_dir": str(tmp_path)}
    _, events = run_to_end(**settings)
    live = started_of(events).parameters
    sweep = Sweep(RunConfig(save=False, **settings), [0.0, 0.1], lambda e: None)  # type: ignore[arg-type]
    assert sweep.parameter_info() == live
    saved_trainer = Trainer(RunConfig(**settings), lambda e: None)  # type: ignore[arg-type]
    done = saved_trainer.run()
    assert done.run_dir is not None
    saved = load_run(done.run_dir)
    # BatchNorm's running statistics are in weights.pt, but they are not parameters.
    assert saved.started.parameters == live
    assert saved.finished is not None
    assert set(saved.finished.weights) == {p.name for p in live} == set(done.weights)
    assert finished_of(events).status == "completed"
