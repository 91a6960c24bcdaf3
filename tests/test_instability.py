"""Unstable steps are flagged: a non-finite train *or test* loss is a divergence, and lr·2λ ≥ 1
is warned about (engine/diagnosis.py `decay_step_warning`) by `wdtui run`, `wdtui sweep` and
their events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from engine.config import RunConfig
from engine.data import load_dataset
from engine.diagnosis import decay_step_warning
from engine.events import Epoch, Event, Started
from engine.store import load_run, load_sweep
from engine.sweep.events import SweepEvent, SweepFinished, SweepStarted
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import call_wdtui, epochs_of, finished_of, run_to_end, started_of

# ----- the warning's rule -------------------------------------------------------------------


def test_the_warning_starts_exactly_at_lr_times_2_lam_equal_to_1() -> None:
    sgd = RunConfig().resolved()
    assert decay_step_warning(sgd, 49.9, 0.01) is None  # lr·2λ = 0.998
    assert decay_step_warning(sgd, 50.0, 0.01) == (
        "lr·2λ = 1 ≥ 1: each step's decay alone takes w to 0 or past it (w × 0; from 2 it "
        "diverges); lower lr or λ"
    )
    assert decay_step_warning(sgd, 60.0, 0.01) == (
        "lr·2λ = 1.2 ≥ 1: each step's decay alone takes w to 0 or past it (w × -0.2; from 2 it "
        "diverges); lower lr or λ"
    )
    # It fits on one line of the explorer's status line at 120 columns, momentum and all.
    long = decay_step_warning(RunConfig(momentum=0.95).resolved(), 61.7, 0.01)
    assert long is not None and len("⚠ " + long) <= 118
    # A product that float rounding puts a hair below 1 is 1: λ = 0.5 / lr for lr 0.013.
    lr = 0.013
    lam = 0.5 / lr
    assert lr * 2 * lam < 1
    assert decay_step_warning(sgd, lam, lr) is not None
    assert decay_step_warning(sgd, 0.0, 1e30) is None  # no penalty, nothing decays


def test_the_warning_covers_sgd_in_both_modes_and_adamw_decoupled_only() -> None:
    lam, lr = 100.0, 0.01  # lr·2λ = 2
    expected = decay_step_warning(RunConfig().resolved(), lam, lr)
    assert expected is not None and expected.startswith("lr·2λ = 2 ≥ 1")
    for optimizer, reg, warns in [
        ("sgd", "l2", True),
        ("sgd", "wd", True),  # the very same step as l2
        ("adamw", "wd", True),  # decoupled: w ← w − lr·2λ·w before the Adam step
        ("adamw", "l2", False),  # Adam with the penalty in the loss: normalized, ≈ lr per step
        ("adam", "l2", False),
        ("adam", "wd", False),  # coupled into the moments: normalized too
    ]:
        config = RunConfig(optimizer=optimizer, reg=reg).resolved()
        assert (decay_step_warning(config, lam, lr) == expected) is warns, (optimizer, reg)
        if not warns:
            assert decay_step_warning(config, lam, lr) is None
    adamw = RunConfig(optimizer="adamw", reg="wd").resolved()
    assert decay_step_warning(adamw, 49.9, 0.01) is None
    assert decay_step_warning(adamw, 50.0, 0.01) is not None
    assert decay_step_warning(RunConfig(reg="none").resolved(), 100.0, 0.01) is None
    # Heavy-ball momentum μ moves the divergence limit to 2(1 + μ), not the warning's 1.
    heavy = decay_step_warning(RunConfig(momentum=0.9).resolved(), 50.0, 0.01)
    assert heavy is not None and "from 3.8 it diverges" in heavy


def test_the_warning_reads_a_config_dict_as_events_carry_it() -> None:
    config = RunConfig(preset="poly", lam=100.0).resolved()
    assert decay_step_warning(config.to_dict(), 100.0, 0.01) == decay_step_warning(
        config, 100.0, 0.01
    )
    assert decay_step_warning({}, 100.0, 0.01) is not None  # the defaults: sgd, l2
    assert decay_step_warning({"lr": 0.01}, None, 0.01) is None


# ----- a run: the test loss counts ------------------------------------------------------------


def csv_with_huge_test_targets(tmp_path: Path) -> tuple[Path, Path]:
    """Two CSVs with the same rows in the same order; in the second, the target of every row
    that lands in the test split (seed 0, 20 % held out) is 1e30: its squared error overflows
    float32, while the training rows are untouched."""
    clean = tmp_path / "clean.csv"
    clean.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(20)))
    probe = load_dataset(RunConfig(data=str(clean), target="y", standardize=False).resolved())
    assert probe.x_test is not None
    test_rows = {int(v) for v in probe.x_test[:, 0].tolist()}
    assert len(test_rows) == 4
    huge = tmp_path / "huge_test.csv"
    huge.write_text(
        "x,y\n" + "".join(f"{i},{'1e30' if i in test_rows else 2 * i + 1}\n" for i in range(20))
    )
    return clean, huge


@pytest.mark.parametrize(
    ("epochs", "batch_size"),
    [
        (5, 0),  # full batch: epoch 1 is reported from epoch 2's first forward pass
        (1, 0),  # full batch, last epoch: reported after the loop
        (5, 4),  # minibatches: reported at the epoch's end
    ],
)
def test_a_run_whose_test_loss_overflows_diverges_there(
    tmp_path: Path, epochs: int, batch_size: int
) -> None:
    clean, huge = csv_with_huge_test_targets(tmp_path)
    settings: dict[str, Any] = {"target": "y", "epochs": epochs, "batch_size": batch_size}
    _, events = run_to_end(data=str(huge), **settings)
    done = finished_of(events)
    (first,) = epochs_of(events)
    assert math.isfinite(first.train_loss) and not math.isfinite(first.test_loss or 0.0)
    assert done.status == "diverged" and done.epochs == 1
    assert done.message == (
        "diverged at epoch 1: the test loss is inf (the test rows are on a huge scale (|y| up "
        "to 1e+30): their squared error overflows float32; rescale the data)"
    )
    # Stopped at epoch 1's weights: the test rows never touch training, so they are exactly
    # those of a one-epoch run on the clean file.
    _, clean_events = run_to_end(data=str(clean), **{**settings, "epochs": 1})
    clean_done = finished_of(clean_events)
    assert clean_done.status == "completed"
    for name in clean_done.weights:
        assert torch.equal(done.weights.tensor(name), clean_done.weights.tensor(name))


def test_poly_at_lam_100_diverges_on_its_test_loss() -> None:
    """The issue's case, as one run: the weights grow until the test rows' error overflows,
    while the training loss is still finite."""
    _, events = run_to_end(preset="poly", lam=100.0)
    done, last = finished_of(events), epochs_of(events)[-1]
    assert done.status == "diverged" and done.epochs == last.epoch < 400
    assert math.isfinite(last.train_loss) and last.test_loss == math.inf
    assert all(math.isfinite(e.test_loss or 0.0) for e in epochs_of(events)[:-1])
    assert done.message.startswith(f"diverged at epoch {last.epoch}: the test loss is inf (")
    assert "the weights grew so large that the test rows' error overflows: λ·lr is too large" in (
        done.message
    )
    # The started event carries the warning, as --jsonl prints it.
    started = started_of(events)
    assert started.warning == decay_step_warning(RunConfig(preset="poly").resolved(), 100, 0.01)
    assert started.to_json()["warning"] == started.warning is not None


def test_a_stable_run_has_no_warning_and_still_completes() -> None:
    _, events = run_to_end(preset="poly", lam=10.0, epochs=50)  # lr·2λ = 0.2
    assert finished_of(events).status == "completed"
    started = started_of(events)
    assert started.warning is None and started.to_json()["warning"] is None


def test_a_replayed_run_says_the_same_warning(tmp_path: Path) -> None:
    events: list[Event] = []
    trainer = Trainer(RunConfig(preset="line", lam=60.0, epochs=3, runs_dir=str(tmp_path)),
                      events.append)  # fmt: skip
    trainer.run()
    live = started_of(events)
    assert live.warning is not None and live.warning.startswith("lr·2λ = 1.2 ≥ 1")
    assert load_run(trainer.run_dir or "").started.to_json()["warning"] == live.warning


# ----- wdtui run ------------------------------------------------------------------------------


def test_wdtui_run_warns_on_stderr_and_in_the_started_line(capsys) -> None:
    code, out, err = call_wdtui(capsys, "run", "--preset", "poly", "--lam", "100", "--jsonl",
                                "--no-save")  # fmt: skip
    lines = [json.loads(line) for line in out.splitlines()]
    warning = decay_step_warning(RunConfig(preset="poly").resolved(), 100.0, 0.01)
    assert warning is not None
    assert err == f"wdtui run: warning: {warning}\n"
    started, last, done = lines[0], lines[-2], lines[-1]
    assert started["event"] == "started" and started["warning"] == warning
    assert code == 1 and done["status"] == "diverged"
    assert last["event"] == "epoch" and last["epoch"] == done["epochs"] < 400
    assert last["train_loss"] is not None and last["test_loss"] is None  # inf is written null
    assert "the test loss is inf" in done["message"]


def test_wdtui_run_summary_says_diverged_after_the_warning(capsys) -> None:
    code, out, err = call_wdtui(capsys, "run", "--preset", "poly", "--lam", "100", "--no-save")
    assert code == 1
    assert err.startswith("wdtui run: warning: lr·2λ = 2 ≥ 1: each step's decay alone takes w")
    assert out.startswith("diverged: ") and "the test loss is inf" in out


def test_wdtui_run_without_the_risk_says_nothing(capsys) -> None:
    code, out, err = call_wdtui(capsys, "run", "--preset", "poly", "--lam", "49.9", "--jsonl",
                                "--no-save", "--epochs", "2")  # fmt: skip
    assert code == 0 and "warning" not in err
    assert json.loads(out.splitlines()[0])["warning"] is None


# ----- a sweep --------------------------------------------------------------------------------

POLY_GRID = [0.0, 0.1, 1.0, 10.0, 100.0]


def poly_sweep(lams: list[float], **settings: Any) -> tuple[Sweep, list[SweepEvent]]:
    events: list[SweepEvent] = []
    sweep = Sweep(RunConfig(preset="poly", save=False, **settings), lams, events.append)
    sweep.run()
    return sweep, events


def test_a_poly_member_at_lam_100_diverges_on_its_test_loss_and_harms_no_one() -> None:
    _, events = poly_sweep(POLY_GRID)
    done = events[-1]
    assert isinstance(done, SweepFinished) and done.status == "completed"
    bad = done.results[4]
    assert bad.status == "diverged" and bad.epochs < 400
    assert bad.train_loss is not None and math.isfinite(bad.train_loss)
    assert bad.test_loss == math.inf
    assert "1 of 5 diverged (λ 100)" in done.message
    # The same epoch as the run with that λ, which diverges on its test loss too.
    _, run_events = run_to_end(preset="poly", lam=100.0)
    assert finished_of(run_events).epochs == bad.epochs
    # Frozen from then on: its last numbers are those of the epoch it diverged at.
    statuses = [e.statuses[4] for e in events if not isinstance(e, (SweepStarted, SweepFinished))]
    assert statuses.index("diverged") == bad.epochs - 1
    # The others: completed, and bit for bit what they are with a harmless λ in that slot.
    _, calm_events = poly_sweep([*POLY_GRID[:4], 0.5])
    calm = calm_events[-1]
    assert isinstance(calm, SweepFinished)
    for k in range(4):
        assert done.results[k].status == "completed" == calm.results[k].status
        assert done.results[k].test_loss == calm.results[k].test_loss
        for name in calm.results[k].weights:
            assert torch.equal(
                torch.tensor(done.results[k].weights[name]),
                torch.tensor(calm.results[k].weights[name]),
            )
    # sweep_started names the member whose λ trips the warning.
    started = events[0]
    assert isinstance(started, SweepStarted)
    assert [(w.index, w.lam) for w in started.warnings] == [(4, 100.0)]
    assert started.to_json()["warnings"] == [
        {"lam": 100.0, "message": decay_step_warning(RunConfig().resolved(), 100.0, 0.01)}
    ]


def test_wdtui_sweep_poly_reports_lam_100_diverged_in_the_json(capsys) -> None:
    code, out, err = call_wdtui(capsys, "sweep", "--preset", "poly", "--jsonl", "--no-save")
    lines = [json.loads(line) for line in out.splitlines()]
    started, done = lines[0], lines[-1]
    message = decay_step_warning(RunConfig().resolved(), 100.0, 0.01)
    assert started["warnings"] == [{"lam": 100.0, "message": message}]
    assert err == f"wdtui sweep: warning: λ 100: {message}\n"
    assert code == 0 and done["status"] == "completed"
    by_lam = {r["lam"]: r for r in done["results"]}
    assert by_lam[100.0]["status"] == "diverged" and by_lam[100.0]["test_loss"] is None
    assert by_lam[100.0]["train_loss"] is not None  # still finite when the test loss overflowed
    assert all(r["status"] == "completed" for lam, r in by_lam.items() if lam != 100.0)
    assert done["best_lam"] == 0.0


def test_wdtui_sweep_table_marks_the_diverged_and_warned_member(capsys) -> None:
    code, out, _ = call_wdtui(capsys, "sweep", "--preset", "poly", "--lams", "0,1,100",
                              "--no-save")  # fmt: skip
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert rows["100"].split()[4:] == ["diverged", "⚠", "lr·2λ", "≥", "1"]
    assert rows["100"].split()[2] == "inf"
    assert rows["0"].split()[4:] == ["completed", "◀", "best"]
    assert rows["1"].split()[4:] == ["completed"]
    message = decay_step_warning(RunConfig().resolved(), 100.0, 0.01)
    assert f"  ⚠ λ 100: {message}" in out.splitlines()
    assert "1 of 3 diverged (λ 100)" in out


def test_a_replayed_sweep_names_the_same_warnings(tmp_path: Path) -> None:
    events: list[SweepEvent] = []
    config = RunConfig(preset="line", epochs=3, runs_dir=str(tmp_path))
    sweep = Sweep(config, [0.0, 60.0], events.append)
    sweep.run()
    live = events[0]
    assert isinstance(live, SweepStarted) and [w.lam for w in live.warnings] == [60.0]
    replayed = load_sweep(sweep.run_dir or "").started
    assert replayed.warnings == live.warnings


def test_an_epoch_event_is_unchanged() -> None:
    """The divergence rule changes statuses, not the epoch's numbers or JSON."""
    event = Epoch(1, 1.0, math.inf, 0.0, 1.0, 0.0, 0.0, 0.01, 0.0)
    assert event.to_json()["test_loss"] is None
    assert Started({}, "cpu", ()).to_json()["warning"] is None
