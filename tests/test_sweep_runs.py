"""A sweep on its thread and on disk: stop, failure, config.json, sweep.csv, results."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import torch

from engine.config import ConfigError, RunConfig
from engine.store import SWEEP_COLUMNS
from engine.sweep.events import SweepEpoch, SweepFinished, SweepStarted
from engine.sweep.runner import Sweep
from support.engine import ROOT, WDTUI, EventQueue


def is_epoch(n: int):
    return lambda e: isinstance(e, SweepEpoch) and e.epoch >= n


def is_finished(e) -> bool:
    return isinstance(e, SweepFinished)


def test_stop_ends_the_thread_cleanly_and_reports_what_was_done(events: EventQueue) -> None:
    sweep = Sweep(RunConfig(preset="highdim", epochs=10**7, save=False), [0.0, 0.1], events)
    thread = sweep.start()
    assert thread.name == "wdtui-sweep" and thread.daemon
    events.wait_for(is_epoch(3))
    sweep.stop()
    assert sweep.join(10.0)
    done = events.wait_for(is_finished)
    assert done.status == sweep.status == "stopped"
    assert 3 <= done.epochs < 10**7 and "stopped by request" in done.message
    assert [r.status for r in done.results] == ["stopped", "stopped"]
    assert all(r.epochs == done.epochs for r in done.results)
    last = [e for e in events.drain() if isinstance(e, SweepEpoch)][-1]
    assert last.epoch == done.epochs and done.results[1].test_loss == last.test_loss[1]


def test_an_exception_ends_as_failed_not_a_hang() -> None:
    seen: list[object] = []

    def sink(event: object) -> None:
        seen.append(event)
        if isinstance(event, SweepEpoch) and event.epoch == 2:
            raise RuntimeError("the consumer broke")

    sweep = Sweep(RunConfig(preset="line", epochs=50, save=False), [0.0, 0.1], sink)
    sweep.start()
    assert sweep.join(10.0)
    done = seen[-1]
    assert isinstance(done, SweepFinished) and done.status == sweep.status == "failed"
    assert done.message == "RuntimeError: the consumer broke" and done.epochs == 2
    assert [r.status for r in done.results] == ["failed", "failed"]


def test_construction_validates() -> None:
    with pytest.raises(ConfigError):
        Sweep(RunConfig(reg="none", save=False), [0.0, 1.0], lambda e: None)
    with pytest.raises(ConfigError):
        Sweep(RunConfig(save=False), [], lambda e: None)
    with pytest.raises(ConfigError):
        Sweep(RunConfig(save=False), [0.1, float("nan")], lambda e: None)
    with pytest.raises(ConfigError):
        Sweep(RunConfig(save=False), [-1.0], lambda e: None)
    with pytest.raises(ConfigError):
        Sweep(RunConfig(lr=0.0, save=False), [0.1], lambda e: None)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_saved_sweep_leaves_config_csv_weights_and_results(tmp_path: Path) -> None:
    lams = [0.0, 0.1, 1000.0]  # the last one diverges at epoch 2 (see test_sweep.py)
    seen: list[object] = []
    config = RunConfig(preset="line", epochs=4, batch_size=10, momentum=0.9, runs_dir=str(tmp_path))
    sweep = Sweep(config, lams, seen.append)
    done = sweep.run()
    (run_dir,) = list(tmp_path.iterdir())
    assert sweep.run_dir == run_dir and done.run_dir == str(run_dir)
    assert isinstance(seen[0], SweepStarted) and seen[0].run_dir == str(run_dir)
    assert run_dir.name.endswith("sweep-line-linear-sgd-l2-lam0-1000x3")

    config_json = json.loads((run_dir / "config.json").read_text())
    assert config_json["lams"] == lams and config_json["lam"] is None
    assert config_json["momentum"] == 0.9 and config_json["epochs"] == 4
    assert RunConfig.from_dict(config_json).resolved().batch_size == 10

    rows = read_rows(run_dir / "sweep.csv")
    assert tuple(rows[0]) == SWEEP_COLUMNS
    bad = done.results[2]
    assert bad.status == "diverged" and bad.epochs == 2
    expected_keys = [(e, lam) for e in range(1, 5) for lam in lams if lam != 1000.0 or e <= 2]
    assert [(int(r["epoch"]), float(r["lam"])) for r in rows] == expected_keys
    epochs = {e.epoch: e for e in seen if isinstance(e, SweepEpoch)}
    for row in rows:
        k, epoch = lams.index(float(row["lam"])), epochs[int(row["epoch"])]
        if k == 2 and row["epoch"] == "2":  # the diverged epoch: inf or nan, as a run writes it
            assert row["train_loss"].lower() in ("inf", "nan")
            continue
        assert float(row["train_loss"]) == epoch.train_loss[k]
        assert float(row["test_loss"]) == epoch.test_loss[k]
        assert float(row["weight_sq_norm"]) == epoch.weight_sq_norm[k]

    saved = torch.load(run_dir / "weights.pt")
    assert saved["lams"] == lams
    assert saved["state_dict"]["weight"].shape == (3, 1, 1)
    assert saved["state_dict"]["weight"][1].tolist() == done.results[1].weights["weight"]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["best_lam"] == done.best_lam and results["status"] == "completed"
    assert [r["status"] for r in results["results"]] == ["completed", "completed", "diverged"]


def test_no_save_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sweep = Sweep(RunConfig(epochs=2, save=False), [0.0, 0.1], lambda e: None)
    assert sweep.run().status == "completed" and sweep.run_dir is None
    assert list(tmp_path.iterdir()) == []


def test_two_sweeps_on_threads_do_not_disturb_each_other() -> None:
    results: dict[str, SweepFinished] = {}
    config = RunConfig(preset="highdim", epochs=15, save=False)

    def go(name: str) -> None:
        results[name] = Sweep(config, [0.0, 1.0], lambda e: None).run()

    threads = [threading.Thread(target=go, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["a"].results[1].weights == results["b"].results[1].weights


def test_ctrl_c_stops_a_cli_sweep_cleanly_and_keeps_its_files(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*WDTUI, "sweep", "--jsonl", "--preset", "highdim", "--epochs", "10000000",
         "--lams", "0,0.1,1", "--runs-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # started and two epochs
        assert json.loads(lines[-1])["event"] == "sweep_epoch"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    done = json.loads(out.splitlines()[-1])
    assert done["event"] == "sweep_finished" and done["status"] == "stopped"
    (run_dir,) = list(tmp_path.iterdir())
    rows = read_rows(run_dir / "sweep.csv")
    assert len(rows) == 3 * done["epochs"] and (run_dir / "weights.pt").is_file()


def test_a_cpu_sweep_computes_on_one_thread_and_restores_the_setting() -> None:
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []

        def sink(_event: object) -> None:
            seen.append(torch.get_num_threads())

        Sweep(RunConfig(epochs=2, save=False), [0.0, 0.1], sink).run()
        assert seen == [1, 1, 1, 1] and torch.get_num_threads() == 2
        seen.clear()
        Sweep(RunConfig(epochs=1, save=False, cpu_threads=0), [0.0], sink).run()
        assert seen == [2, 2, 2]
    finally:
        torch.set_num_threads(previous)
