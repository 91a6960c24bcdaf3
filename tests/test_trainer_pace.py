"""The trainer's pace (the most epochs per second) and its one-epoch step while paused."""

from __future__ import annotations

import pytest

from engine.config import ConfigError, RunConfig
from engine.events import Epoch, Event, StateChanged
from engine.trainer import Trainer
from support.engine import EventQueue, epochs_of, finished_of, run_to_end

LONG = {"epochs": 10**7, "save": False}
PAUSED = StateChanged("paused")
RUNNING = StateChanged("running")


def is_epoch(n: int):
    return lambda e: isinstance(e, Epoch) and e.epoch >= n


def states_and_epochs(seen: list[Event]) -> list[object]:
    kept = (Epoch, StateChanged)
    return [e.epoch if isinstance(e, Epoch) else e for e in seen if isinstance(e, kept)]


def pause_and_wait(trainer: Trainer, events: EventQueue) -> int:
    trainer.pause()
    events.wait_for(lambda e: e == PAUSED)
    return trainer.epoch


@pytest.mark.parametrize(
    "preset", ["line", "highdim"], ids=["full batch (reported by the next step)", "minibatches"]
)
def test_a_step_while_paused_trains_exactly_one_epoch_then_pauses(
    events: EventQueue, preset: str
) -> None:
    trainer = Trainer(RunConfig(preset=preset, **LONG), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(3))
        paused_at = pause_and_wait(trainer, events)
        for n in (1, 2):
            mark = len(events.seen)
            trainer.step_epoch()
            events.wait_for(lambda e: e == PAUSED)
            assert states_and_epochs(events.seen[mark:]) == [RUNNING, paused_at + n, PAUSED]
            assert trainer.epoch == paused_at + n and trainer.status == "paused"
    finally:
        trainer.stop()
        assert trainer.join(10)
    assert finished_of(events.drain()).epochs == paused_at + 2


def test_a_step_after_a_pause_finishes_the_epoch_under_way(events: EventQueue) -> None:
    # 20 steps an epoch: the pause most likely lands inside one.
    trainer = Trainer(RunConfig(preset="highdim", batch_size=1, **LONG), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(1))
        paused_at = pause_and_wait(trainer, events)
        trainer.step_epoch()
        events.wait_for(lambda e: e == PAUSED)
        assert trainer.epoch == paused_at + 1
    finally:
        trainer.stop()
        trainer.join(10)
    # Stopped while paused before epoch paused_at + 2: no partial steps of it.
    done = finished_of(events.drain())
    assert done.epochs == paused_at + 1 and done.partial_epoch_steps == 0


def test_a_run_stepped_epoch_by_epoch_equals_one_trained_straight_through(
    events: EventQueue,
) -> None:
    _, straight = run_to_end(preset="highdim", epochs=8)
    trainer = Trainer(RunConfig(preset="highdim", epochs=8, save=False), events)
    trainer.pause()  # queued before it starts: it pauses before its first step
    trainer.start()
    events.wait_for(lambda e: e == PAUSED)
    for _ in range(5):
        trainer.step_epoch()
        events.wait_for(lambda e: e == PAUSED)
    trainer.resume()
    assert trainer.join(20)
    stepped = events.drain()
    assert [e.train_loss for e in epochs_of(stepped)] == [e.train_loss for e in epochs_of(straight)]
    a, b = finished_of(stepped).weights, finished_of(straight).weights
    assert dict(a) == dict(b)  # bit for bit: the same floats


def test_a_step_while_running_changes_nothing(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(preset="highdim", **LONG), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(1))
        trainer.step_epoch()
        at = trainer.epoch
        events.wait_for(is_epoch(at + 20))  # still running: no pause came of it
        assert PAUSED not in events.seen
    finally:
        trainer.stop()
        trainer.join(10)


def test_the_pace_caps_epochs_per_second() -> None:
    # A lower bound only (a slow machine can take longer, never shorter): 11 epochs at 50/s
    # wait 10 × 20 ms between them.
    seen: list[Event] = []
    Trainer(RunConfig(preset="highdim", epochs=11, save=False), seen.append, pace=50.0).run()
    assert epochs_of(seen)[-1].elapsed_s >= 10 / 50


def test_lifting_the_pace_takes_effect_at_once(events: EventQueue) -> None:
    # One epoch per 100 s: without the change, epoch 30 would be 48 minutes away.
    trainer = Trainer(RunConfig(preset="highdim", **LONG), events, pace=0.01)
    trainer.start()
    try:
        events.wait_for(is_epoch(1))
        trainer.set_pace(None)
        events.wait_for(is_epoch(30))
    finally:
        trainer.stop()
        assert trainer.join(10)


def test_stop_during_the_pace_wait_ends_promptly(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(preset="highdim", **LONG), events, pace=0.01)
    trainer.start()
    events.wait_for(is_epoch(1))
    trainer.stop()
    assert trainer.join(5)
    assert finished_of(events.drain()).status == "stopped"


def test_a_pause_during_the_pace_wait_is_answered_at_once(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(preset="highdim", **LONG), events, pace=0.01)
    trainer.start()
    try:
        events.wait_for(is_epoch(1))
        trainer.pause()
        events.wait_for(lambda e: e == PAUSED, timeout=10)
        trainer.step_epoch()  # a step is not held back by the pace either
        events.wait_for(is_epoch(2), timeout=10)
    finally:
        trainer.stop()
        assert trainer.join(5)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_bad_pace_is_refused(events: EventQueue, bad: float) -> None:
    with pytest.raises(ConfigError, match="pace must be"):
        Trainer(RunConfig(preset="line", epochs=1, save=False), events, pace=bad)
    trainer = Trainer(RunConfig(preset="line", epochs=1, save=False), events)
    with pytest.raises(ConfigError, match="pace must be"):
        trainer.set_pace(bad)
