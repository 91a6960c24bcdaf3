"""Quitting during a long optimizer step: the runs stop, save, and only then does the app exit.

Review finding: `q` during a step that takes seconds (a huge MLP) froze the UI for 20 s (two
10 s joins), then exited with the trainer still running and no weights.pt.

A `Gate` stands in for the long step: the thread that passes it while it is armed waits until
the test releases it. Every wait polls a condition with a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from textual.app import App
from textual.pilot import Pilot

from support.tui import (
    SIZE,
    keys,
    make_app,
    open_sweep_view,
    running,
    send,
    status_of,
    sync,
    trainer_thread,
    until,
    wait_for,
    wait_for_thread_end,
)
from tui.app import QUIT_NOTE, WeightDecayApp, live_trainer_threads
from tui.screens.sweep_screen import SweepScreen


class Gate:
    def __init__(self) -> None:
        self.armed = threading.Event()
        self.entered = threading.Event()  # a thread is held at the gate
        self.release = threading.Event()

    def __call__(self, *_: object) -> None:
        if self.armed.is_set() and not self.release.is_set():
            self.entered.set()
            self.release.wait(timeout=60)  # bounded: a failing test must not hang the suite


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.release.set()  # whatever happened, no thread stays held


def exiting(app: App[object]) -> bool:
    return app.return_code is not None  # set by App.exit()


async def hold_a_step(pilot: Pilot, app: WeightDecayApp, gate: Gate) -> None:
    """Make the live trainer's next forward pass wait at the gate."""
    trainer = app.explorer.live.trainer
    assert trainer is not None
    trainer.model.register_forward_pre_hook(lambda *_: gate())
    gate.armed.set()
    await wait_for(pilot, gate.entered.is_set, "a step to be held")


@sync
async def test_q_during_a_long_step_waits_for_the_run_to_save(tmp_path: Path, gate: Gate) -> None:
    app = make_app(save=True, runs_dir=str(tmp_path))
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        trainer = live.trainer
        assert trainer is not None and trainer.run_dir is not None
        weights = Path(trainer.run_dir) / "weights.pt"
        thread = trainer_thread()
        await hold_a_step(pilot, app, gate)
        send(app, "q")
        # The UI is live (the note is drawn after q) and the app waits for the step.
        await wait_for(pilot, lambda: QUIT_NOTE in status_of(app), "the stopping note")
        await keys(pilot, "y")  # disabled while stopping: nothing changes, nothing breaks
        assert app.explorer.log_y is True
        assert not exiting(app) and thread.is_alive() and not weights.exists()
        gate.release.set()
        await until(lambda: exiting(app), "the app to exit once the run has saved")
    assert app.return_code == 0
    assert not thread.is_alive() and not live_trainer_threads()
    assert set(torch.load(weights)) == {"weight", "bias"}


@sync
async def test_a_run_replaced_during_a_long_step_saves_and_quit_waits_for_it(
    tmp_path: Path, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A step longer than a restart waits.
    monkeypatch.setattr("tui.state.live_run.JOIN_TIMEOUT_S", 0.2)
    app = make_app(save=True, runs_dir=str(tmp_path))
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        old = live.trainer
        assert old is not None and old.run_dir is not None
        await hold_a_step(pilot, app, gate)
        await keys(pilot, "r")
        await wait_for(pilot, lambda: live.trainer is not old, "the new run")
        await wait_for(pilot, lambda: "finishing its step" in status_of(app), "the note")
        assert old.status == "running" and not (old.run_dir / "weights.pt").exists()
        await running(pilot)  # the new run trains meanwhile
        send(app, "q")
        await wait_for(pilot, lambda: QUIT_NOTE in status_of(app), "the stopping note")
        assert not exiting(app)  # waiting for the old run too
        gate.release.set()
        await until(lambda: exiting(app), "the app to exit once both runs have saved")
    assert old.status == "stopped" and not live_trainer_threads()
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2 and all((f / "weights.pt").is_file() for f in folders)


@sync
async def test_q_again_while_saving_quits_at_once(tmp_path: Path, gate: Gate) -> None:
    app = make_app(save=True, runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        thread = trainer_thread()
        await hold_a_step(pilot, app, gate)
        send(app, "q")
        await wait_for(pilot, lambda: QUIT_NOTE in status_of(app), "the stopping note")
        assert "q again" in QUIT_NOTE
        send(app, "ctrl+q")
        await until(lambda: exiting(app), "the app to exit without waiting")
    assert thread.is_alive()  # still held: the app did not wait for it
    gate.release.set()
    await wait_for_thread_end(thread)  # it stops at its next step


@sync
async def test_quit_waits_for_the_sweep_to_save_too(tmp_path: Path, gate: Gate) -> None:
    app = make_app(preset="highdim", save=True, runs_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        screen = await open_sweep_view(pilot, app)
        handle = screen._on_sweep_event  # the sweep thread calls it after each epoch

        def held(*args: object) -> None:
            gate()
            handle(*args)  # type: ignore[arg-type]

        screen._on_sweep_event = held  # type: ignore[method-assign]
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.running, "the sweep to run")
        sweep = screen.sweep
        assert sweep is not None and sweep.run_dir is not None
        sweep_thread = next(t for t in threading.enumerate() if t.name == "wdtui-sweep")
        gate.armed.set()
        await wait_for(pilot, gate.entered.is_set, "the sweep to be held")
        send(app, "ctrl+q")  # q is "back" on the sweep view; ctrl+q quits from anywhere
        await wait_for(pilot, lambda: QUIT_NOTE in status_of(app), "the stopping note")
        assert not isinstance(app.screen, SweepScreen)  # back to where the note shows
        assert not exiting(app) and sweep_thread.is_alive()
        gate.release.set()
        await until(lambda: exiting(app), "the app to exit once the sweep has saved")
    assert not sweep_thread.is_alive() and not live_trainer_threads()
    assert (Path(sweep.run_dir) / "weights.pt").is_file()
    assert (Path(sweep.run_dir) / "results.json").is_file()


@sync
async def test_closing_the_app_during_a_long_step_saves_the_run(tmp_path: Path, gate: Gate) -> None:
    """However the app ends (here the test harness closes it), the run is stopped and saved."""
    app = make_app(save=True, runs_dir=str(tmp_path))
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        trainer = live.trainer
        assert trainer is not None and trainer.run_dir is not None
        stop = trainer.stop

        def stop_and_release() -> None:  # the long step ends some time after the stop
            stop()
            threading.Timer(0.5, gate.release.set).start()

        trainer.stop = stop_and_release  # type: ignore[method-assign]
        await hold_a_step(pilot, app, gate)
    assert not live_trainer_threads()
    assert (Path(trainer.run_dir) / "weights.pt").is_file()
