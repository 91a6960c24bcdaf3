"""The settings two saved runs differ in (tui/state/run_diff.py), on config.json records."""

from __future__ import annotations

from engine.config import RunConfig
from engine.schedule import parse_at
from tui.state.run_diff import differences, label, only_seed, settings, shown


def record(**changes: object) -> dict[str, object]:
    """A config.json record as the trainer writes it: a resolved RunConfig's dict, plus facts."""
    config = RunConfig(preset="line", **changes).resolved()  # type: ignore[arg-type]
    return {**config.to_dict(), "resolved_device": "cpu", "n_train": 100, "n_test": 100}


def test_equal_records_differ_in_nothing() -> None:
    assert differences(record(), record()) == []


def test_differing_settings_are_listed_in_order_and_equal_ones_are_not() -> None:
    a = record(optimizer="sgd", lam=0.01)
    b = record(optimizer="adam", lam=0.1)
    assert differences(a, b) == [("optimizer", "sgd", "adam"), ("lam", 0.01, 0.1)]


def test_the_schedule_compares_by_its_changes_not_their_recorded_steps() -> None:
    a = record(epochs=30, schedule=(parse_at("5:lam=3"),))
    b = record(epochs=30)
    found = differences(a, b)
    assert [key for key, _, _ in found] == ["schedule"]
    assert shown("schedule", found[0][1]) == "5:lam=3"
    assert shown("schedule", found[0][2]) == "none"
    # A replay records the step each change was applied at: the same schedule.
    replayed = dict(a)
    replayed["schedule"] = [{"epoch": 5, "key": "lam", "value": 3.0, "step": 4, "source": "at"}]
    assert differences(a, replayed) == []


def test_where_a_run_was_saved_is_not_a_setting() -> None:
    a, b = record(runs_dir="runs"), record(runs_dir="elsewhere", save=False)
    assert differences(a, b) == []


def test_hidden_sizes_count_only_for_an_mlp() -> None:
    assert differences(record(hidden=(64, 64)), record(hidden=(8,))) == []
    found = differences(record(model="mlp", hidden=(64, 64)), record(model="mlp", hidden=(8,)))
    assert found == [("hidden", [64, 64], [8])]
    # A linear run against an MLP: the MLP's shape is part of what differs.
    mixed = differences(record(), record(model="mlp", hidden=(8,)))
    assert [key for key, _, _ in mixed] == ["model", "hidden"]


def test_a_key_only_one_record_has_differs_from_none() -> None:
    a = record()
    b = {**record(), "torch_version": "2.14"}
    assert differences(a, b) == [("torch_version", None, "2.14")]


def test_only_the_seed() -> None:
    found = differences(record(seed=0), record(seed=1))
    assert found == [("seed", 0, 1)]
    assert only_seed(found)
    assert not only_seed(differences(record(seed=0), record(seed=1, lam=1.0)))
    assert not only_seed([])


def test_values_and_labels_as_shown() -> None:
    assert label("lam") == "λ" and label("batch_size") == "batch size"
    assert label("some_new_key") == "some new key"
    assert shown("lr", 0.003) == "0.003"
    assert shown("preset", None) == "—"
    assert shown("standardize", True) == "yes"
    assert shown("hidden", [64, 64]) == "64, 64"
    assert shown("features", []) == "none"


def test_settings_lists_what_differences_compares() -> None:
    keys = [key for key, _ in settings(record())]
    assert "lam" in keys and "optimizer" in keys and "schedule" in keys
    assert "runs_dir" not in keys and "save" not in keys and "hidden" not in keys
    assert "hidden" in [key for key, _ in settings(record(model="mlp"))]
