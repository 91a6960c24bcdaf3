"""The trainer on its thread: live commands, pause/resume/stop, divergence and failure."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from engine.config import ConfigError, RunConfig
from engine.events import Epoch, Finished, Started, StateChanged
from engine.trainer import Trainer
from support.engine import EventQueue, epochs_of, finished_of, run_to_end, started_of

LONG = {"preset": "highdim", "epochs": 10**7, "save": False}


def is_epoch(n: int):
    return lambda e: isinstance(e, Epoch) and e.epoch >= n


def is_finished(e) -> bool:
    return isinstance(e, Finished)


def test_events_arrive_in_order_with_the_contract_fields() -> None:
    trainer, events = run_to_end(preset="line", epochs=5)
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    started = events[0]
    assert started.device == "cpu"
    assert [(p.name, p.shape, p.penalized) for p in started.parameters] == [
        ("weight", (1, 1), True),
        ("bias", (1,), False),
    ]
    assert [e.epoch for e in epochs_of(events)] == [1, 2, 3, 4, 5]
    assert events[-1].status == "completed" and events[-1].epochs == 5
    stats = epochs_of(events)[-1].param_stats  # always present on the last epoch
    assert [s.name for s in stats] == ["weight", "bias"]
    w = trainer.model.weight.detach()
    assert stats[0].norm == pytest.approx(w.norm().item()) and stats[0].values == (w.item(),)
    assert stats[0].max_abs == pytest.approx(w.abs().max().item())


def test_set_lam_applies_from_the_next_epoch() -> None:
    """A command sent while epoch 5 is reported is applied before epoch 6's first step."""
    seen: list = []

    def on_event(event) -> None:
        seen.append(event)
        if isinstance(event, Epoch) and event.epoch == 5:
            trainer.set_lam(0.7)

    trainer = Trainer(RunConfig(preset="line", lam=0.01, epochs=10, save=False), on_event)
    trainer.run()
    by_epoch = {e.epoch: e for e in epochs_of(seen)}
    assert by_epoch[5].lam == 0.01 and by_epoch[6].lam == 0.7
    assert by_epoch[6].penalty == pytest.approx(0.7 * by_epoch[6].weight_sq_norm)
    assert by_epoch[5].penalty == pytest.approx(0.01 * by_epoch[5].weight_sq_norm)


@pytest.mark.parametrize("reg", ["l2", "wd"])
def test_set_lam_and_lr_from_another_thread_while_training(events: EventQueue, reg: str) -> None:
    trainer = Trainer(RunConfig(**LONG, reg=reg, lam=0.0), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(3))
        trainer.set_lam(2.0)
        trainer.set_lr(0.001)
        changed = events.wait_for(lambda e: isinstance(e, Epoch) and e.lam == 2.0)
        assert changed.lr == 0.001
        assert changed.penalty == pytest.approx(2.0 * changed.weight_sq_norm)
        assert changed.penalty > 0
        if reg == "wd":
            assert trainer.optimizer.param_groups[0]["weight_decay"] == 4.0
    finally:
        trainer.stop()
        assert trainer.join(10)
    assert finished_of(events.drain()).status == "stopped"


def test_pause_stops_epochs_and_resume_continues(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(**LONG), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(2))
        trainer.pause()
        events.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "paused")
        assert trainer.status == "paused"
        paused_at = trainer.epoch
        trainer.resume()
        events.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "running")
        events.wait_for(is_epoch(paused_at + 3))
    finally:
        trainer.stop()
        assert trainer.join(10)
    # Between `paused` and `running` no epoch was trained or reported.
    seen = events.drain()
    paused = next(i for i, e in enumerate(seen) if isinstance(e, StateChanged))
    running = paused + 1
    assert seen[running] == StateChanged("running")
    assert [e.epoch for e in seen[paused:] if isinstance(e, Epoch)][:1] == [paused_at + 1]
    done = finished_of(seen)
    assert done.status == "stopped" and done.epochs >= paused_at + 3


def test_a_pause_flushes_every_epoch_so_far_to_disk(events: EventQueue, tmp_path) -> None:
    from engine.store import read_metrics

    trainer = Trainer(RunConfig(**{**LONG, "save": True, "runs_dir": str(tmp_path)}), events)
    trainer.start()
    try:
        events.wait_for(is_epoch(20))
        trainer.pause()
        events.wait_for(lambda e: isinstance(e, StateChanged) and e.state == "paused")
        # No second has to pass: pausing hands every trained epoch to the kernel at once.
        assert len(read_metrics(trainer.run_dir)) == trainer.epoch
    finally:
        trainer.stop()
        assert trainer.join(10)


def test_stop_while_paused_ends_promptly(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(**LONG), events)
    trainer.start()
    events.wait_for(is_epoch(1))
    trainer.pause()
    events.wait_for(lambda e: isinstance(e, StateChanged))
    trainer.stop()
    assert trainer.join(5)
    assert finished_of(events.drain()).status == "stopped"
    assert not any(t.name == "wdtui-trainer" for t in threading.enumerate())


def test_paused_time_is_not_counted_as_training_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that jumps an hour while the trainer is paused: elapsed_s must not see it."""
    clock = {"now": 0.0}

    def fake_perf_counter() -> float:
        clock["now"] += 1e-3  # every reading moves time on a little
        return clock["now"]

    monkeypatch.setattr("engine.trainer.time.perf_counter", fake_perf_counter)
    seen: list = []

    def sink(event) -> None:
        seen.append(event)
        if isinstance(event, Epoch) and event.epoch == 3:
            trainer.pause()
        elif event == StateChanged("paused"):
            clock["now"] += 3600.0
            trainer.resume()

    trainer = Trainer(RunConfig(preset="line", epochs=6, save=False), sink)
    trainer.run()
    elapsed = [e.elapsed_s for e in epochs_of(seen)]
    assert StateChanged("paused") in seen and len(elapsed) == 6
    assert elapsed[-1] < 1.0  # the hour paused is not in it


def test_divergence_ends_the_run_at_the_first_non_finite_epoch() -> None:
    _, events = run_to_end(preset="line", lr=100.0, epochs=1000)
    done, epochs = finished_of(events), epochs_of(events)
    assert done.status == "diverged"
    assert done.epochs == epochs[-1].epoch < 1000
    assert not math.isfinite(epochs[-1].train_loss)
    assert all(math.isfinite(e.train_loss) for e in epochs[:-1])
    assert f"epoch {done.epochs}" in done.message


def test_without_decay_the_penalty_stays_zero_even_when_the_weights_overflow() -> None:
    _, events = run_to_end(preset="line", lr=100.0, lam=0.0, epochs=1000)
    last = epochs_of(events)[-1]
    assert not math.isfinite(last.weight_sq_norm)  # ‖w‖² overflowed: 0·inf would be nan
    assert all(e.penalty == 0.0 for e in epochs_of(events))
    assert last.objective == last.train_loss or math.isnan(last.train_loss)


def test_the_epoch_a_run_diverges_at_carries_fresh_statistics() -> None:
    """Statistics come at most every interval (here: only epoch 1's), yet the diverging epoch
    carries its own, taken from the weights it diverged with: the weight table shows them."""
    events: list = []
    trainer = Trainer(
        RunConfig(preset="line", lr=50.0, epochs=1000, save=False),
        events.append,
        stats_interval_s=3600.0,
    )
    trainer.run()
    epochs = epochs_of(events)
    assert finished_of(events).status == "diverged" and len(epochs) > 2
    assert [e.epoch for e in epochs if e.param_stats is not None] == [1, epochs[-1].epoch]
    last = epochs[-1]
    assert last.param_stats is not None
    norms = {s.name: s.norm for s in last.param_stats}
    # The same weights as the epoch's ‖w‖² (5e36-like, or inf/nan), not epoch 1's.
    assert not math.isfinite(last.weight_sq_norm) or last.weight_sq_norm > 1e30
    if math.isfinite(last.weight_sq_norm):
        assert norms["weight"] ** 2 == pytest.approx(last.weight_sq_norm, rel=1e-4)
    else:
        assert not math.isfinite(norms["weight"])


def test_mode_none_reports_every_parameter_unpenalized() -> None:
    """Nothing is penalized in mode none (ParamInfo and ParamStats say so); ‖w‖² stays the
    Σ‖w‖² over the weights λ would decay, as for λ = 0 (test_regularization checks it)."""
    _, events = run_to_end(preset="line", reg="none", epochs=5)
    assert [p.penalized for p in started_of(events).parameters] == [False, False]
    last = epochs_of(events)[-1]
    assert last.param_stats is not None
    assert [s.penalized for s in last.param_stats] == [False, False]
    _, events = run_to_end(preset="line", reg="l2", epochs=5)
    assert [(p.name, p.penalized) for p in started_of(events).parameters] == [
        ("weight", True),
        ("bias", False),
    ]


def test_an_exception_in_the_thread_ends_it_as_failed(events: EventQueue) -> None:
    trainer = Trainer(RunConfig(**LONG), events)
    calls = {"n": 0}
    forward = trainer.model.forward

    def flaky(x):
        calls["n"] += 1
        if calls["n"] > 30:
            raise RuntimeError("simulated CUDA error")
        return forward(x)

    trainer.model.forward = flaky
    trainer.start()
    done = events.wait_for(is_finished, timeout=10)
    assert trainer.join(5)
    assert done.status == "failed" and "RuntimeError: simulated CUDA error" in done.message
    assert trainer.status == "failed"


def test_a_failing_event_consumer_cannot_hang_the_trainer() -> None:
    def broken(event) -> None:
        if isinstance(event, Epoch):
            raise ValueError("consumer bug")

    trainer = Trainer(RunConfig(preset="line", epochs=50, save=False), broken)
    trainer.start()
    assert trainer.join(5)
    assert trainer.status == "failed"


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "0.1"])
def test_bad_lam_is_refused_and_training_keeps_the_old_value(bad) -> None:
    trainer = Trainer(RunConfig(preset="line", lam=0.01, save=False), lambda e: None)
    with pytest.raises(ConfigError):
        trainer.set_lam(bad)
    with pytest.raises(ConfigError):
        trainer.set_lr(0.0 if bad == -1.0 else bad)
    trainer.run()
    assert trainer.lam == 0.01


def test_lam_has_no_meaning_in_mode_none() -> None:
    trainer = Trainer(RunConfig(preset="line", reg="none", lam=0.5, save=False), lambda e: None)
    assert trainer.lam == 0.0
    with pytest.raises(ConfigError, match="mode 'none'"):
        trainer.set_lam(0.1)


@pytest.mark.parametrize("count", [1, 2])
def test_cpu_runs_use_the_configured_thread_count_and_restore_it(count: int) -> None:
    import torch

    before = torch.get_num_threads()
    inside: list[int] = []
    trainer = Trainer(
        RunConfig(preset="line", epochs=2, cpu_threads=count, save=False),
        lambda e: inside.append(torch.get_num_threads()),
    )
    trainer.run()
    assert set(inside) == {count}
    assert torch.get_num_threads() == before


def test_one_forward_pass_over_the_training_rows_per_full_batch_epoch() -> None:
    """The step's own forward pass gives the previous epoch's train loss; only the last epoch
    needs one more."""
    trainer = Trainer(RunConfig(preset="highdim", batch_size=0, epochs=9, save=False), print)
    rows_seen: list[int] = []
    forward = trainer.model.forward

    def counting(x):
        rows_seen.append(x.shape[0])
        return forward(x)

    trainer.model.forward = counting
    trainer._on_event = lambda e: None
    trainer.run()
    n_train, n_test = trainer.dataset.n_train, trainer.dataset.n_test
    assert rows_seen.count(n_train) == 9 + 1 and rows_seen.count(n_test) == 9


@pytest.mark.parametrize("batch_size", [0, 5])
def test_train_loss_is_the_loss_at_the_epochs_final_weights(batch_size: int) -> None:
    """Checked as each event arrives, when the weights are still the epoch's final ones,
    against the definition computed independently: the MSE over every training row."""
    checked: list[int] = []

    def sink(event) -> None:
        if isinstance(event, Epoch):
            with torch.no_grad():
                x, y = trainer.dataset.x_train, trainer.dataset.y_train
                assert event.train_loss == torch.nn.functional.mse_loss(trainer.model(x), y).item()
            checked.append(event.epoch)

    config = RunConfig(preset="highdim", batch_size=batch_size, lam=0.1, epochs=12, save=False)
    trainer = Trainer(config, sink)
    trainer.run()
    assert checked == list(range(1, 13))


def test_batch_mean_is_the_mean_of_the_epochs_minibatch_losses() -> None:
    """Against a hand-written loop with torch's SGD: the same batches, the same losses."""
    config = RunConfig(preset="highdim", lam=0.1, epochs=5, train_loss="batch-mean", save=False)
    _, events = run_to_end(**{k: v for k, v in config.__dict__.items() if k != "save"})
    trainer = Trainer(config, lambda e: None)  # a fresh model with the same initial weights
    model, data = trainer.model, trainer.dataset
    optimizer = torch.optim.SGD(model.parameters(), lr=config.resolved().lr)
    generator = torch.Generator().manual_seed(config.seed + 2)
    expected = []
    for _ in range(5):
        total = 0.0
        for idx in torch.randperm(data.n_train, generator=generator).split(5):
            data_loss = torch.nn.functional.mse_loss(model(data.x_train[idx]), data.y_train[idx])
            loss = data_loss + 0.1 * model.weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += data_loss.item() * len(idx)
        expected.append(total / data.n_train)
    assert [e.train_loss for e in epochs_of(events)] == pytest.approx(expected, rel=1e-6)
