"""The explorer's own defaults: a live `highdim` run, long, at a pace a person can watch."""

from __future__ import annotations

import json

import pytest

from tui.launch import EXPLORER_EPOCHS, EXPLORER_PRESET, explorer_settings
from tui.state.pace import DEFAULT_PACE


def test_plain_wdtui_trains_highdim_for_long_at_the_default_pace() -> None:
    config, pace = explorer_settings([])
    assert (config.preset, config.epochs, pace) == (EXPLORER_PRESET, EXPLORER_EPOCHS, DEFAULT_PACE)
    assert config.lam == 0  # highdim starts without decay: it overfits, then λ is raised


def test_a_chosen_preset_keeps_the_long_run_and_given_epochs_win() -> None:
    config, _ = explorer_settings(["--preset", "poly"])
    assert (config.preset, config.epochs) == ("poly", EXPLORER_EPOCHS)
    config, _ = explorer_settings(["--preset", "poly", "--epochs", "50"])
    assert config.epochs == 50


def test_a_saved_config_keeps_its_problem_and_epochs(tmp_path) -> None:
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "epochs": 70, "lr": 0.02}))
    config, _ = explorer_settings(["--config", str(saved)])
    assert (config.preset, config.epochs, config.lr) == ("line", 70, 0.02)


@pytest.mark.parametrize(("text", "pace"), [("30", 30.0), ("max", None), ("2.5", 2.5)])
def test_pace_option(text: str, pace: float | None) -> None:
    assert explorer_settings(["--pace", text])[1] == pace


@pytest.mark.parametrize("bad", ["0", "-3", "fast", "nan", "inf"])
def test_a_bad_pace_is_one_line_and_exit_2(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        explorer_settings(["--pace", bad])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pace must be a number of epochs per second" in err


def test_grokking_starts_without_a_cap_unless_pace_says() -> None:
    assert explorer_settings(["--preset", "grokking"])[1] is None
    assert explorer_settings(["--preset", "grokking", "--pace", "30"])[1] == 30.0


def test_a_missing_target_column_is_one_line_before_the_screen_opens(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "t.csv"
    data.write_text("a,b,y\n1,2,3\n2,1,4\n")
    with pytest.raises(SystemExit) as exited:
        explorer_settings(["--data", str(data), "--target", "zz"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert (
        err == f"wdtui: error: {data} has no column 'zz'; the file has 3 columns: 'a', 'b', 'y'\n"
    )
