"""What a run leaves on disk, and what survives a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from engine.config import RunConfig
from engine.store import METRIC_COLUMNS, read_metrics
from engine.trainer import Trainer
from support.engine import ROOT, WDTUI, endless_jsonl_run, epochs_of, finished_of, wait_until


def test_a_run_leaves_config_metrics_and_weights(tmp_path: Path) -> None:
    events: list = []
    trainer = Trainer(
        RunConfig(preset="highdim", lam=3.0, epochs=25, runs_dir=str(tmp_path)), events.append
    )
    trainer.run()
    run_dir = Path(finished_of(events).run_dir)
    assert run_dir.parent == tmp_path and run_dir == trainer.run_dir
    rows = read_metrics(run_dir)
    assert list(rows[0]) == list(METRIC_COLUMNS)
    reported = epochs_of(events)
    assert [r["epoch"] for r in rows] == [e.epoch for e in reported] == list(range(1, 26))
    for row, event in zip(rows, reported, strict=True):
        assert row["train_loss"] == event.train_loss and row["test_loss"] == event.test_loss
        assert row["penalty"] == event.penalty and row["lam"] == event.lam
    weights = torch.load(run_dir / "weights.pt")
    torch.testing.assert_close(weights["weight"], trainer.model.weight.detach())

    # config.json is enough to reproduce the run exactly
    record = json.loads((run_dir / "config.json").read_text())
    assert record["lam"] == 3.0 and record["preset"] == "highdim" and record["epochs"] == 25
    again: list = []
    replay = RunConfig.from_dict({**record, "save": False})
    Trainer(replay, again.append).run()
    assert [e.train_loss for e in epochs_of(again)] == [e.train_loss for e in reported]


def test_no_save_writes_nothing(tmp_path: Path) -> None:
    Trainer(RunConfig(epochs=3, save=False, runs_dir=str(tmp_path)), lambda e: None).run()
    assert list(tmp_path.iterdir()) == []


def data_rows(runs_dir: Path) -> int:
    """Whole rows in the (only) run's metrics.csv so far."""
    found = list(runs_dir.glob("*/metrics.csv"))
    return max(0, found[0].read_text().count("\n") - 1) if found else 0


def test_sigkill_keeps_every_flushed_epoch(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            *WDTUI,
            "run",
            "--preset",
            "highdim",
            "--epochs",
            "100000000",
            "--runs-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: data_rows(tmp_path) > 0, 60, "the first flushed epoch")
        (metrics,) = tmp_path.glob("*/metrics.csv")
        first_flush = data_rows(tmp_path)
        wait_until(lambda: data_rows(tmp_path) > first_flush, 30, "the next one-second flush")
        flushed_before_kill = data_rows(tmp_path)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    rows = read_metrics(metrics.parent)
    assert len(rows) >= flushed_before_kill > 1
    assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
    # Every cell written (a regression run has no accuracies: those two are empty).
    measured = [c for c in METRIC_COLUMNS if not c.endswith("_accuracy")]
    assert all(r[column] is not None for r in rows for column in measured)
    assert all(r["train_accuracy"] is None and r["test_accuracy"] is None for r in rows)
    assert not (metrics.parent / "weights.pt").exists()  # it really was killed mid-run


def test_ctrl_c_stops_cleanly_and_saves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*WDTUI, "run", "--epochs", "100000000", "--runs-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: data_rows(tmp_path) > 0, 60, "the first flushed epoch")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
    (run_dir,) = list(tmp_path.iterdir())
    assert (run_dir / "weights.pt").exists()
    assert len(read_metrics(run_dir)) > 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    process = endless_jsonl_run(tmp_path)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert json.loads(first)["event"] == "started"
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    last = json.loads(out.strip().splitlines()[-1])
    assert process.returncode == 0 and last["event"] == "finished" and last["status"] == "stopped"
    assert "Traceback" not in err
