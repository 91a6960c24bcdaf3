"""`wdtui sweep --ray`: λ slices on Ray workers, still one sweep.

Every test here trains on a real local Ray instance (tests/support/ray.py: 2 CPUs, started
once), against a local `Sweep` as the reference: the members are the same runs wherever they
trained. A slice computes exactly what a sweep of its own λ computes (equal to the bit); against
one sweep of every λ, the stacked matrix products have fewer columns, which the CPU's kernels
may round differently, so the members agree to float tolerance, as each agrees with its own run
(tests/test_sweep.py).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.config import RunConfig
from engine.store import load_sweep
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished, SweepStarted
from engine.sweep.ray_cluster import CONNECT_TIMEOUT_S
from engine.sweep.ray_sweep import RaySweep
from engine.sweep.runner import Sweep
from support.engine import ROOT, WDTUI, EventQueue, call_wdtui, sweep_epochs_of, wait_until
from support.ray import RAY_TEST_CPUS, ray_env

pytestmark = pytest.mark.usefixtures("ray_instance")

# Two slices: [0, 1] trains; [1000, 3000] diverges (lr·2λ ≥ 1), so its slice ends early and
# its frozen numbers are carried on, as one sweep re-measures them.
LAMS = [0.0, 1.0, 1000.0, 3000.0]
# Measured: losses differ by up to 2e-9 absolute (2e-6 of the tiny residual of a fit that is
# nearly exact), weights by up to 5e-8.
REL, ABS = 1e-5, 1e-8


def assert_same_weights(got: torch.Tensor, want: torch.Tensor) -> None:
    """As a member matches its own run (tests/test_sweep.py)."""
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)


def config(tmp_path: Path, **settings: object) -> RunConfig:
    base: dict[str, object] = {"preset": "highdim", "epochs": 150, "device": "cpu"}
    return RunConfig(runs_dir=str(tmp_path), **{**base, **settings})  # type: ignore[arg-type]


def both(
    tmp_path: Path, lams: list[float], **settings: object
) -> tuple[list[SweepEvent], list[SweepEvent], RaySweep]:
    """The same sweep trained here and on 2 Ray workers: (local events, Ray events, the Ray
    sweep)."""
    here: list[SweepEvent] = []
    Sweep(config(tmp_path, **settings), lams, here.append).run()
    there: list[SweepEvent] = []
    sweep = RaySweep(config(tmp_path, **settings), lams, there.append, workers=2)
    sweep.run()
    return here, there, sweep


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b):
        return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


def assert_epochs_match(here: list[SweepEpoch], there: list[SweepEpoch]) -> None:
    assert [e.epoch for e in there] == [e.epoch for e in here]
    for a, b in zip(here, there, strict=True):
        assert b.statuses == a.statuses
        for name in ("train_loss", "test_loss", "weight_sq_norm", "train_accuracy"):
            got, want = getattr(b, name), getattr(a, name)
            assert (got is None) == (want is None), name
            if want is not None:
                assert all(close(x, y) for x, y in zip(got, want, strict=True)), (name, a.epoch)


def finished(events: list[SweepEvent]) -> SweepFinished:
    (done,) = [e for e in events if isinstance(e, SweepFinished)]
    return done


@pytest.mark.parametrize(
    "settings",
    [
        {},  # linear regression, one member of the second slice diverging
        {"preset": "digits", "model": "mlp", "hidden": (8,), "epochs": 12, "lr": 0.05},
    ],
    ids=["highdim-linear", "digits-mlp"],
)
def test_two_workers_train_the_same_sweep_as_one_machine(tmp_path, settings) -> None:
    lams = LAMS if not settings else [0.0, 0.001, 0.01, 0.1]
    here, there, sweep = both(tmp_path, lams, **settings)
    assert [len(w.members) for w in sweep.workers] == [2, 2]
    assert len({w.pid for w in sweep.workers} | {os.getpid()}) == 3  # two other processes

    (started_here,) = [e for e in here if isinstance(e, SweepStarted)]
    (started_there,) = [e for e in there if isinstance(e, SweepStarted)]
    assert started_there.lams == started_here.lams
    assert started_there.config == started_here.config
    assert started_there.device == "2 Ray workers (cpu)"
    assert isinstance(there[0], SweepStarted) and isinstance(there[-1], SweepFinished)
    assert_epochs_match(sweep_epochs_of(here), sweep_epochs_of(there))

    a, b = finished(here), finished(there)
    for name in ("status", "epochs", "best_lam", "best_by", "message"):
        assert getattr(b, name) == getattr(a, name), name
    for ra, rb in zip(a.results, b.results, strict=True):
        assert (rb.lam, rb.status, rb.epochs) == (ra.lam, ra.status, ra.epochs)
        assert close(rb.test_loss, ra.test_loss) and close(rb.train_loss, ra.train_loss)
        for name in ra.weights:
            assert_same_weights(rb.weights.tensor(name), ra.weights.tensor(name))

    # The same files, written on this machine.
    local_dir, ray_dir = Path(a.run_dir or ""), Path(b.run_dir or "")
    assert ray_dir.parent == tmp_path and ray_dir != local_dir
    assert sorted(p.name for p in ray_dir.iterdir()) == sorted(p.name for p in local_dir.iterdir())
    assert json.loads((ray_dir / "config.json").read_text()) == json.loads(
        (local_dir / "config.json").read_text()
    )
    w_here = torch.load(local_dir / "weights.pt", weights_only=True)
    w_there = torch.load(ray_dir / "weights.pt", weights_only=True)
    assert w_there["lams"] == w_here["lams"]
    assert w_there["state_dict"].keys() == w_here["state_dict"].keys()
    for name, tensor in w_here["state_dict"].items():
        assert_same_weights(w_there["state_dict"][name], tensor)
    rows_here = (local_dir / "sweep.csv").read_text().splitlines()
    rows_there = (ray_dir / "sweep.csv").read_text().splitlines()
    assert len(rows_there) == len(rows_here)
    assert [r.split(",")[:2] for r in rows_there] == [r.split(",")[:2] for r in rows_here]
    result_here = json.loads((local_dir / "results.json").read_text())
    result_there = json.loads((ray_dir / "results.json").read_text())
    for key in ("status", "epochs", "best_lam", "message"):
        assert result_there[key] == result_here[key], key


def test_the_command_line_prints_one_sweep_as_json_lines(capsys, tmp_path) -> None:
    code, out, err = call_wdtui(
        capsys, "sweep", "--preset", "highdim", "--epochs", "40", "--lams", "0,0.1,1",
        "--device", "cpu", "--ray", "--ray-workers", "2", "--jsonl", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]  # stdout holds JSON alone
    kinds = [line["event"] for line in lines]
    assert kinds == ["sweep_started"] + ["sweep_epoch"] * 40 + ["sweep_finished"]
    assert all(len(line["train_loss"]) == 3 for line in lines[1:-1])
    assert lines[-1]["status"] == "completed" and lines[-1]["best_lam"] == 1.0
    assert err == ""


def test_auto_joins_the_running_cluster_and_leaves_it_running(tmp_path) -> None:
    import ray

    # The instance this module started is "the running cluster" for a command that joins it.
    address = ray.get_runtime_context().gcs_address
    done = subprocess.run(
        [*WDTUI, "sweep", "--preset", "highdim", "--epochs", "20", "--lams", "0,0.1,1",
         "--device", "cpu", "--ray", "auto", "--jsonl", "--no-save"],
        cwd=ROOT, env={**ray_env(), "RAY_ADDRESS": address}, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    # --ray-workers by default: the cluster's CPUs (2), at most one per λ.
    assert lines[0]["device"] == "2 Ray workers (cpu)"
    assert lines[-1]["status"] == "completed" and lines[-1]["best_lam"] == 1.0
    assert ray.cluster_resources().get("CPU") == RAY_TEST_CPUS  # still up after it left
    wait_until(
        lambda: ray.available_resources().get("CPU") == RAY_TEST_CPUS, 30, "its workers to go"
    )


def test_a_killed_worker_fails_only_its_own_members(tmp_path) -> None:
    events = EventQueue()
    lams = [0.0, 0.1, 1.0, 10.0]
    sweep = RaySweep(config(tmp_path, epochs=1500), lams, events, workers=2)
    sweep.launch()
    sweep.start()
    events.wait_for(lambda e: isinstance(e, SweepEpoch) and e.epoch >= 20)
    os.kill(sweep.workers[1].pid, signal.SIGKILL)
    done = events.wait_for(lambda e: isinstance(e, SweepFinished), timeout=120)
    assert isinstance(done, SweepFinished)
    assert sweep.join(10)

    assert done.status == "completed"  # the others finished
    assert [r.status for r in done.results] == ["completed", "completed", "failed", "failed"]
    assert done.epochs == 1500 and [r.epochs for r in done.results[:2]] == [1500, 1500]
    assert 20 <= done.results[2].epochs < 1500
    assert "λ 1, 10 failed: its Ray worker was lost (ActorDiedError" in done.message
    assert done.best_lam in (0.0, 0.1)
    epochs = [e for e in events.drain() if isinstance(e, SweepEpoch)]
    assert [e.epoch for e in epochs] == list(range(1, 1501))
    assert epochs[-1].statuses == ("running", "running", "failed", "failed")
    assert all(math.isnan(v) for v in epochs[-1].test_loss[2:])

    # The survivors are the runs a sweep of their λ alone trains, to the bit.
    alone: list[SweepEvent] = []
    Sweep(config(tmp_path, epochs=1500, save=False), lams[:2], alone.append).run()
    for got, want in zip(done.results[:2], finished(alone).results, strict=True):
        for name in want.weights:
            assert torch.equal(got.weights.tensor(name), want.weights.tensor(name))
    # Its files say so: the lost members' weights are NaN, their rows stop where they died.
    run_dir = Path(done.run_dir or "")
    saved = json.loads((run_dir / "results.json").read_text())
    assert [m["status"] for m in saved["results"]] == ["completed", "completed", "failed", "failed"]
    stacked = torch.load(run_dir / "weights.pt", weights_only=True)["state_dict"]
    weight = next(iter(stacked.values()))
    assert torch.isnan(weight[2:]).all() and not torch.isnan(weight[:2]).any()
    last_rows = {}
    for row in (run_dir / "sweep.csv").read_text().splitlines()[1:]:
        epoch, lam = row.split(",")[:2]
        last_rows[float(lam)] = int(epoch)
    assert last_rows[0.0] == 1500 and last_rows[10.0] == done.results[3].epochs
    # Read back (wdtui open, the runs screen): the lost members are `failed` after their last.
    saved_sweep = load_sweep(run_dir)
    died = done.results[2].epochs
    assert [e.epoch for e in saved_sweep.epochs] == list(range(1, 1501))
    assert saved_sweep.epochs[died - 1].statuses == ("running",) * 4
    assert saved_sweep.epochs[died].statuses == ("running", "running", "failed", "failed")


def test_a_sweep_whose_every_worker_died_fails_with_exit_1(tmp_path) -> None:
    events = EventQueue()
    sweep = RaySweep(config(tmp_path, epochs=100_000), [0.0, 1.0], events, workers=2)
    sweep.launch()
    sweep.start()
    events.wait_for(lambda e: isinstance(e, SweepEpoch))
    for worker in sweep.workers:
        os.kill(worker.pid, signal.SIGKILL)
    done = events.wait_for(lambda e: isinstance(e, SweepFinished), timeout=60)
    assert isinstance(done, SweepFinished)
    assert done.status == "failed" and done.best_lam is None
    assert done.message.startswith("no member finished; λ 0 failed: its Ray worker was lost")
    assert [r.status for r in done.results] == ["failed", "failed"]
    # weights.pt keeps the shapes of a sweep's, every member NaN: no weights survived.
    stacked = torch.load(Path(done.run_dir or "") / "weights.pt", weights_only=True)
    assert {n: tuple(t.shape) for n, t in stacked["state_dict"].items()} == {
        "weight": (2, 1, 200),
        "bias": (2, 1),
    }
    assert all(torch.isnan(t).all() for t in stacked["state_dict"].values())


def test_every_member_diverging_says_so_as_one_sweep_does(tmp_path) -> None:
    events: list[SweepEvent] = []
    done = RaySweep(config(tmp_path, save=False), [1000.0, 3000.0], events.append, workers=2).run()
    assert (done.status, done.message) == ("failed", "every member diverged")


def stalled(events: EventQueue, sweep: RaySweep) -> int:
    """Start `sweep`, then freeze its second worker (SIGSTOP) once both have trained a little:
    it can reach no epoch's end. Returns that worker's pid."""
    sweep.launch()
    sweep.start()
    events.wait_for(lambda e: isinstance(e, SweepEpoch) and e.epoch >= 5)
    pid = sweep.workers[1].pid
    os.kill(pid, signal.SIGSTOP)
    return pid


def test_a_worker_lost_while_the_others_wait_at_an_epochs_end_lets_them_finish(tmp_path) -> None:
    events = EventQueue()
    sweep = RaySweep(config(tmp_path, epochs=100_000), [0.0, 0.1, 1.0, 10.0], events, workers=2)
    pid = stalled(events, sweep)
    sweep.stop()  # the first worker waits at its next epoch's end for the second, frozen
    os.kill(pid, signal.SIGKILL)
    done = events.wait_for(lambda e: isinstance(e, SweepFinished), timeout=60)
    assert isinstance(done, SweepFinished) and sweep.join(10)
    assert done.status == "stopped"
    assert [r.status for r in done.results] == ["stopped", "stopped", "failed", "failed"]
    assert done.results[0].epochs == done.results[1].epochs == done.epochs
    assert done.message.startswith(f"stopped by request after epoch {done.epochs}; λ 1, 10 failed")


def test_a_second_stop_stops_every_worker_at_its_next_step(tmp_path) -> None:
    events = EventQueue()
    sweep = RaySweep(config(tmp_path, epochs=100_000), [0.0, 0.1, 1.0, 10.0], events, workers=2)
    pid = stalled(events, sweep)
    sweep.stop()
    sweep.stop()  # a second Ctrl+C: do not wait for the frozen worker's epoch to end
    os.kill(pid, signal.SIGCONT)
    done = events.wait_for(lambda e: isinstance(e, SweepFinished), timeout=60)
    assert isinstance(done, SweepFinished) and sweep.join(10)
    assert done.status == "stopped"
    assert [r.status for r in done.results] == ["stopped"] * 4
    assert all(r.weights for r in done.results)  # every member's weights, as trained
    first, second = done.results[0].epochs, done.results[2].epochs
    assert first != second and done.epochs == max(first, second)
    assert done.message.startswith("stopped by request at once")


def test_ctrl_c_stops_every_worker_after_one_same_epoch_and_saves_it(tmp_path) -> None:
    process = subprocess.Popen(
        [*WDTUI, "sweep", "--preset", "highdim", "--epochs", "100000", "--lams", "0,0.1,1,10",
         "--device", "cpu", "--ray", "--ray-workers", "2", "--jsonl", "--runs-dir", str(tmp_path)],
        cwd=ROOT, env=ray_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line)["event"] == "sweep_epoch":
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "sweep_finished" and last["status"] == "stopped"
    stopped_at = last["epochs"]
    assert [m["status"] for m in last["results"]] == ["stopped"] * 4
    assert [m["epochs"] for m in last["results"]] == [stopped_at] * 4
    assert last["partial_epoch_steps"] == 0
    assert last["message"] == f"stopped by request after epoch {stopped_at}"

    # What was trained is saved, and it is a sweep of exactly that many epochs.
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "results.json").read_text())["status"] == "stopped"
    saved = torch.load(run_dir / "weights.pt", weights_only=True)["state_dict"]
    reference: list[SweepEvent] = []
    Sweep(config(tmp_path, epochs=stopped_at, save=False), [0, 0.1, 1, 10], reference.append).run()
    for k, member in enumerate(finished(reference).results):
        for name in member.weights:
            assert_same_weights(saved[name][k], member.weights.tensor(name))


def test_a_sweep_stopped_while_it_connects_frees_its_workers_and_saves_nothing(tmp_path) -> None:
    import ray

    events: list[SweepEvent] = []
    sweep = RaySweep(config(tmp_path), [0.0, 1.0], events.append, workers=2)
    sweep.stop()  # as the explorer's `s` can, before its thread has connected
    done = sweep.run()
    assert done.status == "stopped" and done.epochs == 0 and done.run_dir is None
    assert [(r.status, r.epochs) for r in done.results] == [("stopped", 0), ("stopped", 0)]
    assert events == [done] and not any(tmp_path.iterdir())
    wait_until(
        lambda: ray.available_resources().get("CPU") == RAY_TEST_CPUS, 30, "the workers to go"
    )


def test_ray_connects_inside_an_app_whose_stderr_has_no_file_descriptor() -> None:
    # Textual replaces sys.stderr with a capture whose fileno() is -1; ray.init turns
    # faulthandler on for sys.stderr and failed there ("not a valid file descriptor").
    script = (
        "import io, sys\n"
        "class Capture(io.TextIOBase):\n"
        "    def fileno(self): return -1\n"
        "    def write(self, text): return len(text)\n"
        "sys.stderr = Capture()\n"
        "from engine.sweep import ray_cluster\n"
        "print(ray_cluster.connect(ray_cluster.LOCAL, num_cpus=1))\n"
        "ray_cluster.disconnect()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=ray_env(), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1: Connection refused"),
        ("ray://127.0.0.1:1", "cannot reach the Ray cluster at ray://127.0.0.1:1: Connection"),
    ],
)
def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path, address, words) -> None:
    done = subprocess.run(
        [*WDTUI, "sweep", "--epochs", "5", "--ray", address, "--runs-dir", str(tmp_path)],
        cwd=ROOT, env=ray_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"wdtui sweep: error: --ray: {words}")
    assert done.stderr.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing saved for a sweep that never started


def test_a_listener_that_never_answers_as_ray_is_one_line_and_exit_2_in_bounded_time() -> None:
    # Something listens at the address but never speaks Ray: Ray's own connect would retry for
    # minutes; the command gives up after CONNECT_TIMEOUT_S and leaves at once.
    with socket.create_server(("0.0.0.0", 0)) as silent:
        port = silent.getsockname()[1]
        done = subprocess.run(
            [*WDTUI, "sweep", "--epochs", "5", "--ray", f"127.0.0.1:{port}", "--no-save"],
            cwd=ROOT, env=ray_env(), capture_output=True, text=True, timeout=CONNECT_TIMEOUT_S + 60,
        )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    # Ray's C++ core may have logged its retries before it; ours is the last line.
    assert done.stderr.splitlines()[-1] == (
        f"wdtui sweep: error: --ray: no answer from the Ray cluster at 127.0.0.1:{port} in "
        f"{CONNECT_TIMEOUT_S:g} s"
    )


def test_ctrl_c_while_connecting_leaves_at_once_with_one_line() -> None:
    with socket.create_server(("0.0.0.0", 0)) as silent:
        port = silent.getsockname()[1]
        process = subprocess.Popen(
            [*WDTUI, "sweep", "--epochs", "5", "--ray", f"127.0.0.1:{port}", "--no-save"],
            cwd=ROOT, env=ray_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        silent.settimeout(60)
        silent.accept()[0].close()  # the command's probe: it is connecting now
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and out == ""
    assert err.splitlines()[-1] == (
        "wdtui sweep: interrupted while starting on Ray: nothing trained, nothing saved"
    )


@pytest.mark.parametrize("address", ["", "ray://", "127.0.0.1:notaport", "host:0", "nowhere"])
def test_text_that_is_no_address_is_one_line_before_ray_starts(capsys, address) -> None:
    code, out, err = call_wdtui(capsys, "sweep", "--epochs", "5", f"--ray={address}", "--no-save")
    assert (code, out) == (2, "")
    assert err == (
        f"wdtui sweep: error: --ray: not a Ray address: {address!r} (give local, auto, "
        "ray://HOST:PORT or HOST:PORT)\n"
    )


def test_without_ray_installed_the_option_says_how_to_install_it(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, out, err = call_wdtui(capsys, "sweep", "--epochs", "5", "--ray", "--no-save")
    assert code == 2 and out == ""
    assert err == (
        "wdtui sweep: error: --ray needs Ray, which is not installed: pip install 'wdtui[ray]'\n"
    )
