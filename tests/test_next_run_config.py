"""The settings of the run after another one (the explorer's r and n): what a new problem resets,
what mode 'none' and the optimizer change, and what stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import (
    CSV_PRESET,
    PRESET_DEFAULTS,
    ConfigError,
    RunConfig,
    next_run_config,
    preset_of,
)


def line(**settings: object) -> RunConfig:
    return RunConfig(preset="line", save=False, **settings).resolved()  # type: ignore[arg-type]


def same_problem(base: RunConfig, **changes: object) -> RunConfig:
    settings: dict[str, object] = {
        "reg": base.reg,
        "optimizer": base.optimizer,
        "preset": preset_of(base),
        "epochs": base.epochs,
        "lam": base.lam,
        "lr": base.lr,
    }
    settings.update(changes)
    return next_run_config(base, base, **settings)  # type: ignore[arg-type]


def csv_config(tmp_path: Path) -> RunConfig:
    data = tmp_path / "houses.csv"
    data.write_text("area,price\n" + "".join(f"{x},{2 * x + 1}\n" for x in range(20)))
    return RunConfig(data=str(data), target="price", save=False).resolved()


def test_the_same_problem_keeps_its_settings_with_the_lambda_and_lr_chosen() -> None:
    base = line(batch_size=4, epochs=77, seed=3)
    after = same_problem(base, lam=0.5, lr=0.02, reg="wd", epochs=12)
    assert (after.lam, after.lr, after.reg, after.epochs) == (0.5, 0.02, "wd", 12)
    assert (after.batch_size, after.seed, after.preset) == (4, 3, "line")


def test_another_preset_starts_from_its_own_defaults() -> None:
    base = line(lam=3.0, lr=0.05, batch_size=4, epochs=100)
    after = next_run_config(
        base, base, reg="l2", optimizer="sgd", preset="highdim", epochs=100, lam=3.0, lr=0.05
    )
    highdim = PRESET_DEFAULTS["highdim"]
    assert after.preset == "highdim"
    assert (after.lam, after.lr, after.batch_size) == (highdim.lam, highdim.lr, highdim.batch_size)
    assert after.epochs == highdim.epochs  # epochs untouched: the preset's own
    changed = next_run_config(
        base, base, reg="l2", optimizer="sgd", preset="highdim", epochs=7, lam=3.0, lr=0.05
    )
    assert changed.epochs == 7  # epochs changed: kept


def test_the_csv_choice_goes_back_to_the_first_runs_file(tmp_path: Path) -> None:
    initial = csv_config(tmp_path)
    assert preset_of(initial) == CSV_PRESET and preset_of(line()) == "line"
    on_line = next_run_config(
        initial, initial, reg="l2", optimizer="sgd", preset="line", epochs=5, lam=0.1, lr=0.1
    )
    assert (on_line.data, on_line.target, on_line.preset) == (None, None, "line")
    back = next_run_config(
        on_line, initial, reg="l2", optimizer="sgd", preset=CSV_PRESET, epochs=5, lam=0, lr=1
    )
    assert (back.data, back.target, back.preset) == (initial.data, "price", None)
    assert back.standardize is True  # a CSV's default, not the preset's


def test_mode_none_trains_at_lambda_zero_whatever_lambda_was_chosen() -> None:
    assert same_problem(line(lam=0.5), reg="none", lam=0.5).lam == 0.0
    assert (
        next_run_config(
            line(), line(), reg="none", optimizer="sgd", preset="poly", epochs=5, lam=1, lr=1
        ).lam
        == 0.0
    )


def test_momentum_is_reset_for_optimizers_other_than_sgd() -> None:
    base = line(momentum=0.9)
    assert same_problem(base).momentum == 0.9
    assert same_problem(base, optimizer="adam").momentum == 0.0


def test_invalid_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="λ must be"):
        same_problem(line(), lam=-1.0)
    with pytest.raises(ConfigError, match="unknown preset"):
        same_problem(line(), preset="nope")
