"""`Trainer.snapshot`: the weights between two steps, for a download (the explorer's D).

The snapshot's tensors are compared with independent references: a run of the same seed trained
for exactly the snapshot's epochs, and the weights a stop leaves. Taking one must change nothing
that is trained, and metrics.csv must hold every epoch up to the snapshot's when it arrives.
"""

from __future__ import annotations

import torch

from engine.config import RunConfig
from engine.events import (
    Changed,
    Epoch,
    Event,
    Finished,
    StateChanged,
    TensorWeights,
    WeightsSnapshot,
)
from engine.schedule import Change
from engine.store import read_metrics
from engine.trainer import Trainer
from support.engine import EventQueue, epochs_of, finished_of, run_to_end

MLP = {"preset": "highdim", "model": "mlp", "hidden": (8,), "lr": 0.01}
# With BatchNorm the state_dict holds buffers (running statistics) besides the parameters, and
# weights.pt holds them all. A step's forward pass in training mode updates them before the
# commands are looked at, so a snapshot's (as a stop's weights.pt) include that pass: they are
# compared with the state a stop leaves, the parameters with a run of the snapshot's epochs.
MLP_BN = {**MLP, "norm": "batch"}


def is_epoch(n: int):
    return lambda e: isinstance(e, Epoch) and e.epoch >= n


def is_snapshot(e: Event) -> bool:
    return isinstance(e, WeightsSnapshot)


def assert_same_tensors(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(want)
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name


def state_after(epochs: int, **settings: object) -> dict[str, torch.Tensor]:
    """The state_dict of a run of the same seed trained for exactly `epochs` epochs."""
    trainer, _ = run_to_end(epochs=epochs, **settings)
    return dict(trainer.model.state_dict())


def test_a_snapshot_mid_run_holds_the_weights_of_its_epoch(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(**MLP, epochs=10**7, save=False), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(20))
        trainer.snapshot()
        snapshot = events.wait_for(is_snapshot)
        assert isinstance(snapshot, WeightsSnapshot)
        events.wait_for(is_epoch(snapshot.epoch + 5))
    finally:
        trainer.stop()
        assert trainer.join(10)
    assert snapshot.epoch >= 20
    # Asked for as an epoch is reported: taken before the next epoch's first step.
    assert snapshot.step == snapshot.epoch * trainer.steps_per_epoch
    assert_same_tensors(dict(snapshot.state_dict), state_after(snapshot.epoch, **MLP))
    # Copies: the run trained on after it, and the snapshot did not move with it.
    assert not torch.equal(snapshot.state_dict["0.weight"], trainer.model.state_dict()["0.weight"])
    assert all(t.device.type == "cpu" for t in snapshot.state_dict.values())


def test_a_snapshot_while_paused_equals_the_weights_a_stop_then_leaves(
    events: EventQueue,
) -> None:
    trainer = Trainer(RunConfig(**MLP_BN, epochs=10**7, save=False), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(10))
        trainer.pause()
        events.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "paused")
        trainer.snapshot()
        snapshot = events.wait_for(is_snapshot)
        assert trainer.status == "paused"  # answered without resuming
    finally:
        trainer.stop()
        assert trainer.join(10)
    assert isinstance(snapshot, WeightsSnapshot)
    finished = finished_of(events.drain())
    assert finished.status == "stopped" and finished.epochs == snapshot.epoch
    # What a stop writes to weights.pt (the model's state_dict), buffers included.
    assert any("running_mean" in name for name in snapshot.state_dict)
    assert_same_tensors(dict(snapshot.state_dict), dict(trainer.model.state_dict()))
    reference = state_after(snapshot.epoch, **MLP_BN)
    parameters = {name: reference[name] for name in finished.weights}
    assert_same_tensors({n: snapshot.state_dict[n] for n in parameters}, parameters)


def test_a_snapshot_mid_epoch_counts_the_steps_taken() -> None:
    """With minibatches a snapshot can land inside an epoch: `step` says how far. Asked for
    when a change recorded at step 14 (epoch 4's third step) is applied, it is taken at that
    step; a stop asked for then leaves exactly its weights, two steps past epoch 3's."""
    seen: list[Event] = []

    def on_event(event: Event) -> None:
        seen.append(event)
        if isinstance(event, Changed):
            trainer.snapshot()
        if isinstance(event, WeightsSnapshot):
            trainer.stop()

    settings = {"preset": "highdim", "batch_size": 6}  # 20 rows: 4 steps an epoch
    change = Change(4, "lr", 0.001, step=14, source="live")
    trainer = Trainer(RunConfig(**settings, epochs=10, schedule=(change,), save=False), on_event)
    finished = trainer.run()
    (snapshot,) = [e for e in seen if isinstance(e, WeightsSnapshot)]
    assert (snapshot.epoch, snapshot.step) == (3, 14)
    assert (finished.status, finished.epochs, finished.partial_epoch_steps) == ("stopped", 3, 2)
    assert isinstance(finished.weights, TensorWeights)
    parameters = {name: finished.weights.tensor(name) for name in finished.weights}
    assert_same_tensors(dict(snapshot.state_dict), parameters)
    after_3 = state_after(3, **settings)
    assert not torch.equal(snapshot.state_dict["weight"], after_3["weight"])


def test_taking_snapshots_changes_nothing_that_is_trained() -> None:
    """Snapshots taken every 7 epochs, and one while paused at epoch 30: the run ends with
    the weights and the losses of the same run trained without any, bit for bit."""
    settings = {**MLP_BN, "epochs": 60}
    seen: list[Event] = []

    def on_event(event: Event) -> None:
        seen.append(event)
        if isinstance(event, Epoch) and event.epoch % 7 == 0:
            trainer.snapshot()
        elif isinstance(event, Epoch) and event.epoch == 30:
            trainer.pause()
        elif event == StateChanged("paused"):
            trainer.snapshot()  # answered while paused...
        elif isinstance(event, WeightsSnapshot) and trainer.status == "paused":
            trainer.resume()  # ...then on

    trainer = Trainer(RunConfig(**settings, save=False), on_event)
    trainer.run()
    snapshots = [e for e in seen if isinstance(e, WeightsSnapshot)]
    assert [s.epoch for s in snapshots] == [7, 14, 21, 28, 30, 35, 42, 49, 56]
    assert StateChanged("running") in seen
    plain, plain_events = run_to_end(**settings)
    assert_same_tensors(dict(trainer.model.state_dict()), dict(plain.model.state_dict()))
    numbers = [(e.train_loss, e.test_loss, e.weight_sq_norm) for e in epochs_of(seen)]
    plain_numbers = [(e.train_loss, e.test_loss, e.weight_sq_norm) for e in epochs_of(plain_events)]
    assert numbers == plain_numbers and len(numbers) == 60
    assert finished_of(seen).status == "completed"


def test_metrics_csv_holds_every_epoch_up_to_the_snapshot_when_it_arrives(
    events: EventQueue, tmp_path
) -> None:
    """The flush thread writes once a second; at full speed thousands of epochs would still be
    waiting. The snapshot is sent after they are handed to the kernel, and the run folder
    gets no weights.pt from it."""
    config = RunConfig(preset="line", epochs=10**7, runs_dir=str(tmp_path))
    trainer = Trainer(config, events)
    trainer.start()
    try:
        for _ in range(3):
            epoch = trainer.epoch
            events.wait_for(is_epoch(epoch + 50))
            trainer.snapshot()
            snapshot = events.wait_for(is_snapshot)
            assert isinstance(snapshot, WeightsSnapshot)
            rows = read_metrics(trainer.run_dir)
            assert [row["epoch"] for row in rows[: snapshot.epoch]] == list(
                range(1, snapshot.epoch + 1)
            )
            assert run_dir_files(trainer) == ["config.json", "metrics.csv", "summary.json"]
    finally:
        trainer.stop()
        assert trainer.join(10)
    assert isinstance(finished_of(events.drain()), Finished)


def run_dir_files(trainer: Trainer) -> list[str]:
    assert trainer.run_dir is not None
    return sorted(p.name for p in trainer.run_dir.iterdir() if not p.name.startswith("."))
