"""Scripted changes (`wdtui run --at`), live ones, their record, and exact replays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from engine.config import ConfigError, RunConfig
from engine.events import Changed, Epoch
from engine.schedule import Change, changes_from_json, parse_at, replay_schedule
from engine.store import load_run
from engine.trainer import Trainer
from support.engine import call_wdtui, epochs_of, finished_of


def trained(config: RunConfig) -> tuple[Trainer, list]:
    events: list = []
    trainer = Trainer(config, events.append)
    trainer.run()
    return trainer, events


def saved_weights(run_dir: str | Path) -> dict[str, torch.Tensor]:
    return torch.load(Path(run_dir) / "weights.pt", weights_only=True)


def the_run_dir(root: Path) -> Path:
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir


# ----- parsing ------------------------------------------------------------------------------


def test_at_reads_epoch_key_and_value() -> None:
    assert parse_at("100:lam=3") == Change(100, "lam", 3.0)
    assert parse_at(" 7 : lr = 1e-3 ") == Change(7, "lr", 1e-3)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("100lam=3", "expected EPOCH:lam=VALUE"),
        ("100:lam3", "expected EPOCH:lam=VALUE"),
        ("100:mu=3", "unknown key 'mu'"),
        ("x:lam=3", "whole number"),
        ("1.5:lam=3", "whole number"),
        ("100:lam=three", "'three' is not a number"),
    ],
)
def test_at_refuses_bad_text_in_one_line(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        parse_at(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("at", "settings", "why"),
    [
        ("0:lam=1", {}, "between 1 and 100"),
        ("101:lam=1", {}, "between 1 and 100"),
        ("5:lam=-1", {}, "λ must be a finite number >= 0"),
        ("5:lam=inf", {}, "finite"),
        ("5:lr=0", {}, "learning rate must be a finite number > 0"),
        ("5:lam=1", {"reg": "none"}, "mode none has no penalty"),
    ],
)
def test_a_schedule_is_checked_with_the_run_settings(at: str, settings: dict, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        RunConfig(preset="line", save=False, schedule=(parse_at(at),), **settings).resolved()


def test_a_saved_schedule_is_checked_field_by_field() -> None:
    good = [{"epoch": 3, "key": "lr", "value": 0.5, "step": 2, "source": "live"}]
    assert changes_from_json(good) == (Change(3, "lr", 0.5, 2, "live"),)
    for bad, why in [
        ({"epoch": 3, "key": "lr", "value": 0.5, "when": 1}, "unknown field 'when'"),
        ({"epoch": "3", "key": "lr", "value": 0.5}, "whole epoch"),
        ({"epoch": 3, "key": "mu", "value": 0.5}, "key must be lam or lr"),
        ({"epoch": 3, "key": "lr", "value": True}, "must be a number"),
        ({"epoch": 3, "key": "lr", "value": 0.5, "source": "ui"}, "source must be at or live"),
    ]:
        with pytest.raises(ConfigError, match=why):
            changes_from_json([bad])
    with pytest.raises(ConfigError, match="must be a list"):
        changes_from_json({"epoch": 3})


def test_a_recorded_step_outside_its_epoch_is_refused() -> None:
    # highdim: 20 rows in minibatches of 5, so epoch 2 is steps 4 to 7
    config = RunConfig(preset="highdim", save=False, schedule=(Change(2, "lam", 1.0, 9, "live"),))
    with pytest.raises(ConfigError, match="step 9 is not in epoch 2 \\(steps 4 to 7\\)"):
        Trainer(config, lambda e: None)


def test_a_replay_applies_what_was_applied_then_what_was_not_reached() -> None:
    scripted = (Change(5, "lam", 1.0), Change(50, "lr", 0.1))
    applied = (Change(3, "lr", 0.2, 10, "live"), Change(5, "lam", 1.0, 16, "at"))
    # The scripted change keeps its epoch, not its step: its epoch's first step, at any batch size.
    assert replay_schedule(scripted, applied) == (
        Change(3, "lr", 0.2, 10, "live"),
        Change(5, "lam", 1.0, None, "at"),
        Change(50, "lr", 0.1),
    )


# ----- training with a schedule -------------------------------------------------------------


def reference_weights(config: RunConfig, changes: dict[int, tuple[float, float]]):
    """A bare full-batch loop with torch's SGD configured by hand (mode wd: weight_decay 2λ on
    the weight only); `changes` maps an epoch to the (λ, lr) it trains with from its start."""
    trainer = Trainer(RunConfig(**{**config.to_dict(), "schedule": []}), lambda e: None)
    x, y = trainer.dataset.x_train, trainer.dataset.y_train
    model = torch.nn.Linear(x.shape[1], 1)
    model.load_state_dict(trainer.model.state_dict())
    lam, lr = float(config.lam or 0), float(config.lr or 0)
    optimizer = torch.optim.SGD(
        [
            {"params": [model.weight], "weight_decay": 2 * lam},
            {"params": [model.bias], "weight_decay": 0.0},
        ],
        lr=lr,
    )
    for epoch in range(1, int(config.epochs or 0) + 1):
        if epoch in changes:
            lam, lr = changes[epoch]
            optimizer.param_groups[0]["weight_decay"] = 2 * lam
            for group in optimizer.param_groups:
                group["lr"] = lr
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach() for k, v in model.state_dict().items()}


def test_both_keys_change_training_at_their_epochs_as_torch_does_by_hand() -> None:
    config = RunConfig(
        preset="highdim",
        batch_size=0,
        epochs=60,
        reg="wd",
        lam=0.0,
        lr=0.01,
        save=False,
        schedule=(parse_at("20:lam=0.5"), parse_at("40:lr=0.05")),
    )
    trainer, events = trained(config)
    expected = reference_weights(config, {20: (0.5, 0.01), 40: (0.5, 0.05)})
    for name, tensor in trainer.model.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=1e-5, msg=name)
    epochs = {e.epoch: e for e in epochs_of(events)}
    assert (epochs[19].lam, epochs[20].lam, epochs[60].lam) == (0.0, 0.5, 0.5)
    assert (epochs[39].lr, epochs[40].lr) == (0.01, 0.05)
    # The change event comes before the epoch it changes (and after the one before).
    order = [(type(e).__name__, getattr(e, "epoch", None)) for e in events]
    assert order.index(("Changed", None)) == order.index(("Epoch", 19)) + 1
    changed = [e.change for e in events if isinstance(e, Changed)]
    assert changed == [Change(20, "lam", 0.5, 19, "at"), Change(40, "lr", 0.05, 39, "at")]


def test_a_minibatch_change_applies_before_the_epoch_first_step() -> None:
    # highdim: 4 minibatches per epoch, so epoch 3 starts after 8 steps
    config = RunConfig(preset="highdim", epochs=5, save=False, schedule=(parse_at("3:lam=2"),))
    _, events = trained(config)
    (changed,) = [e.change for e in events if isinstance(e, Changed)]
    assert (changed.epoch, changed.step) == (3, 8)
    assert [e.lam for e in epochs_of(events)] == [0.0, 0.0, 2.0, 2.0, 2.0]


def test_a_change_at_epoch_one_is_the_starting_value_for_every_step() -> None:
    at_start = RunConfig(preset="line", epochs=20, save=False, schedule=(parse_at("1:lam=3"),))
    plain = RunConfig(preset="line", epochs=20, save=False, lam=3.0)
    a, _ = trained(at_start)
    b, _ = trained(plain)
    for name, tensor in a.model.state_dict().items():
        assert torch.equal(tensor, b.model.state_dict()[name])


# ----- the record and the replay ------------------------------------------------------------


def live_change_mid_epoch(trainer: Trainer, at_forward: int, lam: float) -> None:
    """Queue `set_lam` from inside the training loop, at a chosen minibatch's forward pass: a
    live change (as the explorer's keys send) that lands mid-epoch, deterministically."""
    seen = {"forwards": 0}
    batch = trainer.config.batch_size

    def hook(_module, inputs, _output) -> None:
        if inputs[0].shape[0] == batch:  # a training minibatch (not a test or full pass)
            seen["forwards"] += 1
            if seen["forwards"] == at_forward:
                trainer.set_lam(lam)

    trainer.model.register_forward_hook(hook)


def test_a_live_change_mid_epoch_is_recorded_with_its_step_and_replays_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = RunConfig(
        preset="line", batch_size=10, epochs=12, runs_dir=str(tmp_path / "live"), lam=0.0
    )
    trainer = Trainer(config, lambda e: None)
    live_change_mid_epoch(trainer, at_forward=27, lam=0.7)  # epoch 3, its 7th minibatch
    trainer.run()
    summary = json.loads((Path(trainer.run_dir_text or "") / "summary.json").read_text())
    assert summary["changes"] == [
        {"epoch": 3, "key": "lam", "value": 0.7, "step": 26, "source": "live"}
    ]
    assert (summary["lam_start"], summary["lam_end"]) == (0.0, 0.7)

    code, _, err = call_wdtui(
        capsys,
        "run",
        "--config",
        str(Path(trainer.run_dir_text or "") / "config.json"),
        "--runs-dir",
        str(tmp_path / "replay"),
    )
    assert code == 0, err
    replay = the_run_dir(tmp_path / "replay")
    original = saved_weights(trainer.run_dir_text or "")
    replayed = saved_weights(replay)
    assert original.keys() == replayed.keys()
    for name in original:
        assert torch.equal(original[name], replayed[name]), name
    # The replay records the same change at the same step, and its metrics are the same.
    assert json.loads((replay / "summary.json").read_text())["changes"] == summary["changes"]
    ours = (Path(trainer.run_dir_text or "") / "metrics.csv").read_text().splitlines()
    theirs = (replay / "metrics.csv").read_text().splitlines()
    column = ours[0].split(",").index("elapsed_s")
    strip = lambda rows: [r.split(",")[:column] + r.split(",")[column + 1 :] for r in rows]  # noqa: E731
    assert strip(ours) == strip(theirs)
    # Without the replayed change the weights differ: the record is what made them equal.
    plain = Trainer(RunConfig(**{**config.to_dict(), "save": False}), lambda e: None)
    plain.run()
    assert not torch.equal(plain.model.state_dict()["weight"], original["weight"])


def test_at_on_the_command_line_is_recorded_and_replayed_bit_for_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call_wdtui(
        capsys,
        "run",
        "--preset",
        "highdim",
        "--epochs",
        "40",
        "--at",
        "10:lam=1",
        "--at",
        "25:lr=0.01",
        "--runs-dir",
        str(tmp_path / "a"),
    )
    assert code == 0, err
    assert "changes: λ 1 at epoch 10, lr 0.01 at epoch 25" in out
    first = the_run_dir(tmp_path / "a")
    assert first.name.endswith("-highdim-linear-sgd-l2-lam0-at10lam1-at25lr0.01")
    record = json.loads((first / "config.json").read_text())
    assert record["schedule"] == [
        {"epoch": 10, "key": "lam", "value": 1.0, "source": "at"},
        {"epoch": 25, "key": "lr", "value": 0.01, "source": "at"},
    ]
    code, _, err = call_wdtui(
        capsys,
        "run",
        "--jsonl",
        "--config",
        str(first / "config.json"),
        "--runs-dir",
        str(tmp_path / "b"),
    )
    assert code == 0, err
    second = the_run_dir(tmp_path / "b")
    a, b = saved_weights(first), saved_weights(second)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (
        json.loads((second / "summary.json").read_text())["changes"]
        == json.loads((first / "summary.json").read_text())["changes"]
    )


def test_jsonl_carries_the_change_events(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call_wdtui(
        capsys, "run", "--jsonl", "--no-save", "--epochs", "6", "--at", "4:lr=0.02"
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["event"] for e in events]
    change = events[kinds.index("change")]
    assert change == {"event": "change", "epoch": 4, "key": "lr", "value": 0.02, "step": 3,
                      "source": "at"}  # fmt: skip
    assert kinds[kinds.index("change") - 1] == "epoch"
    assert events[kinds.index("change") - 1]["epoch"] == 3


def test_a_replay_of_a_stopped_run_still_applies_the_changes_it_never_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list = []
    config = RunConfig(
        preset="line", epochs=50, runs_dir=str(tmp_path / "a"), schedule=(parse_at("40:lam=2"),)
    )
    trainers: list[Trainer] = []

    def stop_at_epoch_10(event: object) -> None:
        events.append(event)
        if isinstance(event, Epoch) and event.epoch == 10:
            trainers[0].stop()

    trainer = Trainer(config, stop_at_epoch_10)
    trainers.append(trainer)
    trainer.run()
    assert finished_of(events).status == "stopped"
    code, out, err = call_wdtui(
        capsys,
        "run",
        "--jsonl",
        "--no-save",
        "--config",
        str(Path(trainer.run_dir_text or "") / "config.json"),
    )
    assert code == 0, err
    changes = [json.loads(line) for line in out.splitlines() if '"change"' in line]
    assert [(c["epoch"], c["value"]) for c in changes] == [(40, 2.0)]


def test_at_replaces_the_saved_schedule(tmp_path: Path, capsys) -> None:
    call_wdtui(capsys, "run", "--epochs", "10", "--at", "5:lam=1", "--runs-dir", str(tmp_path))
    saved = the_run_dir(tmp_path) / "config.json"
    code, out, _ = call_wdtui(
        capsys, "run", "--jsonl", "--no-save", "--config", str(saved), "--at", "7:lr=0.02"
    )
    assert code == 0
    changes = [json.loads(line) for line in out.splitlines() if '"change"' in line]
    assert [(c["epoch"], c["key"]) for c in changes] == [(7, "lr")]


# ----- bad input on the command line ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--at", "200:lam=1"], "--at 200:lam=1: the epoch must be between 1 and 100 (--epochs)"),
        (["--at", "5:mu=1"], "argument --at: '5:mu=1': unknown key 'mu'; use lam or lr"),
        (["--at", "5:lam=-2"], "--at 5:lam=-2: λ must be a finite number >= 0"),
        (["--at", "5:lr=abc"], "argument --at: '5:lr=abc': 'abc' is not a number"),
        (["--at", "five:lr=1"], "argument --at: 'five:lr=1': the epoch must be a whole number"),
        (["--reg", "none", "--at", "5:lam=1"], "mode none has no penalty"),
    ],
)
def test_bad_at_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call_wdtui(capsys, "run", "--no-save", *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wdtui run: error: ")
    assert message in err


def test_sweep_refuses_at_and_ignores_a_run_schedule_aloud(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = call_wdtui(capsys, "sweep", "--no-save", "--at", "5:lam=1")
    assert code == 2
    assert err == (
        "wdtui sweep: error: --at schedules λ and lr for one run (wdtui run); a sweep has no "
        "per-member schedule\n"
    )
    call_wdtui(capsys, "run", "--epochs", "10", "--at", "5:lam=1", "--runs-dir", str(tmp_path))
    saved = the_run_dir(tmp_path) / "config.json"
    code, _, err = call_wdtui(
        capsys, "sweep", "--no-save", "--config", str(saved), "--lams", "0,1", "--jsonl"
    )
    assert code == 0
    assert "the --config run's 1 λ/lr changes are not applied" in err


def test_an_unreadable_record_of_changes_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_wdtui(capsys, "run", "--epochs", "5", "--runs-dir", str(tmp_path))
    run_dir = the_run_dir(tmp_path)
    (run_dir / "summary.json").write_text('{"changes": [{"epoch": 1}]}')
    code, _, err = call_wdtui(capsys, "run", "--no-save", "--config", str(run_dir / "config.json"))
    assert code == 2
    assert "cannot read the recorded changes in" in err and err.count("\n") == 1


def test_a_replay_of_a_replay_applies_each_change_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = RunConfig(preset="line", batch_size=10, epochs=8, runs_dir=str(tmp_path / "g0"))
    trainer = Trainer(config, lambda e: None)
    live_change_mid_epoch(trainer, at_forward=25, lam=0.7)
    trainer.run()
    folders = [Path(trainer.run_dir_text or "")]
    for generation in (1, 2, 3):
        code, _, err = call_wdtui(
            capsys,
            "run",
            "--config",
            str(folders[-1] / "config.json"),
            "--runs-dir",
            str(tmp_path / f"g{generation}"),
        )
        assert code == 0, err
        folders.append(the_run_dir(tmp_path / f"g{generation}"))
    records = [json.loads((f / "summary.json").read_text())["changes"] for f in folders]
    assert all(record == records[0] for record in records) and len(records[0]) == 1
    schedules = [json.loads((f / "config.json").read_text())["schedule"] for f in folders[1:]]
    assert all(schedule == schedules[0] for schedule in schedules)
    first, last = saved_weights(folders[0]), saved_weights(folders[-1])
    assert all(torch.equal(first[k], last[k]) for k in first)


def test_a_replay_with_another_batch_size_keeps_the_scripted_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_wdtui(capsys, "run", "--epochs", "6", "--at", "3:lam=0.5", "--runs-dir", str(tmp_path))
    saved = the_run_dir(tmp_path) / "config.json"
    code, out, err = call_wdtui(
        capsys, "run", "--jsonl", "--no-save", "--config", str(saved), "--batch-size", "10"
    )
    assert code == 0, err
    (change,) = [json.loads(line) for line in out.splitlines() if '"change"' in line]
    assert (change["epoch"], change["step"]) == (3, 20)  # 10 minibatches an epoch now


def test_a_hand_edited_schedule_with_an_impossible_number_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_wdtui(capsys, "run", "--epochs", "5", "--runs-dir", str(tmp_path))
    run_dir = the_run_dir(tmp_path)
    record = json.loads((run_dir / "config.json").read_text())
    record["schedule"] = [{"epoch": 2, "key": "lam", "value": 10**400}]
    (run_dir / "config.json").write_text(json.dumps(record))
    code, _, err = call_wdtui(capsys, "run", "--no-save", "--config", str(run_dir / "config.json"))
    assert code == 2 and err.count("\n") == 1
    assert "schedule entry 1's value must be finite" in err
    with pytest.raises(ConfigError, match="must be finite"):
        load_run(run_dir)
    code, _, err = call_wdtui(capsys, "run", "--no-save", "--at", "1:lam=1e400")
    assert code == 2 and "--at: '1:lam=1e400': the value must be a finite number" in err


def test_a_sweep_from_a_run_with_a_broken_record_only_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_wdtui(capsys, "run", "--epochs", "5", "--at", "2:lr=0.02", "--runs-dir", str(tmp_path))
    run_dir = the_run_dir(tmp_path)
    (run_dir / "summary.json").write_text('{"changes": "x"}')
    code, _, err = call_wdtui(
        capsys, "sweep", "--no-save", "--jsonl", "--config", str(run_dir / "config.json")
    )
    assert code == 0
    assert "the --config run's 1 λ/lr changes are not applied" in err
