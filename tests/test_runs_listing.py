"""summary.json (kept through a kill) and `wdtui runs` (engine/catalog.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

import engine.store.summary as summary_module
from engine.catalog import BROKEN, FOREIGN, catalog, filter_entries, read_entry, sort_entries
from engine.config import RunConfig
from engine.events import UNFINISHED
from engine.schedule import parse_at
from engine.store import read_metrics
from engine.store.durable import CsvLog
from engine.trainer import Trainer
from support.engine import (
    ROOT,
    WDTUI,
    call_wdtui,
    epochs_of,
    sweep_finished_of,
    sweep_to_end,
    wait_until,
)


def summary_of(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def saved_run(root: Path, **settings: object) -> tuple[Trainer, list]:
    events: list = []
    trainer = Trainer(RunConfig(runs_dir=str(root), **settings), events.append)  # type: ignore[arg-type]
    trainer.run()
    return trainer, events


# ----- summary.json -------------------------------------------------------------------------


def test_the_summary_holds_final_and_best_numbers_and_the_changes(tmp_path: Path) -> None:
    trainer, events = saved_run(
        tmp_path, preset="highdim", epochs=300, schedule=(parse_at("100:lam=3"),)
    )
    epochs = epochs_of(events)
    best = min(epochs, key=lambda e: e.test_loss or 0.0)
    summary = summary_of(trainer.run_dir_text or "")
    assert summary["status"] == "completed" and summary["epochs"] == 300
    assert summary["train_loss"] == epochs[-1].train_loss
    assert summary["test_loss"] == epochs[-1].test_loss
    assert summary["best_train_loss"] == min(e.train_loss for e in epochs)
    assert (summary["best_test_loss"], summary["best_epoch"]) == (best.test_loss, best.epoch)
    assert (summary["lam_start"], summary["lam_end"]) == (0.0, 3.0)
    assert summary["changes"] == [
        {"epoch": 100, "key": "lam", "value": 3.0, "step": 396, "source": "at"}
    ]
    assert summary["train_accuracy"] is None


def test_a_classifier_summary_has_accuracies(tmp_path: Path) -> None:
    trainer, events = saved_run(tmp_path, preset="cancer", epochs=20)
    epochs = epochs_of(events)
    summary = summary_of(trainer.run_dir_text or "")
    assert summary["test_accuracy"] == epochs[-1].test_accuracy
    assert summary["best_test_accuracy"] == max(e.test_accuracy or 0 for e in epochs)


def test_a_sweep_summary_names_its_best_lam_and_its_member(tmp_path: Path) -> None:
    sweep, events = sweep_to_end([0.0, 0.1, 1.0], preset="highdim", epochs=50)
    del sweep
    config = RunConfig(preset="highdim", epochs=50, runs_dir=str(tmp_path))
    from engine.sweep.runner import Sweep

    saved: list = []
    Sweep(config, [0.0, 0.1, 1.0], saved.append).run()
    done = sweep_finished_of(saved)
    summary = summary_of(done.run_dir or "")
    best = next(m for m in done.results if m.lam == done.best_lam)
    assert summary["kind"] == "sweep" and summary["best_lam"] == done.best_lam
    assert summary["test_loss"] == best.test_loss
    assert summary["best_test_loss"] == min(m.test_loss or 0 for m in done.results)
    assert sweep_finished_of(events).best_lam == done.best_lam


def test_the_summary_survives_sigkill_as_far_as_the_run_got(tmp_path: Path) -> None:
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

        def summary_has_epochs() -> bool:
            folders = list(tmp_path.iterdir())
            if not folders or not (folders[0] / "summary.json").exists():
                return False
            return summary_of(folders[0])["epochs"] >= 50

        wait_until(summary_has_epochs, 60, "summary.json with 50 epochs")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (run_dir,) = tmp_path.iterdir()
    summary = summary_of(run_dir)
    rows = read_metrics(run_dir)
    assert summary["status"] == "running" and summary["pid"] == process.pid
    # Never ahead of the rows: its epoch is on disk, with the same numbers.
    assert 50 <= summary["epochs"] <= len(rows)
    row = rows[summary["epochs"] - 1]
    assert (row["train_loss"], row["test_loss"]) == (summary["train_loss"], summary["test_loss"])
    assert summary["best_test_loss"] == min(r["test_loss"] or 0 for r in rows[: summary["epochs"]])
    entry = read_entry(run_dir)
    assert entry.status == UNFINISHED
    assert "ended before the run did" in entry.reason
    assert entry.epochs == summary["epochs"]


# ----- the catalog and `wdtui runs` ---------------------------------------------------------


@pytest.fixture
def runs_folder(tmp_path: Path) -> Path:
    """Good runs (one with a schedule), a sweep, a partial run, a broken one and a foreign one."""
    root = tmp_path / "runs"
    saved_run(root, preset="line", epochs=30, lam=0.1, reg="wd")
    saved_run(root, preset="highdim", epochs=40, schedule=(parse_at("20:lam=1"),))
    from engine.sweep.runner import Sweep

    Sweep(RunConfig(preset="line", epochs=10, runs_dir=str(root)), [0.0, 1.0], lambda e: None).run()
    trainer, _ = saved_run(root, preset="poly", epochs=20)
    partial = Path(trainer.run_dir_text or "")
    (partial / "results.json").unlink()  # as a kill leaves it
    data = summary_of(partial)
    data.update(status="running", pid=2**22 + 12345)  # no such process
    (partial / "summary.json").write_text(json.dumps(data))
    broken = root / "20990101-000000-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("not a run")
    return root


def by_name(entries: list, part: str):
    (entry,) = [e for e in entries if part in e.name]
    return entry


def test_the_catalog_lists_good_partial_broken_and_foreign_folders(runs_folder: Path) -> None:
    entries = catalog(runs_folder)
    assert len(entries) == 6
    line = by_name(entries, "line-linear-sgd-wd")
    assert (line.kind, line.status, line.epochs, line.mode) == ("run", "completed", 30, "wd")
    assert line.cells()["lam"] == "0.1"
    scheduled = by_name(entries, "at20lam1")
    assert scheduled.cells()["lam"] == "0 → 1"
    assert scheduled.best_test_loss == summary_of(scheduled.path)["best_test_loss"]
    sweep = by_name(entries, "sweep")
    assert (sweep.kind, sweep.cells()["lam"], sweep.status) == ("sweep", "0 … 1 (2)", "completed")
    partial = by_name(entries, "poly")
    assert partial.status == UNFINISHED and "killed" in partial.reason
    broken = by_name(entries, "broken")
    assert broken.status == BROKEN and "config.json" in broken.reason
    foreign = by_name(entries, "notes")
    assert (foreign.kind, foreign.status) == (FOREIGN, FOREIGN)
    assert "no config.json" in foreign.reason


def test_sort_and_filter(runs_folder: Path) -> None:
    entries = catalog(runs_folder)
    ordered = sort_entries(entries, "test_loss")
    losses = [e.test_loss for e in ordered if e.test_loss is not None]
    assert losses == sorted(losses) and len(losses) == 4
    assert ordered[-1].test_loss is None  # rows without a value last, either way
    assert sort_entries(entries, "test_loss", descending=True)[-1].test_loss is None
    assert [e.cells()["data"] for e in filter_entries(entries, "mode=wd")] == ["line"]
    assert len(filter_entries(entries, "HIGHDIM")) == 1
    assert len(filter_entries(entries, "data=line status=completed")) == 2  # run and sweep
    assert len(filter_entries(entries, "line")) == 5  # "linear" too: every model here
    assert filter_entries(entries, "status=foreign")[0].name == "notes"


def test_wdtui_runs_prints_a_table_with_every_folder(
    runs_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call_wdtui(capsys, "runs", "--runs-dir", str(runs_folder))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "when", "data", "model", "optim", "mode", "λ", "epochs", "status", "train", "test",
        "best", "test",
    ]  # fmt: skip
    assert lines[-1] == "6 entries"
    assert any("notes: no config.json: not a wdtui run" in line for line in lines)
    assert any("killed" in line for line in lines)
    text = "\n".join(lines)
    for entry in catalog(runs_folder):
        assert entry.name in text


def test_wdtui_runs_jsonl_sort_and_filter(
    runs_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = call_wdtui(
        capsys, "runs", "--runs-dir", str(runs_folder), "--jsonl", "--sort=-test_loss"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 6
    for row in rows:
        assert {"path", "kind", "status", "epochs", "train_loss", "test_loss", "config"} <= set(row)
    losses = [r["test_loss"] for r in rows if r["test_loss"] is not None]
    assert losses == sorted(losses, reverse=True)
    code, out, _ = call_wdtui(
        capsys, "runs", "--runs-dir", str(runs_folder), "--jsonl", "--sort", "test", "--reverse"
    )
    assert [json.loads(line)["path"] for line in out.splitlines()] == [r["path"] for r in rows]
    run = next(r for r in rows if "line-linear-sgd-wd" in r["path"])
    assert run["config"]["lam"] == 0.1 and run["kind"] == "run"
    assert run["test_loss"] == summary_of(run["path"])["test_loss"]
    code, out, _ = call_wdtui(
        capsys, "runs", "--runs-dir", str(runs_folder), "--jsonl", "--filter", "kind=sweep"
    )
    # kind is not a column: the word is looked for in the row's text instead
    assert code == 0 and out == ""
    code, out, _ = call_wdtui(
        capsys, "runs", "--runs-dir", str(runs_folder), "--jsonl", "--filter", "sweep"
    )
    assert [json.loads(line)["kind"] for line in out.splitlines()] == ["sweep"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sort", "colour"], "cannot sort by 'colour'; choose one of when, data"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_wdtui_runs_bad_options(argv: list[str], message: str, capsys, tmp_path: Path) -> None:
    code, out, err = call_wdtui(capsys, "runs", "--runs-dir", str(tmp_path), *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_wdtui_runs_on_a_missing_or_unlistable_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = call_wdtui(capsys, "runs", "--runs-dir", str(tmp_path / "nowhere"))
    assert (code, out) == (0, "no runs saved here\n")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = call_wdtui(capsys, "runs", "--runs-dir", str(a_file))
    assert code == 2 and "cannot list" in err


def test_a_folder_saved_before_summaries_is_read_from_its_csv(
    runs_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = by_name(catalog(runs_folder), "line-linear-sgd-wd")
    (entry.path / "summary.json").unlink()
    rows = read_metrics(entry.path)
    older = read_entry(entry.path)
    assert (older.status, older.epochs) == ("completed", 30)
    assert older.test_loss == rows[-1]["test_loss"]
    assert older.best_test_loss == min(r["test_loss"] or 0 for r in rows)


def test_an_unreadable_summary_marks_the_folder_broken(runs_folder: Path) -> None:
    entry = by_name(catalog(runs_folder), "line-linear-sgd-wd")
    (entry.path / "summary.json").write_text("[1, 2")
    assert read_entry(entry.path).status == BROKEN
    shutil.rmtree(entry.path / "summary.json", ignore_errors=True)


def test_wdtui_runs_does_not_load_torch(runs_folder: Path) -> None:
    probe = (
        "import sys; from tui.cli import main; main(['runs', '--runs-dir', sys.argv[1]]); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [os.sys.executable, "-c", probe, str(runs_folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[-1] == "False"


# ----- summary.json's writes: ordered, retried --------------------------------------------


class _CountingSidecar:
    """A sidecar whose first write blocks until released: a slow fsync on the flush thread."""

    def __init__(self) -> None:
        self.version = 0
        self.written: list[int] = []
        self.in_first_write = threading.Event()
        self.release = threading.Event()

    def snapshot(self) -> int:
        self.version += 1
        return self.version

    def write(self, state: int) -> None:
        if state == 1:
            self.in_first_write.set()
            assert self.release.wait(30)
        self.written.append(state)


def test_two_flushes_write_the_sidecar_in_the_order_they_took_it(tmp_path: Path) -> None:
    sidecar = _CountingSidecar()
    log = CsvLog(tmp_path / "m.csv", ["a"], flush_every_s=3600)
    log._sidecar = sidecar  # type: ignore[assignment]  # after the first flush of __init__
    first = threading.Thread(target=log.flush)
    first.start()
    assert sidecar.in_first_write.wait(30)
    second = threading.Thread(target=log.flush)  # a pause's flush, on the training thread
    second.start()
    second.join(0.5)  # unordered, it would be done by now, its newer state written first
    sidecar.release.set()
    first.join(30)
    second.join(30)
    log.close()
    assert sidecar.written[:2] == [1, 2]


def test_a_summary_write_that_failed_is_tried_again(tmp_path: Path, monkeypatch) -> None:
    calls = {"n": 0}
    real = summary_module.write_json

    def full_disk_once(path: Path, data: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(summary_module, "write_json", full_disk_once)
    summary = summary_module.RunSummary(tmp_path / "summary.json", {"lam": 0.1, "lr": 0.01})
    log = CsvLog(tmp_path / "metrics.csv", ["a"], flush_every_s=3600, sidecar=summary)
    summary._update(epochs=5)
    log.flush()  # the disk is full for a moment
    assert summary_of(tmp_path)["epochs"] == 0
    log.flush()  # the next beat
    log.close()
    assert summary_of(tmp_path)["epochs"] == 5


# ----- folders that must not stop the listing -----------------------------------------------


def test_hand_edited_numbers_and_odd_files_are_broken_rows_not_a_crash(
    runs_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = by_name(catalog(runs_folder), "line-linear-sgd-wd")
    edits = {
        "huge-lam": ("config.json", lambda d: d.update(lam=10**400)),
        "huge-loss": ("summary.json", lambda d: d.update(train_loss=10**400)),
        "huge-epochs": ("summary.json", lambda d: d.update(epochs=10**400)),
        "huge-pid": ("summary.json", lambda d: d.update(status="running", pid=2**62)),
    }
    for name, (file, edit) in edits.items():
        copy = runs_folder / name
        shutil.copytree(good.path, copy)
        (copy / "results.json").unlink()
        data = json.loads((copy / file).read_text())
        edit(data)
        (copy / file).write_text(json.dumps(data))
    fifo = runs_folder / "old-fifo"
    shutil.copytree(good.path, fifo)
    (fifo / "summary.json").unlink()
    (fifo / "metrics.csv").unlink()
    os.mkfifo(fifo / "metrics.csv")  # would block a reader forever
    (runs_folder / "loop1").symlink_to(runs_folder / "loop2")
    (runs_folder / "loop2").symlink_to(runs_folder / "loop1")
    entries = catalog(runs_folder)
    assert by_name(entries, "huge-lam").status == BROKEN
    assert by_name(entries, "huge-loss").status == BROKEN
    assert by_name(entries, "huge-epochs").status == BROKEN
    assert by_name(entries, "huge-pid").status == UNFINISHED  # no process has that number
    assert "not a regular file" in by_name(entries, "old-fifo").reason
    assert by_name(entries, "loop1").status == BROKEN
    assert by_name(entries, "line-linear-sgd-wd").status == "completed"  # the rest listed
    code, out, _ = call_wdtui(capsys, "runs", "--runs-dir", str(runs_folder))
    assert code == 0 and out.splitlines()[-1] == f"{len(entries)} entries"
