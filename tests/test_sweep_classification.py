"""The batched sweep on classification: every member is exactly the run Trainer makes with its
λ (weights, losses and accuracies), the accuracies are what scikit-learn counts, and the best λ
is the highest test accuracy, a tie going to the lower test loss."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from sklearn.metrics import accuracy_score

from engine.cli.sweep import sweep_command, sweep_parser
from engine.config import RunConfig
from engine.data import Dataset, load_dataset
from engine.models import build_model
from engine.store import load_sweep
from engine.sweep.best import BEST_BY_WORDS, best_by, choose_best
from engine.sweep.events import SweepEvent
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import sweep_epochs_of as epochs
from support.engine import sweep_finished_of as finished
from support.engine import sweep_to_end


def single_run(lam: float, dataset: Dataset | None = None, **settings: Any):
    """(final weights as tensors, finished event, epoch events) of a separate Trainer run."""
    events: list[Any] = []
    trainer = Trainer(RunConfig(save=False, lam=lam, **settings), events.append, dataset=dataset)
    done = trainer.run()
    weights = {name: torch.tensor(value) for name, value in done.weights.items()}
    return weights, done, [e for e in events if type(e).__name__ == "Epoch"]


def assert_members_match_runs(lams: list[float], **settings: Any) -> None:
    _, events = sweep_to_end(lams, **settings)
    done = finished(events)
    assert done.status == "completed" and done.best_by == "test_accuracy"
    sweep_epochs = epochs(events)
    for k, lam in enumerate(lams):
        weights, run_done, run_epochs = single_run(lam, **settings)
        member = done.results[k]
        assert member.epochs == run_done.epochs == len(run_epochs) == len(sweep_epochs)
        for name, expected in weights.items():
            got = torch.tensor(member.weights[name])
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
        for run_e, sweep_e in zip(run_epochs, sweep_epochs, strict=True):
            assert sweep_e.train_accuracy is not None and sweep_e.test_accuracy is not None
            assert sweep_e.train_loss[k] == pytest.approx(run_e.train_loss, rel=1e-4, abs=1e-6)
            assert sweep_e.test_loss is not None
            assert sweep_e.test_loss[k] == pytest.approx(run_e.test_loss, rel=1e-4, abs=1e-6)
            # One row is 1/rows: these tolerances are far below it, so a count that differs fails.
            assert sweep_e.train_accuracy[k] == pytest.approx(run_e.train_accuracy, abs=1e-6)
            assert sweep_e.test_accuracy[k] == pytest.approx(run_e.test_accuracy, abs=1e-6)
        last = sweep_epochs[-1]
        assert last.train_accuracy is not None and last.test_accuracy is not None
        assert member.train_accuracy == last.train_accuracy[k]
        assert member.test_accuracy == last.test_accuracy[k]


LAMS = [0.0, 0.01, 0.3]


@pytest.mark.parametrize(
    "settings",
    [
        # linear, full batch and minibatches, every λ mode
        dict(preset="cancer", optimizer="sgd", reg="l2", batch_size=0, epochs=6),
        dict(preset="cancer", optimizer="sgd", reg="wd", batch_size=16, epochs=4),
        dict(preset="digits", optimizer="adamw", reg="wd", lr=0.01, batch_size=64, epochs=3),
        dict(preset="cancer", optimizer="sgd", reg="l2", batch_size=16, epochs=4, momentum=0.9),
        # the train loss and accuracy over the epoch's minibatches
        dict(
            preset="cancer",
            optimizer="sgd",
            reg="l2",
            batch_size=16,
            epochs=4,
            train_loss="batch-mean",
        ),
        # MLPs: the preset's own (grokking: adamw, wd) and one on minibatches
        dict(preset="grokking", epochs=4, hidden=(16,)),
        dict(
            preset="cancer",
            model="mlp",
            hidden=(8, 8),
            optimizer="adam",
            reg="l2",
            batch_size=32,
            epochs=3,
        ),
    ],
    ids=[
        "sgd-l2-full",
        "sgd-wd-mini",
        "adamw-wd-digits",
        "momentum",
        "batch-mean",
        "grokking-mlp",
        "mlp-adam-mini",
    ],
)
def test_members_equal_their_own_runs(settings: dict[str, Any]) -> None:
    assert_members_match_runs(LAMS, **settings)


def predicted_classes(
    weights: dict[str, Any], config: RunConfig, classes: int, x: torch.Tensor
) -> list[int]:
    """A fresh single model with a member's weights, as anyone would rebuild it."""
    model = build_model(config.resolved(), x.shape[1], classes)
    model.load_state_dict({name: torch.tensor(value) for name, value in weights.items()})
    with torch.no_grad():
        return model(x).argmax(dim=1).tolist()


@pytest.mark.parametrize("preset", ["cancer", "digits"])
def test_accuracies_are_what_scikit_learn_counts(preset: str) -> None:
    config = RunConfig(save=False, preset=preset, epochs=5, batch_size=0)
    dataset = load_dataset(config.resolved())
    assert dataset.x_test is not None and dataset.y_test is not None
    _, events = sweep_to_end([0.0, 0.1, 3.0], preset=preset, epochs=5, batch_size=0)
    done, last = finished(events), epochs(events)[-1]
    assert last.train_accuracy is not None and last.test_accuracy is not None
    for k, member in enumerate(done.results):
        weights = dict(member.weights)
        n = dataset.n_classes
        test = accuracy_score(
            dataset.y_test.tolist(), predicted_classes(weights, config, n, dataset.x_test)
        )
        train = accuracy_score(
            dataset.y_train.tolist(), predicted_classes(weights, config, n, dataset.x_train)
        )
        # Exact: the sweep reports correct/rows, as accuracy_score does.
        assert member.test_accuracy == last.test_accuracy[k] == test
        assert member.train_accuracy == last.train_accuracy[k] == train
    # The members differ: the check compares something.
    assert len({r.test_accuracy for r in done.results}) > 1


# ----- the best λ ------------------------------------------------------------------------------


def test_choose_best_takes_the_highest_accuracy_and_breaks_ties_by_the_lower_loss() -> None:
    lams = [0.0, 0.1, 1.0, 10.0]
    every = [True] * 4
    # λ 0.1 and 1 tie at 0.9; 1 has the lower loss. λ 0 has the lowest loss but less accuracy.
    losses = [0.10, 0.30, 0.25, 0.80]
    accuracies = [0.85, 0.90, 0.90, 0.60]
    assert choose_best(lams, every, losses, accuracies) == 1.0
    # The tie the other way round.
    assert choose_best(lams, every, [0.10, 0.20, 0.25, 0.80], accuracies) == 0.1
    # An exact tie in both: the first in sweep order.
    assert choose_best(lams, every, [0.10, 0.25, 0.25, 0.80], accuracies) == 0.1
    # Regression (no accuracies): the lowest loss.
    assert choose_best(lams, every, losses, None) == 0.0
    # A diverged member never wins, nor does a non-finite or unmeasured loss.
    assert choose_best(lams, [True, True, False, True], losses, accuracies) == 0.1
    assert choose_best(lams, every, [0.1, math.nan, None, 0.8], accuracies) == 0.0
    assert choose_best(lams, [False] * 4, losses, accuracies) is None


def test_the_rule_is_named_for_the_task_and_the_split() -> None:
    assert best_by(True, True) == "test_accuracy"
    assert best_by(True, False) == "train_accuracy"
    assert best_by(False, True) == "test_loss"
    assert best_by(False, False) == "train_loss"
    assert "tie going to the lower test loss" in BEST_BY_WORDS["test_accuracy"]


def test_a_sweeps_best_lam_breaks_a_real_accuracy_tie_by_the_test_loss() -> None:
    # On cancer, the smallest λ classify the same test rows: a tie at the top. λ = 0, the
    # lowest test loss among them, comes last: "the first on a tie" would not pick it.
    lams = [1e-4, 3e-4, 0.1, 1.0, 0.0]
    sweep, events = sweep_to_end(lams, preset="cancer", epochs=200)
    done = finished(events)
    top = max(r.test_accuracy or 0.0 for r in done.results)
    tied = [r for r in done.results if r.test_accuracy == top]
    assert len(tied) >= 2, "the fixture must hold a tie for this test to mean something"
    lowest = min(tied, key=lambda r: r.test_loss or math.inf)
    assert done.best_lam == lowest.lam == sweep.best_lam()
    assert done.best_by == "test_accuracy"
    assert len({r.test_loss for r in tied}) == len(tied)  # the losses do tell them apart
    assert done.best_lam != tied[0].lam


def test_without_a_test_split_the_train_accuracy_decides() -> None:
    _, events = sweep_to_end([0.0, 1.0, 10.0], preset="cancer", epochs=30, test_fraction=0.0)
    done = finished(events)
    assert done.best_by == "train_accuracy"
    assert epochs(events)[-1].test_accuracy is None
    scores = [(-(r.train_accuracy or 0.0), r.train_loss or math.inf) for r in done.results]
    assert done.best_lam == done.results[scores.index(min(scores))].lam


# ----- divergence ----------------------------------------------------------------------------


def test_a_diverging_classification_member_is_frozen_and_harms_no_one() -> None:
    # lr 0.05 · 2λ = 10 for λ = 100: each step multiplies w by -9, the loss overflows within
    # 40-odd steps (10 an epoch here).
    lams = [0.0, 0.1, 100.0]
    settings: dict[str, Any] = dict(preset="cancer", epochs=8, batch_size=10)
    _, events = sweep_to_end(lams, **settings)
    done = finished(events)
    assert [r.status for r in done.results] == ["completed", "completed", "diverged"]
    stop = done.results[2].epochs
    at_stop = epochs(events)[stop - 1]
    assert not math.isfinite(at_stop.train_loss[2])
    assert all(math.isfinite(e.train_loss[2]) for e in epochs(events)[: stop - 1])
    # The run with that λ diverges at the same epoch; the others are their own runs still.
    _, run_done, _ = single_run(100.0, **settings)
    assert run_done.status == "diverged" and run_done.epochs == stop
    for k in (0, 1):
        weights, _, _ = single_run(lams[k], **settings)
        for name, expected in weights.items():
            got = torch.tensor(done.results[k].weights[name])
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # Frozen: its numbers stay those of the epoch it diverged at.
    assert all(e.statuses[2] == "diverged" for e in epochs(events)[stop - 1 :])
    assert done.best_lam in (0.0, 0.1)


# ----- files -----------------------------------------------------------------------------------


def same_numbers(a: Any, b: Any) -> bool:
    """Equal, NaN included (a diverged member's loss)."""
    return len(a) == len(b) and all(
        x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)
    )


def test_sweep_csv_keeps_the_accuracies_and_reads_back(tmp_path: Path) -> None:
    events: list[SweepEvent] = []
    # λ = 100 diverges within these 60 steps: its rows stop there, and replay repeats them.
    config = RunConfig(preset="cancer", epochs=6, batch_size=10, runs_dir=str(tmp_path))
    Sweep(config, [0.0, 0.1, 100.0], events.append).run()
    done = finished(events)
    assert [r.status for r in done.results] == ["completed", "completed", "diverged"]
    assert done.run_dir is not None
    with (Path(done.run_dir) / "sweep.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[-2:] == ["train_accuracy", "test_accuracy"]
    saved = load_sweep(done.run_dir)
    live = epochs(events)
    assert len(saved.epochs) == len(live)
    for a, b in zip(saved.epochs, live, strict=True):
        assert (a.epoch, a.statuses) == (b.epoch, b.statuses)
        assert a.train_accuracy == b.train_accuracy and a.test_accuracy == b.test_accuracy
        for name in ("train_loss", "test_loss", "weight_sq_norm"):
            assert same_numbers(getattr(a, name), getattr(b, name)), name
    assert saved.finished is not None
    assert saved.finished.best_lam == done.best_lam
    assert saved.finished.best_by == "test_accuracy"
    assert [r.test_accuracy for r in saved.finished.results] == [
        r.test_accuracy for r in done.results
    ]
    assert [r.train_accuracy for r in saved.finished.results] == [
        r.train_accuracy for r in done.results
    ]


def test_a_sweep_saved_before_accuracies_still_loads(tmp_path: Path) -> None:
    events: list[SweepEvent] = []
    config = RunConfig(preset="line", epochs=3, runs_dir=str(tmp_path))
    Sweep(config, [0.0, 0.5], events.append).run()
    run_dir = Path(str(finished(events).run_dir))
    # Rewrite the files as they were written before: five columns, no best_by, no accuracies.
    path = run_dir / "sweep.csv"
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][-2:] == ["train_accuracy", "test_accuracy"]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(row[:5] for row in rows)
    results = json.loads((run_dir / "results.json").read_text())
    del results["best_by"]
    for member in results["results"]:
        del member["train_accuracy"], member["test_accuracy"]
    (run_dir / "results.json").write_text(json.dumps(results))

    saved = load_sweep(run_dir)
    assert [e.train_loss for e in saved.epochs] == [e.train_loss for e in epochs(events)]
    assert all(e.train_accuracy is None and e.test_accuracy is None for e in saved.epochs)
    assert saved.finished is not None and saved.finished.best_by == "test_loss"
    assert saved.finished.best_lam == finished(events).best_lam


# ----- wdtui sweep -----------------------------------------------------------------------------


def sweep_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = sweep_command(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_jsonl_carries_each_members_accuracies(capsys) -> None:
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--preset", "cancer", "--epochs", "3", "--lams", "0,1"
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    epoch_lines = [line for line in lines if line["event"] == "sweep_epoch"]
    assert len(epoch_lines) == 3
    for line in epoch_lines:
        assert len(line["train_accuracy"]) == len(line["test_accuracy"]) == 2
        assert all(0 <= a <= 1 for a in line["train_accuracy"] + line["test_accuracy"])
    done = lines[-1]
    assert done["best_by"] == "test_accuracy"
    assert [r["test_accuracy"] for r in done["results"]] == epoch_lines[-1]["test_accuracy"]
    scores = [(-r["test_accuracy"], r["test_loss"]) for r in done["results"]]
    assert done["best_lam"] == done["results"][scores.index(min(scores))]["lam"]


def test_the_table_shows_accuracies_and_says_how_the_best_was_chosen(capsys) -> None:
    code, out, _ = sweep_cli(
        capsys, "--no-save", "--preset", "digits", "--epochs", "5", "--lams", "0,0.01,1"
    )
    assert code == 0
    header = next(line for line in out.splitlines() if line.strip().startswith("λ"))
    assert "train acc" in header and "test acc" in header
    assert sum("%" in line for line in out.splitlines()) == 3  # one row per λ
    assert "(highest final test accuracy, a tie going to the lower test loss)" in out
    assert "◀ best" in out


def test_a_classification_csv_sweeps_end_to_end(capsys, tmp_path: Path) -> None:
    # Two text classes separated by x1 + x2: the labels are what makes it classification.
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(120, 2, generator=generator)
    path = tmp_path / "points.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "side"])
        for a, b in x.tolist():
            writer.writerow([f"{a:.4f}", f"{b:.4f}", "above" if a + b > 0 else "below"])
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--data", str(path), "--target", "side",
        "--epochs", "50", "--lr", "0.5", "--lams", "0,0.01,10",
    )  # fmt: skip
    assert code == 0
    done = json.loads(out.splitlines()[-1])
    assert done["status"] == "completed" and done["best_by"] == "test_accuracy"
    accuracies = {r["lam"]: r["test_accuracy"] for r in done["results"]}
    assert accuracies[0.0] >= 0.9  # a linear boundary, learned
    assert done["best_lam"] in (0.0, 0.01)
    assert len(done["results"][0]["weights"]["bias"]) == 2  # one logit per class


def test_help_states_the_best_lam_rule() -> None:
    text = " ".join(sweep_parser().format_help().split())
    assert "lowest final test loss" in text
    assert "highest final test accuracy, a tie going to the lower test loss" in text
