"""What a run has shown is on disk: slow consumers, closed pipes, kills, full disks, stops."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import termios
import time
from pathlib import Path

import pytest
import torch

from engine.config import RunConfig
from engine.events import Epoch, StateChanged
from engine.store import (
    FLUSH_EVERY_S,
    METRIC_COLUMNS,
    SWEEP_COLUMNS,
    list_runs,
    read_metrics,
    save_tensors,
    write_json,
)
from engine.sweep.events import SweepEpoch
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import ROOT, WDTUI, endless_jsonl_run, epochs_of, finished_of, wait_until

F_GETPIPE_SZ = 1032  # Linux


def unread_bytes(fd: int) -> int:
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")


def csv_lines(path: Path) -> list[str]:
    """The file's lines; asserts that it holds whole lines only."""
    text = path.read_text()
    assert text == "" or text.endswith("\n"), f"a torn last line in {path.name}: {text[-80:]!r}"
    return text.splitlines()


def data_rows(folder: Path, name: str) -> int:
    found = list(folder.glob(f"*/{name}"))
    return len(csv_lines(found[0])) - 1 if found else 0


# ----- a consumer that never reads -----------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_pipe_nobody_reads_cannot_hold_back_the_csv(tmp_path: Path, command: str) -> None:
    """stdout fills up and blocks the trainer; every epoch it printed is on disk all the same."""
    name = "metrics.csv" if command == "run" else "sweep.csv"
    extra = ["--lams", "0,0.1"] if command == "sweep" else []
    process = subprocess.Popen(
        [*WDTUI, command, "--jsonl", "--epochs", "100000000", "--runs-dir", str(tmp_path), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    fd = process.stdout.fileno()
    try:
        capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
        # Full (how full depends on how the writes fell into the pipe's pages) and still for
        # half a second: the writer is blocked for good, and nothing more is printed.
        readings: list[int] = []

        def blocked() -> bool:
            readings.append(unread_bytes(fd))
            return readings[-1] >= capacity // 2 and readings[-25:] == [readings[-1]] * 25

        wait_until(blocked, 60, "stdout's pipe to fill")
        blocked_at = time.monotonic()
        # The README's promise: rows reach the kernel at least every second, whatever happens.
        wait_until(
            lambda: (
                time.monotonic() - blocked_at >= FLUSH_EVERY_S + 0.5
                and data_rows(tmp_path, name) > 0
            ),
            30,
            f"a flush of {name} while stdout is blocked",
        )
    finally:
        process.kill()
        process.wait(10)
    printed = process.stdout.read().decode().split("\n")[:-1]  # the last piece may be torn
    epochs = [json.loads(line) for line in printed if '"epoch"' in line and "started" not in line]
    assert len(epochs) > 50
    (csv_file,) = tmp_path.glob(f"*/{name}")
    lines = csv_lines(csv_file)
    rows = [line.split(",") for line in lines[1:]]
    columns = METRIC_COLUMNS if command == "run" else SWEEP_COLUMNS
    assert all(len(row) == len(columns) for row in rows)
    on_disk = [int(row[0]) for row in rows]
    members = 1 if command == "run" else 2
    assert len(on_disk) >= members * epochs[-1]["epoch"]  # every printed epoch, whole
    assert on_disk[: members * epochs[-1]["epoch"]] == [
        e for e in range(1, epochs[-1]["epoch"] + 1) for _ in range(members)
    ]


def test_sigterm_saves_a_run_whose_stdout_nobody_reads(tmp_path: Path) -> None:
    """The JSON lines wait in a writer thread: the training thread is never stuck in the pipe,
    so a stop reaches it, the run saves, and the process leaves."""
    process = subprocess.Popen(
        [*WDTUI, "run", "--jsonl", "--epochs", "100000000", "--runs-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        fd = process.stdout.fileno()
        capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
        wait_until(lambda: unread_bytes(fd) >= capacity // 2, 60, "stdout's pipe to fill")
        wait_until(lambda: data_rows(tmp_path, "metrics.csv") > 1000, 60, "epochs past the pipe")
        process.terminate()
        assert process.wait(30) == 0
    finally:
        process.kill()
    (run_dir,) = tmp_path.iterdir()
    assert set(torch.load(run_dir / "weights.pt")) == {"weight", "bias"}
    assert len(read_metrics(run_dir)) > 1000


# ----- closed pipes --------------------------------------------------------------------------


def closed_pipe() -> int:
    """The write end of a pipe whose reader has gone, as `| true` leaves it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.parametrize("jsonl", [True, False])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, command: str, jsonl: bool) -> None:
    write_end = closed_pipe()
    args = [*WDTUI, command, "--epochs", "50", "--runs-dir", str(tmp_path)]
    result = subprocess.run(
        args + (["--jsonl"] if jsonl else []),
        cwd=ROOT,
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "weights.pt").is_file()
    assert (run_dir / ("metrics.csv" if command == "run" else "results.json")).is_file()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_closed_stderr_only_turns_the_progress_bar_off(tmp_path: Path, command: str) -> None:
    write_end = closed_pipe()
    result = subprocess.run(
        [*WDTUI, command, "--epochs", "300", "--runs-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=write_end,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert result.returncode == 0
    assert result.stdout.startswith("completed: ")  # the summary, after all 300 epochs
    assert "300 epochs" in result.stdout.splitlines()[0]


def test_head_3_stops_the_run_and_saves_it(tmp_path: Path) -> None:
    process = endless_jsonl_run(tmp_path)
    assert process.stdout is not None and process.stderr is not None
    head = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()  # what `head -3` does once it has its lines
    try:
        assert process.wait(60) == 0
    finally:
        process.kill()
    err = process.stderr.read()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert [json.loads(line)["event"] for line in head] == ["started", "epoch", "epoch"]
    (run_dir,) = tmp_path.iterdir()
    weights = torch.load(run_dir / "weights.pt")
    rows = read_metrics(run_dir)
    assert 2 <= len(rows) < 100000000
    # The saved weights are those of the last epoch on disk (full batch: exactly).
    replay = Trainer(RunConfig(epochs=len(rows), save=False), lambda e: None)
    replay.run()
    assert torch.equal(weights["weight"], replay.model.weight.detach())


# ----- a stop saves what it reports ----------------------------------------------------------


def stopping_at(epoch: int, events: list, holder: dict):
    def sink(event) -> None:
        events.append(event)
        if isinstance(event, (Epoch, SweepEpoch)) and event.epoch == epoch:
            holder["job"].stop()

    return sink


@pytest.mark.parametrize("batch_size", [0, 5])
def test_a_stop_keeps_the_weights_of_the_reported_epoch(batch_size: int) -> None:
    settings = {"preset": "highdim", "batch_size": batch_size, "lam": 0.1, "save": False}
    events: list = []
    holder: dict = {}
    trainer = holder["job"] = Trainer(
        RunConfig(**settings, epochs=1000), stopping_at(7, events, holder)
    )
    trainer.run()
    done = finished_of(events)
    assert (done.status, done.epochs, done.partial_epoch_steps) == ("stopped", 7, 0)
    exact = Trainer(RunConfig(**settings, epochs=7), lambda e: None)
    exact.run()
    for name, value in exact.model.named_parameters():
        assert torch.equal(done.weights.tensor(name), value.detach()), name


def test_a_stop_mid_epoch_says_how_far_into_the_epoch_the_weights_are() -> None:
    events: list = []
    trainer = Trainer(RunConfig(preset="highdim", epochs=1000, save=False), events.append)
    step = trainer.optimizer.step
    calls = {"n": 0}

    def counting_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7 * 4 + 2:  # highdim: 20 rows in minibatches of 5, 4 steps an epoch
            trainer.stop()
        return step(*args, **kwargs)

    trainer.optimizer.step = counting_step
    trainer.run()
    done = finished_of(events)
    assert (done.epochs, done.partial_epoch_steps) == (7, 2)
    assert "2 of 4 steps of epoch 8" in done.message
    assert done.to_json()["partial_epoch_steps"] == 2
    assert epochs_of(events)[-1].epoch == 7


def test_a_stopped_sweep_keeps_the_weights_of_the_reported_epoch() -> None:
    config = RunConfig(preset="highdim", batch_size=5, save=False)
    events: list = []
    holder: dict = {}
    sweep = holder["job"] = Sweep(
        RunConfig(**{**config.__dict__, "epochs": 1000}), [0.0, 1.0], stopping_at(6, events, holder)
    )
    done = sweep.run()
    assert (done.status, done.epochs, done.partial_epoch_steps) == ("stopped", 6, 0)
    exact = Sweep(RunConfig(**{**config.__dict__, "epochs": 6}), [0.0, 1.0], lambda e: None).run()
    for stopped, reference in zip(done.results, exact.results, strict=True):
        assert torch.equal(stopped.weights.tensor("weight"), reference.weights.tensor("weight"))


def test_sigterm_saves_the_weights_of_the_epoch_it_reports(tmp_path: Path) -> None:
    process = endless_jsonl_run(tmp_path)
    assert process.stdout is not None
    for _ in range(20):
        process.stdout.readline()
    process.terminate()
    out, err = process.communicate(timeout=60)
    done = json.loads(out.strip().splitlines()[-1])
    assert done["status"] == "stopped" and done["partial_epoch_steps"] == 0, err
    replay = Trainer(RunConfig(epochs=done["epochs"], save=False), lambda e: None)
    replay.run()
    saved = torch.load(Path(done["run_dir"]) / "weights.pt")
    assert torch.equal(saved["weight"], replay.model.weight.detach())
    assert len(read_metrics(done["run_dir"])) == done["epochs"]


# ----- pause: on disk before it is announced -------------------------------------------------


def test_whoever_sees_paused_finds_every_reported_epoch_on_disk(tmp_path: Path) -> None:
    """Checked inside the consumer, on the trainer's thread, the moment `paused` arrives."""
    seen: dict = {"epochs": 0, "on_disk": None}

    def sink(event) -> None:
        if isinstance(event, Epoch):
            seen["epochs"] = event.epoch
            if event.epoch == 30:
                trainer.pause()
        elif isinstance(event, StateChanged) and event.state == "paused":
            seen["on_disk"] = len(read_metrics(trainer.run_dir))
            trainer.stop()

    trainer = Trainer(RunConfig(preset="line", epochs=10**6, runs_dir=str(tmp_path)), sink)
    trainer.run()
    assert seen["on_disk"] == seen["epochs"] >= 30


# ----- files written whole -------------------------------------------------------------------


def test_weights_and_json_are_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "weights.pt"
    save_tensors(target, {"w": torch.ones(3)})
    real_save = torch.save

    def killed_halfway(data, path) -> None:  # what a kill mid-write leaves behind
        Path(path).write_bytes(b"PK\x03\x04 torn")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_tensors(target, {"w": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.equal(torch.load(target)["w"], torch.ones(3))  # the old file, intact
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]  # no partial file left

    write_json(tmp_path / "results.json", {"a": 1})
    monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        write_json(tmp_path / "results.json", {"a": 2})
    assert json.loads((tmp_path / "results.json").read_text()) == {"a": 1}


def full_disk_after(budget: int, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """Writes to files named *suffix get `budget` bytes in all, then ENOSPC (a short write
    first, as a real disk gives)."""
    real_write = os.write
    left = {"bytes": budget}

    def write(fd: int, data) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(suffix):
            return real_write(fd, data)
        if left["bytes"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(data[: left["bytes"]]))
        left["bytes"] -= written
        return written

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_keeps_whole_rows_and_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_disk_after(1000, monkeypatch, "metrics.csv")
    events: list = []

    def sink(event) -> None:
        events.append(event)
        if isinstance(event, Epoch) and event.epoch % 3 == 0:
            trainer._recorder.flush()  # several flushes, so one of them is cut short

    trainer = Trainer(RunConfig(preset="line", epochs=10**6, runs_dir=str(tmp_path)), sink)
    trainer.run()
    done = finished_of(events)
    assert done.status == "failed" and "No space left on device" in done.message
    assert done.run_dir == str(trainer.run_dir)
    lines = csv_lines(trainer.run_dir / "metrics.csv")
    assert lines[0] == ",".join(METRIC_COLUMNS)
    assert all(len(line.split(",")) == len(METRIC_COLUMNS) for line in lines[1:])
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, len(lines)))
    assert (trainer.run_dir / "weights.pt").is_file()  # the weights were still saved


def test_a_full_disk_keeps_whole_sweep_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_disk_after(700, monkeypatch, "sweep.csv")
    lams = [0.0, 0.01, 0.1]
    done = Sweep(
        RunConfig(preset="line", epochs=10**6, runs_dir=str(tmp_path)), lams, lambda e: None
    ).run()
    assert done.status == "failed" and "No space left on device" in done.message
    assert done.run_dir is not None
    lines = csv_lines(Path(done.run_dir) / "sweep.csv")[1:]
    assert lines and len(lines) % len(lams) == 0  # whole epochs: every member or none
    epochs = [int(line.split(",")[0]) for line in lines]
    assert epochs == [e for e in range(1, len(lines) // 3 + 1) for _ in lams]


def saving_job(command: str, config: RunConfig) -> Trainer | Sweep:
    return (
        Trainer(config, lambda e: None)
        if command == "run"
        else Sweep(config, [0.0, 0.1], lambda e: None)
    )


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_failed_last_flush_fails_the_run_and_results_json_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Room for the header only: the rows all wait for the last flush (the run is shorter than
    # the flush thread's second), and that flush fails. Nothing may call this run completed.
    name, columns = (
        ("metrics.csv", METRIC_COLUMNS) if command == "run" else ("sweep.csv", SWEEP_COLUMNS)
    )
    full_disk_after(len(",".join(columns)) + 1, monkeypatch, name)
    config = RunConfig(preset="line", epochs=20, runs_dir=str(tmp_path))
    job = (
        Trainer(config, lambda e: None)
        if command == "run"
        else Sweep(config, [0.0, 0.1], lambda e: None)
    )
    done = job.run()
    assert done.status == "failed" and "No space left on device" in done.message
    results = json.loads((Path(done.run_dir or "") / "results.json").read_text())
    assert (results["status"], results["message"]) == (done.status, done.message)
    (entry,) = list_runs(tmp_path)
    assert entry.status == "failed"


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_weights_that_cannot_be_saved_still_leave_results_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    def no_room(path: Path, data: object) -> None:
        raise OSError(errno.ENOSPC, f"No space left on device: {path.name}")

    monkeypatch.setattr("engine.store.writing.save_tensors", no_room)
    config = RunConfig(preset="line", epochs=3, runs_dir=str(tmp_path))
    job = (
        Trainer(config, lambda e: None)
        if command == "run"
        else Sweep(config, [0.0], lambda e: None)
    )
    done = job.run()
    assert done.status == "failed" and "weights.pt" in done.message
    results = json.loads((Path(done.run_dir or "") / "results.json").read_text())
    assert (results["status"], results["message"]) == ("failed", done.message)
    assert not (Path(done.run_dir or "") / "weights.pt").exists()
