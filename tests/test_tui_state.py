"""The explorer's state without the Pilot: the inbox, the redraw rules, a run's state, the runs'
lifecycle, the λ steps, which settings a sweep's results belong to."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from engine.config import ConfigError, RunConfig, next_run_config
from engine.events import Epoch, Event, Finished, ParamInfo, Started, StateChanged
from engine.store import load_run
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished
from engine.trainer import Trainer
from support.engine import wait_until
from tui.datasets import DatasetCache
from tui.inbox import EventInbox
from tui.state.lam_steps import step_lam
from tui.state.live_run import MAX_OVERLAYS, LiveRun, RunNotStarted
from tui.state.redraw import (
    CHART_MAX_WAIT_S,
    TABLE_INTERVAL_S,
    UI_CPU_BUDGET,
    ChartPacer,
    RedrawSchedule,
    UiCpuMeter,
)
from tui.state.run_state import Mark, RunState
from tui.state.series import MinMaxSeries
from tui.state.sweep_settings import (
    NOT_SETTINGS,
    PARTS,
    changed_fields,
    same_settings,
    settings_change,
    sweep_settings,
)
from tui.state.sweep_state import SweepState
from tui.widgets.sweep_text import readout_text, refusal_text, stale_text

# ----- the inbox ------------------------------------------------------------------------------


def epoch(n: int, lam: float = 0.1, lr: float = 0.01) -> Epoch:
    return Epoch(n, 1.0 / n, None, lam, 1.0 / n + lam, 1.0, lam, lr, 0.01 * n)


STARTED = Started({}, "cpu", (ParamInfo("weight", (1, 1), True),), n_test=5)


def finished(status: str = "completed", epochs: int = 3) -> Finished:
    return Finished(status, epochs, "", {})


def test_frequent_events_wait_for_the_timer_and_the_rare_ones_wake_the_ui() -> None:
    woken: list[int] = []
    inbox: EventInbox[Event] = EventInbox(lambda: woken.append(1), quiet=Epoch)
    inbox.put(1, STARTED)
    assert len(woken) == 1
    for n in (1, 2, 3):
        inbox.put(1, epoch(n))
    assert len(woken) == 1 and inbox.pending()
    inbox.put(2, finished())
    assert len(woken) == 2
    taken = inbox.take()
    assert [source for source, _ in taken] == [1, 1, 1, 1, 2]
    assert [type(e).__name__ for _, e in taken] == [
        "Started",
        "Epoch",
        "Epoch",
        "Epoch",
        "Finished",
    ]
    assert not inbox.pending() and inbox.take() == []


def sweep_epoch(n: int, weights: bool = False) -> SweepEpoch:
    rows = ((float(n), 0.0),) if weights else None
    return SweepEpoch(n, (1.0 / n,), (1.0 / n,), (1.0,), 0.01 * n, weights=rows)


def newest_and_weighted(event: SweepEvent) -> tuple[str, ...]:
    weighted = isinstance(event, SweepEpoch) and event.weights is not None
    return ("weights", "numbers") if weighted else ("numbers",)


def test_coalesced_epochs_keep_the_newest_and_the_newest_with_weights_in_arrival_order() -> None:
    inbox: EventInbox[SweepEvent] = EventInbox(
        lambda: None, quiet=SweepEpoch, newest_by=newest_and_weighted
    )
    inbox.put(1, sweep_epoch(1))
    inbox.put(1, sweep_epoch(2, weights=True))
    inbox.put(1, sweep_epoch(3))
    assert not inbox.pending()  # nothing queued: the newest are kept, not queued
    assert [e.epoch for _, e in inbox.take()] == [2, 3]  # type: ignore[union-attr]
    # Kept until replaced: every take hands them over again (applying one twice is harmless).
    assert [e.epoch for _, e in inbox.take()] == [2, 3]  # type: ignore[union-attr]
    inbox.put(1, sweep_epoch(4, weights=True))
    assert [e.epoch for _, e in inbox.take()] == [4]  # type: ignore[union-attr]


def test_a_rare_event_comes_after_the_epochs_that_arrived_before_it() -> None:
    inbox: EventInbox[SweepEvent] = EventInbox(
        lambda: None, quiet=SweepEpoch, newest_by=newest_and_weighted
    )
    weighted, newest = sweep_epoch(1, weights=True), sweep_epoch(2)
    inbox.put(1, weighted)
    inbox.put(1, newest)
    end = SweepFinished("completed", 2, "", None, ())
    inbox.put(1, end)
    taken = [e for _, e in inbox.take()]
    assert taken[:3] == [weighted, newest, end]


def test_only_from_drops_what_is_held_and_other_sources() -> None:
    inbox: EventInbox[Event] = EventInbox(lambda: None, quiet=Epoch)
    inbox.put(1, epoch(1))
    inbox.only_from(2)
    assert inbox.take() == []
    inbox.put(1, finished())  # the sweep before: dropped
    inbox.put(2, epoch(1))
    assert [source for source, _ in inbox.take()] == [2]


def test_events_put_on_another_thread_all_arrive_in_order() -> None:
    inbox: EventInbox[Event] = EventInbox(lambda: None, quiet=Epoch)
    taken: list[tuple[int, Event]] = []

    def engine() -> None:
        for n in range(1, 20_001):
            inbox.put(1, epoch(n))
        inbox.put(1, finished(epochs=20_000))

    thread = threading.Thread(target=engine)
    thread.start()
    while thread.is_alive():
        taken.extend(inbox.take())
    taken.extend(inbox.take())
    assert [e.epoch for _, e in taken[:-1]] == list(range(1, 20_001))  # type: ignore[union-attr]
    assert isinstance(taken[-1][1], Finished)


# ----- when to redraw -------------------------------------------------------------------------


class FakeShare:
    def __init__(self) -> None:
        self.value = 0.0
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.value


def test_the_chart_redraws_new_data_only_within_the_cpu_budget_or_after_the_longest_wait() -> None:
    share = FakeShare()
    schedule = RedrawSchedule(share)
    view = (1, True, 0)
    assert schedule.chart_due(view, 1, now=10.0)
    assert not schedule.chart_due(view, 1, now=10.1)  # nothing new
    assert schedule.chart_shows(1)
    share.value = UI_CPU_BUDGET * 2
    assert not schedule.chart_due(view, 2, now=10.1)  # new data, over budget
    assert not schedule.chart_shows(2)
    assert schedule.chart_due(view, 2, now=10.0 + CHART_MAX_WAIT_S)  # waited long enough
    share.value = UI_CPU_BUDGET
    assert schedule.chart_due(view, 3, now=10.6)  # at the budget: due
    assert share.calls == 5  # sampled on every call, due or not


def test_a_new_view_redraws_at_once_whatever_the_cost() -> None:
    share = FakeShare()
    share.value = 1.0
    schedule = RedrawSchedule(share)
    assert schedule.chart_due((1, True, 0), 1, now=0.0)
    assert schedule.chart_due((1, False, 0), 1, now=0.01)  # the log toggle
    assert schedule.chart_due((1, False, 1), 1, now=0.02)  # an earlier run added
    schedule.new_run()
    assert not schedule.chart_shows(1)
    assert schedule.chart_due((1, False, 1), 1, now=0.03)  # the same view, but a new run


def test_the_tables_redraw_at_most_every_interval_and_once_more_at_the_end() -> None:
    schedule = RedrawSchedule(FakeShare())
    assert schedule.tables_due(1, active=True, now=5.0)
    assert not schedule.tables_due(1, active=True, now=9.0)  # nothing new
    assert not schedule.tables_due(2, active=True, now=5.0 + TABLE_INTERVAL_S / 2)
    assert schedule.tables_due(2, active=True, now=5.0 + TABLE_INTERVAL_S)
    assert schedule.tables_due(3, active=False, now=5.0 + TABLE_INTERVAL_S)  # the run ended
    assert schedule.tables_show(3)
    schedule.new_run()
    assert not schedule.tables_show(3)


def test_the_cpu_meter_averages_the_share_of_a_core() -> None:
    clock = {"wall": 0.0, "cpu": 0.0}
    meter = UiCpuMeter(lambda: clock["wall"], lambda: clock["cpu"])
    clock.update(wall=1.0, cpu=0.5)
    assert meter.share() == pytest.approx(0.2)  # 0.4 of the new sample, 0.5 a core
    clock.update(wall=2.0, cpu=0.5)
    assert meter.share() == pytest.approx(0.12)  # an idle second pulls it down
    assert meter.share() == pytest.approx(0.12)  # no time passed: unchanged


def test_each_sweep_chart_waits_its_duty_times_its_last_frames_cost() -> None:
    pacer = ChartPacer(duty=8)
    assert pacer.due("curve", last_cost_s=0.01, now=1.0)
    assert not pacer.due("curve", last_cost_s=0.01, now=1.05)
    assert pacer.due("norm", last_cost_s=0.01, now=1.05)  # each chart on its own
    assert pacer.due("curve", last_cost_s=0.01, now=1.08)
    assert pacer.due("curve", last_cost_s=1.0, now=1.09, force=True)
    assert not pacer.due("curve", last_cost_s=1.0, now=5.0)


# ----- a run's state --------------------------------------------------------------------------


def test_a_runs_state_follows_its_events() -> None:
    run = RunState(1, RunConfig(preset="line", lam=0.1, save=False).resolved())
    assert (run.status, run.active, run.lam, run.lr) == ("starting", True, 0.1, 0.01)
    run.apply(STARTED)
    assert (run.status, run.device, run.has_test) == ("running", "cpu", True)
    run.apply(epoch(1))
    run.apply(epoch(2, lam=0.5))
    assert (run.epoch, run.lam, len(run.train)) == (2, 0.5, 2)
    assert [m.text for m in run.marks] == ["λ=0.5"]
    assert run.label == "λ=0.1→0.5 sgd"
    run.apply(StateChanged("paused"))
    assert run.status == "paused" and run.active
    run.apply(finished("stopped", epochs=2))
    assert (run.status, run.active, run.epoch) == ("stopped", False, 2)
    run.apply(StateChanged("running"))  # too late: the run has ended
    assert run.status == "stopped"
    assert run.version == 6


def test_a_runs_state_keeps_its_baseline_and_reads_r2_from_the_newest_test_loss() -> None:
    run = RunState(1, RunConfig(preset="highdim", save=False).resolved())
    run.apply(replace(STARTED, baseline_test_loss=0.0193, test_target_variance=0.0192))
    assert (run.baseline_test_loss, run.test_target_variance, run.r_squared) == (
        0.0193,
        0.0192,
        None,
    )
    run.apply(Epoch(1, 0.1, 0.0177, 0.0, 0.1, 1.0, 3.0, 0.003, 0.01))
    assert run.r_squared == pytest.approx(1 - 0.0177 / 0.0192)
    run.apply(Epoch(2, 0.1, math.inf, 0.0, 0.1, 1.0, 3.0, 0.003, 0.02))
    assert run.r_squared is None  # a diverged test loss has no R²
    # Without a test split: no baseline, no R².
    plain = RunState(2, RunConfig(preset="line", save=False).resolved())
    plain.apply(replace(STARTED, n_test=0))
    plain.apply(epoch(1))
    assert (plain.baseline_test_loss, plain.r_squared) == (None, None)


@pytest.mark.parametrize("n", [1000, 12_345])
@pytest.mark.parametrize("end", [1, 7, 999, 4096, 12_344, 12_345, 20_000])
def test_buckets_up_to_an_epoch_are_those_of_the_history_cut_there(n: int, end: int) -> None:
    rng = np.random.default_rng(n + end)
    values = rng.random(n)
    values[rng.integers(0, n, 5)] = np.nan  # gaps
    whole, cut = MinMaxSeries(), MinMaxSeries()
    whole.extend(values)
    whole.buckets(50)  # a pyramid built over the whole history first
    cut.extend(values[:end])
    for count in (3, 50, 400):
        mine, theirs = whole.buckets(count, end), cut.buckets(count)
        for a, b in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(a, b)


# ----- the runs' lifecycle --------------------------------------------------------------------


@pytest.fixture
def runs() -> Iterator[LiveRun]:
    inbox: EventInbox[Event] = EventInbox(lambda: None, quiet=Epoch)
    live = LiveRun(
        RunConfig(preset="line", epochs=10**6, save=False).resolved(), DatasetCache(), inbox
    )
    yield live
    for trainer in live.close():
        trainer.join(10)


def folding(live: LiveRun, condition: Callable[[], bool]) -> Callable[[], bool]:
    """`condition`, checked after the inbox's events are folded in (the explorer's timer)."""

    def check() -> bool:
        live.apply_events()
        return condition()

    return check


def wait_until_trained(live: LiveRun, epochs: int = 5) -> None:
    run = live.current
    assert run is not None
    wait_until(folding(live, lambda: run.epoch >= epochs), 30, f"{epochs} epochs")


def test_a_new_run_stops_the_last_one_and_keeps_it_only_when_asked(
    runs: LiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However slow the machine, the replaced run ends within the wait and its end is folded in.
    monkeypatch.setattr("tui.state.live_run.JOIN_TIMEOUT_S", 30.0)
    assert runs.start(runs.initial, keep_current=False)
    wait_until_trained(runs)
    first = runs.current
    assert first is not None and runs.active and runs.shows_weights and runs.ridge is not None
    assert runs.start(runs.initial, keep_current=False)
    assert first.status == "stopped" and runs.earlier == []  # its Finished folded in
    for _ in range(MAX_OVERLAYS + 1):
        kept = runs.current
        assert runs.start(runs.initial, keep_current=True)
        assert runs.earlier[-1] is kept
    assert len(runs.earlier) == MAX_OVERLAYS


def test_values_go_to_the_live_trainer_and_bad_ones_change_nothing(runs: LiveRun) -> None:
    runs.start(runs.initial, keep_current=False)
    wait_until_trained(runs)
    runs.use("lam", 0.5)
    runs.use("lr", 0.02)
    trainer = runs.trainer
    assert trainer is not None and (runs.lam, runs.lr) == (0.5, 0.02)
    wait_until(lambda: (trainer.lam, trainer.lr) == (0.5, 0.02), 30, "the trainer to take them")
    with pytest.raises(ConfigError):
        runs.use("lr", 0.0)
    assert runs.lr == 0.02
    runs.stop()
    assert trainer.join(10)
    runs.apply_events()
    assert not runs.active
    runs.use("lam", 3.0)  # the run has ended: kept for the next one
    assert (trainer.lam, runs.lam) == (0.5, 3.0)
    assert runs.settings().lr == 0.02


def test_mode_none_keeps_the_lambda_chosen_for_the_next_mode(runs: LiveRun) -> None:
    runs.use("lam", 0.5)
    runs.start(
        RunConfig(preset="line", reg="none", epochs=10**6, save=False).resolved(),
        keep_current=False,
    )
    wait_until_trained(runs, 1)
    assert runs.current is not None and runs.current.lam == 0.0 and runs.lam == 0.5
    with pytest.raises(ConfigError, match="mode 'none'"):
        runs.use("lam", 1.0)
    assert runs.lam == 0.5


def test_pause_and_resume(runs: LiveRun) -> None:
    runs.start(runs.initial, keep_current=False)
    wait_until_trained(runs)
    run = runs.current
    assert run is not None
    runs.toggle_pause()
    wait_until(folding(runs, lambda: run.status == "paused"), 30, "the pause")
    held = run.epoch
    runs.toggle_pause()
    wait_until(folding(runs, lambda: run.epoch > held + 5), 30, "training again")
    assert run.status == "running"


def test_a_run_that_cannot_start_says_why_in_one_line(runs: LiveRun, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n[not a number],3\n3,4\n")  # a feature: numbers only
    with pytest.raises(RunNotStarted, match=r"^cannot start: .*line 3") as info:
        runs.start(RunConfig(data=str(bad), target="y", save=False).resolved(), keep_current=False)
    assert "\n" not in str(info.value) and runs.current is None


def test_closing_stops_every_run_and_starts_no_other(runs: LiveRun) -> None:
    runs.start(runs.initial, keep_current=False)
    jobs = runs.close()
    assert jobs == [runs.trainer] and all(job.join(10) for job in jobs)
    assert runs.closed and not runs.start(runs.initial, keep_current=False)


# ----- the λ steps ----------------------------------------------------------------------------


def test_lambda_steps_to_and_from_zero() -> None:
    assert step_lam(0.0, up=True) == 1e-4
    assert step_lam(1e-4, up=True) == pytest.approx(1e-3)
    assert step_lam(3.0, up=True) == 30.0
    assert step_lam(1e-3, up=False) == pytest.approx(1e-4)
    assert step_lam(1e-4, up=False) == 0.0
    assert step_lam(5e-4, up=False) == 0.0
    assert step_lam(0.0, up=False) == 0.0


def test_a_saved_run_rebuilds_the_state_its_live_run_had(tmp_path: Path) -> None:
    live = RunState(1, RunConfig(preset="highdim", epochs=5, runs_dir=str(tmp_path)).resolved())
    trainer: Trainer

    def sink(event: Event) -> None:
        live.apply(event)
        if isinstance(event, Epoch) and event.epoch == 2:
            trainer.set_lam(3.0)  # a λ change mid-run: the saved run carries it too

    trainer = Trainer(live.config, sink)
    trainer.run()
    assert trainer.run_dir is not None
    saved = RunState.from_saved(load_run(trainer.run_dir), run_id=2)
    assert (saved.status, saved.epoch, saved.lam, saved.label) == ("completed", 5, 3.0, "λ=0→3 sgd")
    assert saved.marks == live.marks == [Mark(3, "λ=3")]
    assert list(saved.train.buckets(5)[1]) == list(live.train.buckets(5)[1])
    assert list(saved.test.buckets(5)[1]) == list(live.test.buckets(5)[1])
    assert saved.param_stats is not None and live.param_stats is not None
    assert [p.name for p in saved.param_stats] == [p.name for p in live.param_stats]
    assert (saved.run_dir, saved.device, saved.has_test) == (live.run_dir, "cpu", True)

    (trainer.run_dir / "results.json").unlink()  # what a kill leaves
    killed = RunState.from_saved(load_run(trainer.run_dir), run_id=3)
    assert killed.status == "unfinished" and not killed.active and killed.epoch == 5


# ----- which settings a sweep's results belong to ----------------------------------------------


def highdim(**overrides: object) -> RunConfig:
    settings: dict[str, object] = {"preset": "highdim", "epochs": 200, "save": False}
    settings.update(overrides)
    return RunConfig(**settings).resolved()  # type: ignore[arg-type]


def test_every_field_of_a_run_config_is_a_setting_of_the_sweep_or_named_as_not_one() -> None:
    # A field added to RunConfig must be said in words when it differs, or listed as not
    # changing the best λ: none is compared silently, none is forgotten.
    in_words = set().union(*(names for names, _ in PARTS))
    assert in_words.isdisjoint(NOT_SETTINGS)
    assert in_words | NOT_SETTINGS == {f.name for f in fields(RunConfig)}
    assert set(sweep_settings(highdim(model="mlp"))) == in_words


def test_lambda_and_where_the_sweep_runs_are_not_settings_of_the_sweep(tmp_path: Path) -> None:
    results = highdim(lam=0.0)
    elsewhere = replace(
        results, lam=3.0, device="cpu", cpu_threads=0, runs_dir=str(tmp_path), save=True
    )
    assert same_settings(results, elsewhere) and settings_change(results, elsewhere) is None
    # A linear model has no hidden layers: their unused sizes are not settings of it.
    assert same_settings(results, replace(results, hidden=(8,), activation="tanh"))


@pytest.mark.parametrize(
    ("field", "value", "then", "now"),
    [
        ("preset", "poly", "highdim", "poly"),
        ("seed", 1, "seed 0", "seed 1"),
        ("test_fraction", 0.5, "default split, raw", "test 0.5, raw"),
        ("standardize", True, "default split, raw", "default split, standardized"),
        ("model", "mlp", "linear", "mlp 64-64 relu"),
        ("init", "zeros", "linear", "linear init zeros"),
        ("optimizer", "adam", "sgd + l2", "adam + l2"),
        ("momentum", 0.9, "sgd + l2", "sgd momentum 0.9 + l2"),
        ("reg", "wd", "sgd + l2", "sgd + wd"),
        ("decay_bias", True, "sgd + l2", "sgd + l2 (biases too)"),
        ("lr", 0.006, "lr 0.003", "lr 0.006"),
        ("lr", 0.0030000001, "lr 0.003", "lr 0.0030000001"),  # never two equal-looking lrs
        ("epochs", 1000, "200 epochs", "1,000 epochs"),
        ("batch_size", 0, "batch 5", "full batch"),
        ("train_loss", "batch-mean", "exact train loss", "batch-mean train loss"),
    ],
)
def test_each_setting_that_changes_the_best_lambda_makes_the_results_stale_and_says_how(
    field: str, value: object, then: str, now: str
) -> None:
    results = highdim()
    current = replace(results, **{field: value})  # type: ignore[arg-type]
    change = settings_change(results, current)
    assert change is not None and not same_settings(results, current)
    assert (change.then, change.now) == (then, now)
    assert field in change.fields


def test_an_mlps_shape_and_activation_are_settings_of_it() -> None:
    results = highdim(model="mlp", hidden=(64, 64))
    change = settings_change(results, replace(results, hidden=(32,), activation="tanh"))
    assert change is not None
    assert change.fields == ("hidden", "activation")
    assert (change.then, change.now) == ("mlp 64-64 relu", "mlp 32 tanh")


def test_another_csv_target_is_another_sweep(tmp_path: Path) -> None:
    data = tmp_path / "houses.csv"
    data.write_text("size,rooms,price\n1,2,3\n2,3,5\n3,3,6\n4,5,9\n5,5,10\n")
    results = RunConfig(data=str(data), target="price", save=False).resolved()
    current = RunConfig(data=str(data), target="rooms", save=False).resolved()
    change = settings_change(results, current)
    assert change is not None and change.fields == ("target",)
    assert (change.then, change.now) == ("houses.csv → price", "houses.csv → rooms")


def test_highdim_then_poly_from_the_controls_differs_in_problem_lr_and_epochs() -> None:
    # What the explorer's restart makes of "preset: poly" after a highdim run (epochs not
    # chosen: poly brings its own, as it brings its own λ, lr and batch size).
    results = highdim(lam=3.16228)
    poly = next_run_config(
        results, results, reg="l2", optimizer="sgd", preset="poly", lam=3.0, lr=0.003
    )
    assert changed_fields(results, poly) == ["preset", "lr", "epochs"]
    change = settings_change(results, poly)
    assert change is not None
    assert change.then == "highdim · lr 0.003 · 200 epochs"
    assert change.now == "poly · lr 0.01 · 400 epochs"


def test_a_sweeps_state_knows_the_settings_it_was_trained_with() -> None:
    results = highdim()
    state = SweepState([0.0, 1.0], 200, results)
    assert state.config == results
    assert state.change_for(replace(results, lam=5.0)) is None
    change = state.change_for(replace(results, lr=0.006))
    assert change is not None and change.fields == ("lr",)
    assert SweepState([0.0, 1.0], 200).change_for(results) is None  # no settings: charts only


def test_stale_results_are_said_in_words_and_the_readout_withholds_a() -> None:
    change = settings_change(highdim(), highdim(lr=0.006))
    assert change is not None
    assert stale_text(None, running=False).plain == ""
    assert stale_text(change, running=False).plain == (
        "⚠ stale: these results are for lr 0.003; the live run now has lr 0.006. "
        "Enter sweeps the live run's settings."
    )
    assert stale_text(change, running=True).plain == (
        "⚠ still training for the old settings: this sweep is for lr 0.003; the live run now "
        "has lr 0.006. s stops it; then Enter sweeps the live run's settings."
    )
    assert refusal_text(3.16228, change) == (
        "not applied: λ = 3.16228 is the best for lr 0.003, not for the live run's lr 0.006"
    )
    state = SweepState([0.0, 1.0], 3, highdim())
    state.apply(SweepEpoch(1, (1.0, 2.0), (0.5, 0.25), (1.0, 1.0), 0.1))
    fresh, stale = readout_text(state).plain, readout_text(state, stale=True).plain
    assert "best λ = 1 (so far)" in fresh and "a: apply it to the live run" in fresh
    assert "best λ = 1 (so far) for the old settings" in stale
    assert "a will not apply it" in stale and "a: apply" not in stale


def test_a_run_that_cannot_be_made_leaves_the_current_one_training(runs: LiveRun) -> None:
    runs.start(runs.initial, keep_current=False)
    wait_until_trained(runs)
    run, trainer = runs.current, runs.trainer
    assert run is not None and trainer is not None
    huge = replace(runs.initial, model="mlp", hidden=(100_000, 100_000))  # ~80 GB to train
    with pytest.raises(RunNotStarted, match=r"^cannot start: this model .* needs about"):
        runs.start(huge, keep_current=False)
    assert runs.current is run and runs.trainer is trainer
    held = run.epoch
    wait_until(folding(runs, lambda: run.epoch > held + 5), 30, "the run to train on")
    assert run.status == "running"
