"""The store reads back what it wrote: a saved run or sweep replays as the events it emitted."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.config import RunConfig
from engine.events import Epoch, Event, Finished, Started
from engine.store import StoreError, list_runs, load_run, load_sweep
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished, SweepStarted
from engine.sweep.runner import Sweep
from engine.trainer import Trainer


def saved_run(tmp_path: Path, **settings: Any) -> tuple[Trainer, list[Event]]:
    """A run saved under tmp_path; λ changes to 0.5 and lr halves before epoch 4's first step."""
    seen: list[Event] = []
    trainer: Trainer

    def sink(event: Event) -> None:
        seen.append(event)
        if isinstance(event, Epoch) and event.epoch == 3:
            trainer.set_lam(0.5)
            trainer.set_lr(event.lr / 2)

    trainer = Trainer(RunConfig(runs_dir=str(tmp_path), **settings), sink)
    trainer.run()
    return trainer, seen


def as_saved(event: Epoch) -> Epoch:
    # metrics.csv keeps µs, and not the per-layer ‖w‖² (live and JSON lines only)
    return replace(event, elapsed_s=round(event.elapsed_s, 6), layer_sq_norms=())


def test_a_saved_run_replays_the_events_it_emitted(tmp_path: Path) -> None:
    trainer, live = saved_run(tmp_path, preset="highdim", epochs=6)
    saved = load_run(trainer.run_dir or "")
    replayed = list(saved.events())

    started, live_started = replayed[0], live[0]
    assert isinstance(started, Started) and isinstance(live_started, Started)
    assert started.config == live_started.config
    assert started.parameters == live_started.parameters
    assert (started.device, started.n_train, started.n_test) == ("cpu", 20, 100)
    assert started.feature_names == live_started.feature_names
    assert started.run_dir == live_started.run_dir == str(trainer.run_dir)

    live_epochs = [as_saved(e) for e in live if isinstance(e, Epoch)]
    assert [e for e in replayed if isinstance(e, Epoch)] == live_epochs  # λ and lr changes too
    assert [e.lam for e in live_epochs] == [0.0] * 3 + [0.5] * 3
    # The last epoch carries the statistics of the weights it ended with, as live.
    last_live, last_saved = live_epochs[-1], saved.epochs[-1]
    assert last_live.param_stats is not None and last_saved.param_stats is not None
    for a, b in zip(last_live.param_stats, last_saved.param_stats, strict=True):
        assert (a.name, a.shape, a.penalized) == (b.name, b.shape, b.penalized)
        assert a.norm == pytest.approx(b.norm, rel=1e-6)

    finished, live_finished = replayed[-1], live[-1]
    assert isinstance(finished, Finished) and isinstance(live_finished, Finished)
    assert finished == live_finished  # status, epochs, message, run_dir, partial steps
    for name in live_finished.weights:
        assert finished.weights[name] == live_finished.weights[name]


def test_a_diverged_run_reads_back_its_non_finite_loss(tmp_path: Path) -> None:
    trainer, live = saved_run(tmp_path, lr=50.0, epochs=30)
    saved = load_run(trainer.run_dir or "")
    assert saved.finished is not None and saved.finished.status == "diverged"
    live_finished = live[-1]
    assert isinstance(live_finished, Finished) and saved.finished == live_finished
    # NaN != NaN: compare the JSON form, where a non-finite number is null, as --jsonl prints.
    assert [e.to_json() for e in saved.epochs] == [
        as_saved(e).to_json() for e in live if isinstance(e, Epoch)
    ]


def test_a_run_killed_before_its_end_replays_without_a_finish(tmp_path: Path) -> None:
    trainer, live = saved_run(tmp_path, model="mlp", hidden=(3,), epochs=4)
    run_dir = trainer.run_dir or Path()
    (run_dir / "results.json").unlink()  # what SIGKILL leaves: no results.json, no weights.pt
    (run_dir / "weights.pt").unlink()
    saved = load_run(run_dir)
    assert saved.finished is None
    assert isinstance(live[0], Started)
    # The parameters come from the settings alone (built on the meta device): the same as live.
    assert saved.started.parameters == live[0].parameters
    assert [type(e).__name__ for e in saved.events()] == ["Started"] + ["Epoch"] * 4
    assert all(e.param_stats is None for e in saved.epochs)


def json_without_time(event: SweepEvent) -> dict[str, Any]:
    data = event.to_json()
    data.pop("elapsed_s", None)  # sweep.csv does not keep the time
    return data


def test_a_saved_sweep_replays_its_epochs_and_results(tmp_path: Path) -> None:
    lams = [0.0, 0.1, 1000.0]  # the last one diverges at epoch 2 and is frozen from then on
    live: list[SweepEvent] = []
    config = RunConfig(preset="line", epochs=4, batch_size=10, runs_dir=str(tmp_path))
    sweep = Sweep(config, lams, live.append)
    done = sweep.run()
    saved = load_sweep(sweep.run_dir or "")
    replayed = list(saved.events())

    assert isinstance(replayed[0], SweepStarted) and isinstance(live[0], SweepStarted)
    assert replayed[0].to_json() == live[0].to_json()
    assert replayed[0].parameters == live[0].parameters
    live_epochs = [e for e in live if isinstance(e, SweepEpoch)]
    saved_epochs = [e for e in replayed if isinstance(e, SweepEpoch)]
    assert [json_without_time(e) for e in saved_epochs] == [
        json_without_time(e) for e in live_epochs
    ]
    assert [e.statuses for e in saved_epochs] == [e.statuses for e in live_epochs]

    finished = replayed[-1]
    assert isinstance(finished, SweepFinished)
    assert finished.to_json() == done.to_json()  # every member's numbers and weights
    assert finished.best_lam == done.best_lam == sweep.best_lam()


def test_list_runs_shows_runs_and_sweeps_newest_first(tmp_path: Path) -> None:
    first, _ = saved_run(tmp_path, epochs=2)
    sweep = Sweep(RunConfig(epochs=2, runs_dir=str(tmp_path)), [0.0, 1.0], lambda e: None)
    sweep.run()
    unfinished, _ = saved_run(tmp_path, epochs=2)
    assert unfinished.run_dir is not None
    (unfinished.run_dir / "results.json").unlink()
    (tmp_path / "notes").mkdir()  # not a run: no config.json
    torn = tmp_path / "99999999-torn"
    torn.mkdir()
    (torn / "config.json").write_text("{")  # a config.json cut short: skipped, not a crash

    entries = list_runs(tmp_path)
    by_path = {e.path: e for e in entries}
    assert set(by_path) == {first.run_dir, sweep.run_dir, unfinished.run_dir}
    started = {p: ((p / "config.json").stat().st_mtime_ns, p.name) for p in by_path}
    assert [e.path for e in entries] == sorted(by_path, key=started.__getitem__, reverse=True)
    assert by_path[first.run_dir].kind == "run" and by_path[first.run_dir].status == "completed"
    assert by_path[first.run_dir].epochs == 2
    assert by_path[sweep.run_dir].kind == "sweep"
    assert by_path[sweep.run_dir].config["lams"] == [0.0, 1.0]
    assert by_path[unfinished.run_dir].status == "unfinished"
    assert list_runs(tmp_path / "nowhere") == []


def test_folders_that_are_not_runs_are_one_line_errors(tmp_path: Path) -> None:
    sweep = Sweep(RunConfig(epochs=1, runs_dir=str(tmp_path / "s")), [0.0], lambda e: None)
    sweep.run()
    run, _ = saved_run(tmp_path / "r", epochs=1)
    assert run.run_dir is not None and sweep.run_dir is not None
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"lamda": 1}))
    cases = [
        (lambda: load_run(tmp_path / "missing"), "has no config.json"),
        (lambda: load_run(sweep.run_dir), "is a sweep"),
        (lambda: load_sweep(run.run_dir), "is not a sweep"),
        (lambda: load_run(bad), "unknown setting 'lamda'"),
    ]
    for load, words in cases:
        with pytest.raises(StoreError) as info:
            load()
        assert words in str(info.value) and "\n" not in str(info.value)


def test_a_replay_carries_the_true_weights_and_the_ridge_path(tmp_path: Path) -> None:
    trainer, live = saved_run(tmp_path / "r", preset="line", epochs=2)
    started = load_run(trainer.run_dir or "").started
    assert isinstance(live[0], Started) and live[0].true_weights is not None
    assert started.true_weights == live[0].true_weights
    seen: list[SweepEvent] = []
    sweep = Sweep(RunConfig(epochs=2, runs_dir=str(tmp_path / "s")), [0.0, 1.0], seen.append)
    sweep.run()
    assert isinstance(seen[0], SweepStarted) and seen[0].ridge is not None
    assert load_sweep(sweep.run_dir or "").started.ridge == seen[0].ridge


def one_line_error(load: Callable[[], object], words: str) -> None:
    with pytest.raises(StoreError) as info:
        load()
    assert words in str(info.value) and "\n" not in str(info.value)


def test_hand_edited_and_torn_files_are_one_line_errors(tmp_path: Path) -> None:
    trainer, _ = saved_run(tmp_path / "r", epochs=3)
    run_dir = trainer.run_dir or Path()
    sweep = Sweep(RunConfig(epochs=3, runs_dir=str(tmp_path / "s")), [0.0, 1.0], lambda e: None)
    sweep.run()
    sweep_dir = sweep.run_dir or Path()

    def edit(path: Path, change: Callable[[str], str]) -> None:
        path.write_text(change(path.read_text()))

    results = (run_dir / "results.json").read_text()
    edit(run_dir / "results.json", lambda t: t.replace('"epochs": 3', '"epochs": null'))
    one_line_error(lambda: load_run(run_dir), "is not a readable run")
    (run_dir / "results.json").write_text(results)
    with (run_dir / "metrics.csv").open("a") as handle:
        handle.write("4,0.5\n")  # a row cut short
    one_line_error(lambda: load_run(run_dir), "is not a readable run")
    (run_dir / "weights.pt").write_bytes(b"PK\x03\x04 not a zip file at all")
    one_line_error(lambda: load_run(run_dir), "weights.pt")

    sweep_results = json.loads((sweep_dir / "results.json").read_text())
    sweep_results["results"].append(sweep_results["results"][0])  # more results than λ values
    (sweep_dir / "results.json").write_text(json.dumps(sweep_results))
    one_line_error(lambda: load_sweep(sweep_dir), "one result per λ")
    edit(
        sweep_dir / "config.json", lambda t: t.replace('"lams": [\n    0.0,', '"lams": [\n    "a",')
    )
    one_line_error(lambda: load_sweep(sweep_dir), "lams must be a list of numbers")


def test_rows_after_every_member_diverged_are_refused_not_looped_on(tmp_path: Path) -> None:
    sweep = Sweep(RunConfig(lr=50.0, epochs=40, runs_dir=str(tmp_path)), [0.0], lambda e: None)
    assert sweep.run().status == "failed"  # its only member diverged
    sweep_csv = (sweep.run_dir or Path()) / "sweep.csv"
    last = sweep_csv.read_text().splitlines()[-1]
    with sweep_csv.open("a") as handle:
        handle.write(last + "\n")
    done: list[object] = []
    reader = threading.Thread(target=lambda: done.append(_attempt(sweep.run_dir)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "load_sweep looped"
    assert isinstance(done[0], StoreError) and "after every member diverged" in str(done[0])


def _attempt(run_dir: Path | None) -> object:
    try:
        return load_sweep(run_dir or "")
    except StoreError as exc:
        return exc


def test_list_runs_does_not_block_on_a_fifo_named_config_json(tmp_path: Path) -> None:
    trainer, _ = saved_run(tmp_path, epochs=1)
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "config.json")  # opening it to read would wait for a writer for ever
    found: list[list[object]] = []
    lister = threading.Thread(target=lambda: found.append(list_runs(tmp_path)), daemon=True)
    lister.start()
    lister.join(timeout=30)
    assert not lister.is_alive(), "list_runs blocked on the FIFO"
    assert [e.path for e in found[0]] == [trainer.run_dir]


def test_a_saved_mode_none_run_reports_nothing_penalized_as_it_did_live(tmp_path: Path) -> None:
    seen: list[Event] = []
    trainer = Trainer(RunConfig(reg="none", epochs=2, runs_dir=str(tmp_path)), seen.append)
    trainer.run()
    live = seen[0]
    assert isinstance(live, Started)
    assert [p.penalized for p in live.parameters] == [False, False]
    assert load_run(trainer.run_dir or "").started.parameters == live.parameters
    (trainer.run_dir or Path()).joinpath("weights.pt").unlink()  # rebuilt from the settings too
    assert load_run(trainer.run_dir or "").started.parameters == live.parameters
