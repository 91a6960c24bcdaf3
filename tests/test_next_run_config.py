"""The settings of the run after another one (the explorer's r and n): what a new problem resets,
what mode 'none' and the optimizer change, what a chosen setting does, and what stays."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from engine.config import (
    CSV_DEFAULTS,
    CSV_PRESET,
    PRESET_DEFAULTS,
    PROBLEM_SETTINGS,
    ConfigError,
    PresetDefaults,
    RunConfig,
    next_run_config,
    preset_of,
    problem_default,
)


def line(**settings: object) -> RunConfig:
    return RunConfig(preset="line", save=False, **settings).resolved()  # type: ignore[arg-type]


def same_problem(base: RunConfig, **chosen: object) -> RunConfig:
    settings: dict[str, object] = {"lam": base.lam, "lr": base.lr}
    settings.update(chosen)
    return next_run_config(base, base, preset=preset_of(base), **settings)  # type: ignore[arg-type]


def csv_config(tmp_path: Path) -> RunConfig:
    data = tmp_path / "houses.csv"
    data.write_text("area,price\n" + "".join(f"{x},{2 * x + 1}\n" for x in range(20)))
    return RunConfig(data=str(data), target="price", save=False).resolved()


def test_the_same_problem_keeps_its_settings_with_the_lambda_and_lr_chosen() -> None:
    base = line(batch_size=4, epochs=77, seed=3)
    after = same_problem(base, lam=0.5, lr=0.02, reg="wd", epochs=12)
    assert (after.lam, after.lr, after.reg, after.epochs) == (0.5, 0.02, "wd", 12)
    assert (after.batch_size, after.seed, after.preset) == (4, 3, "line")


def test_every_training_setting_chosen_is_used_as_given() -> None:
    chosen: dict[str, object] = {
        "reg": "wd",
        "optimizer": "sgd",
        "momentum": 0.5,
        "epochs": 9,
        "batch_size": 3,
        "train_loss": "batch-mean",
        "model": "mlp",
        "hidden": (16, 8),
        "activation": "tanh",
        "init": "default",
        "decay_bias": True,
        "seed": 11,
        "test_fraction": 0.25,
        "standardize": True,
    }
    after = same_problem(line(), **chosen)
    assert {name: getattr(after, name) for name in chosen} == chosen
    # On another problem too: a chosen problem setting is not replaced by the problem's own.
    on_poly = next_run_config(line(), line(), preset="poly", lam=0.1, lr=0.1, **chosen)
    assert {name: getattr(on_poly, name) for name in chosen} == chosen
    assert (on_poly.preset, on_poly.lr, on_poly.lam) == ("poly", 0.01, 0.0)


def test_another_preset_starts_from_its_own_defaults() -> None:
    base = line(lam=3.0, lr=0.05, batch_size=4, epochs=50, test_fraction=0.3, standardize=True)
    after = next_run_config(base, base, preset="highdim", lam=3.0, lr=0.05)
    highdim = PRESET_DEFAULTS["highdim"]
    assert after.preset == "highdim"
    assert (after.lam, after.lr, after.batch_size) == (highdim.lam, highdim.lr, highdim.batch_size)
    assert (after.epochs, after.standardize) == (highdim.epochs, highdim.standardize)
    assert after.test_fraction is None  # highdim's own split
    chosen = next_run_config(base, base, preset="highdim", lam=3.0, lr=0.05, epochs=7)
    assert (chosen.epochs, chosen.batch_size) == (7, highdim.batch_size)


def test_the_csv_choice_goes_back_to_the_first_runs_file(tmp_path: Path) -> None:
    initial = csv_config(tmp_path)
    assert preset_of(initial) == CSV_PRESET and preset_of(line()) == "line"
    on_line = next_run_config(initial, initial, preset="line", epochs=5, lam=0.1, lr=0.1)
    assert (on_line.data, on_line.target, on_line.preset) == (None, None, "line")
    assert on_line.standardize is False  # the preset's default, not the CSV's
    back = next_run_config(on_line, initial, preset=CSV_PRESET, epochs=5, lam=0, lr=1)
    assert (back.data, back.target, back.preset) == (initial.data, "price", None)
    assert back.standardize is True  # a CSV's default, not the preset's


def test_mode_none_trains_at_lambda_zero_whatever_lambda_was_chosen() -> None:
    assert same_problem(line(lam=0.5), reg="none", lam=0.5).lam == 0.0
    assert next_run_config(line(), line(), preset="poly", lam=1, lr=1, reg="none").lam == 0.0


def test_momentum_is_reset_for_optimizers_other_than_sgd() -> None:
    base = line(momentum=0.9)
    assert same_problem(base).momentum == 0.9
    assert same_problem(base, optimizer="adam").momentum == 0.0
    assert same_problem(base, optimizer="adamw", momentum=0.5).momentum == 0.0


def test_invalid_settings_are_a_config_error_in_the_command_lines_words() -> None:
    with pytest.raises(ConfigError, match="λ must be"):
        same_problem(line(), lam=-1.0)
    with pytest.raises(ConfigError, match="unknown preset"):
        next_run_config(line(), line(), preset="nope", lam=0, lr=1)
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, 1\), got 2.0"):
        same_problem(line(), momentum=2.0)
    with pytest.raises(ConfigError, match=r"batch size must be a whole number >= 0"):
        same_problem(line(), batch_size=-1)
    with pytest.raises(ConfigError, match="--init zeros applies to --model linear only"):
        same_problem(line(), model="mlp", init="zeros")
    with pytest.raises(ConfigError, match=r"test fraction must be in \[0, 1\)"):
        same_problem(line(), test_fraction=1.0)


def test_the_problem_and_the_live_values_are_not_chosen_settings() -> None:
    # The problem is `preset`, λ and lr are the live ones: a typo or those as settings is a bug.
    for name in ("preset", "data", "target", "lam", "lr", "hiden"):
        with pytest.raises(TypeError, match=name):
            next_run_config(line(), line(), preset="line", lam=0, lr=1, **{name: None})


def test_each_problem_setting_has_a_default_per_problem() -> None:
    defaults_fields = {f.name for f in fields(PresetDefaults)}
    assert set(PROBLEM_SETTINGS) == defaults_fields | {"test_fraction"}
    for name in PRESET_DEFAULTS:
        assert problem_default(name, "batch_size") == PRESET_DEFAULTS[name].batch_size
    assert problem_default(CSV_PRESET, "standardize") is CSV_DEFAULTS.standardize is True
    assert problem_default("poly", "test_fraction") is None
    with pytest.raises(ConfigError, match="unknown preset"):
        problem_default("nope", "lr")


def test_unchosen_problem_settings_are_the_new_problems_defaults_whatever_base_had() -> None:
    # The controls show problem_default for each setting not changed since the last run; the
    # next run must then be exactly that.
    base = line(epochs=30, batch_size=4, test_fraction=0.5, standardize=True)
    for problem in ("highdim", "poly"):
        after = next_run_config(base, base, preset=problem, lam=1.0, lr=1.0)
        assert {s: getattr(after, s) for s in PROBLEM_SETTINGS} == {
            s: problem_default(problem, s) for s in PROBLEM_SETTINGS
        }
