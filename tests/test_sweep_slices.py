"""A sweep trained as slices merges back into one sweep (engine/sweep/slices.py), and a slice
worker stops where the driver says (engine/sweep/slice_worker.py): no Ray here, the slices are
local `Sweep`s, fed to the merger in any order."""

from __future__ import annotations

import math
import random
import threading

import pytest

from engine.config import RunConfig
from engine.data import load_dataset
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished, SweepStarted
from engine.sweep.runner import Sweep
from engine.sweep.slice_worker import SliceWorker
from engine.sweep.slices import MergedEpoch, SliceMerger, split_lams

LAMS = [0.0, 0.1, 1.0, 1000.0, 3000.0]  # the last slice, [1000, 3000], diverges at once


def settings(**changes: object) -> RunConfig:
    base: dict[str, object] = {"preset": "highdim", "epochs": 30, "device": "cpu", "save": False}
    return RunConfig(**{**base, **changes})  # type: ignore[arg-type]


def sweep_events(lams: list[float], **changes: object) -> list[SweepEvent]:
    events: list[SweepEvent] = []
    Sweep(settings(**changes), lams, events.append).run()
    return events


@pytest.mark.parametrize(("count", "slices"), [(5, 2), (4, 4), (3, 8), (7, 3), (1, 1)])
def test_slices_are_contiguous_and_even(count: int, slices: int) -> None:
    bounds = split_lams(count, slices)
    assert len(bounds) == min(count, slices)
    assert [k for r in bounds for k in r] == list(range(count))
    sizes = [len(r) for r in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def merged(slices: tuple[range, ...], feeds: list[tuple[int, SweepEvent]]) -> list[object]:
    merger = SliceMerger(LAMS, slices)
    out: list[object] = []
    for index, event in feeds:
        out.extend(merger.feed(index, event))
    assert merger.done
    return out


def interleaved(per_slice: list[list[SweepEvent]], seed: int) -> list[tuple[int, SweepEvent]]:
    """Each slice's events in its own order, the slices shuffled together (workers race)."""
    queues = [list(enumerate(events)) for events in per_slice]
    rng, out = random.Random(seed), []
    while any(queues):
        i = rng.choice([i for i, q in enumerate(queues) if q])
        out.append((i, queues[i].pop(0)[1]))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_slices_merge_into_the_events_of_one_sweep(seed: int) -> None:
    whole = sweep_events(LAMS)
    slices = split_lams(len(LAMS), 2)
    parts = [sweep_events([LAMS[k] for k in r]) for r in slices]
    out = merged(slices, interleaved(parts, seed))

    started = [e for e in out if isinstance(e, SweepStarted)]
    assert len(started) == 1 and started[0].lams == tuple(LAMS)
    assert started[0].config["lams"] == LAMS
    assert isinstance(out[0], SweepStarted)
    epochs = [m for m in out if isinstance(m, MergedEpoch)]
    reference = [e for e in whole if isinstance(e, SweepEpoch)]
    assert [m.event.epoch for m in epochs] == [e.epoch for e in reference] == list(range(1, 31))
    for m, want in zip(epochs, reference, strict=True):
        assert m.event.statuses == want.statuses
        for got, expected in zip(m.event.test_loss or (), want.test_loss or (), strict=True):
            assert got == pytest.approx(expected, rel=1e-5, abs=1e-8) or (
                math.isinf(got) and math.isinf(expected)
            )
    # sweep.csv's rows: a member trains until the epoch it diverges at, as in one sweep.
    assert epochs[0].trained == (True,) * 5
    for m, before in zip(epochs[1:], reference, strict=False):
        assert m.trained == tuple(s == "running" for s in before.statuses)
    assert not epochs[-1].trained[4]  # λ = 3000 diverged early on


def test_a_lost_slice_fails_its_members_and_the_others_go_on() -> None:
    lams = [0.0, 0.1, 1.0, 10.0]
    slices = split_lams(len(lams), 2)
    first, second = (sweep_events([lams[k] for k in r]) for r in slices)
    merger = SliceMerger(lams, slices)
    out: list[object] = []
    for event in second[:11]:  # started, then epochs 1 to 10
        out.extend(merger.feed(1, event))
    for event in first[:6]:  # started, then epochs 1 to 5
        out.extend(merger.feed(0, event))
    out.extend(merger.fail(0, "its Ray worker was lost"))
    epochs = [m for m in out if isinstance(m, MergedEpoch)]
    assert [m.event.epoch for m in epochs] == list(range(1, 11))
    lost = epochs[5]  # epoch 6: the first after the loss
    assert lost.event.statuses[:2] == ("failed",) * 2
    assert all(math.isnan(v) for v in lost.event.train_loss[:2])
    assert lost.trained[:2] == (False,) * 2
    assert epochs[4].trained[:2] == (True,) * 2
    for event in second[11:]:
        merger.feed(1, event)
    assert merger.done and merger.epoch == 30
    results = merger.results()
    assert [r.status for r in results[:2]] == ["failed"] * 2
    assert [r.epochs for r in results[:2]] == [5] * 2  # their last announced epoch
    assert [r.weights for r in results[:2]] == [{}] * 2
    assert merger.failures() == [(range(0, 2), "its Ray worker was lost")]
    assert merger.feed(0, first[7]) == []  # a late event from the lost worker changes nothing


def test_live_weights_are_each_slices_latest() -> None:
    slices = split_lams(len(LAMS), 2)
    parts = [sweep_events([LAMS[k] for k in r], preset="poly") for r in slices]  # small: live
    out = merged(slices, interleaved(parts, 0))
    last = [m for m in out if isinstance(m, MergedEpoch)][-1].event

    def latest(events: list[SweepEvent]) -> tuple[tuple[float, ...], ...]:
        sent = [e.weights for e in events if isinstance(e, SweepEpoch) and e.weights]
        return sent[-1]

    # Each slice sends its own on its own clock; a slice that ended sent its last ones then.
    assert last.weights == latest(parts[0]) + latest(parts[1])


def test_halt_then_finish_at_stops_every_slice_after_the_same_epoch() -> None:
    dataset = load_dataset(settings())
    workers = [SliceWorker(), SliceWorker()]
    workers[0].build(settings(epochs=100_000), [0.0, 0.1], dataset)
    workers[1].build(settings(epochs=100_000), [1.0], dataset)
    for worker in workers:
        worker.start()
    reached = [0, 0]

    def halt(i: int) -> None:
        reached[i] = workers[i].halt()

    threads = [threading.Thread(target=halt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    target = max(reached)
    for worker in workers:
        worker.finish_at(target)
    ends: list[SweepFinished] = []
    for worker in workers:
        while not ends or len(ends) < workers.index(worker) + 1:
            for event in worker.poll(1.0, 0.0):
                if isinstance(event, SweepFinished):
                    ends.append(event)
    assert [e.status for e in ends] == ["stopped", "stopped"]
    assert [e.epochs for e in ends] == [target, target]
    assert [e.partial_epoch_steps for e in ends] == [0, 0]
