"""`wdtui open RUN_DIR...`: the explorer with the runs screen over it, the given runs marked;
bad paths end on the command line (one line, exit 2) before any screen opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.trainer import Trainer
from support.engine import call_wdtui
from support.tui import sync, wait_for
from tui.open import open_app
from tui.screens.runs_screen import RunsScreen


def train(runs_dir: Path, lam: float) -> Path:
    config = RunConfig(preset="line", epochs=3, lam=lam, runs_dir=str(runs_dir), seed=0)
    trainer = Trainer(config, lambda event: None)
    trainer.run()
    assert trainer.run_dir is not None
    return Path(trainer.run_dir)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    runs_dir = tmp_path_factory.mktemp("runs")
    return train(runs_dir, 0.1), train(runs_dir, 1.0)


def test_a_missing_path_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-run"
    code, out, err = call_wdtui(capsys, "open", str(missing))
    assert (code, out) == (2, "")
    assert err == f"wdtui open: error: {missing}: no such folder\n"


def test_runs_of_two_folders_are_refused(
    capsys: pytest.CaptureFixture[str], two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    elsewhere = train(tmp_path, 0.0)
    code, _, err = call_wdtui(capsys, "open", str(two_runs[0]), str(elsewhere))
    assert code == 2 and err.count("\n") == 1
    assert f"{elsewhere} is not in {two_runs[0].parent}" in err
    # --runs-dir names the folder listed: a run outside it could not be shown marked.
    code, _, err = call_wdtui(capsys, "open", str(two_runs[0]), "--runs-dir", str(tmp_path))
    assert code == 2 and f"{two_runs[0]} is not in {tmp_path}" in err


def test_a_file_is_not_a_run(capsys: pytest.CaptureFixture[str], two_runs: tuple[Path, Path]):
    code, _, err = call_wdtui(capsys, "open", str(two_runs[0] / "config.json"))
    assert code == 2 and "is not a folder" in err and err.count("\n") == 1


@sync
async def test_two_runs_open_the_runs_screen_with_both_marked(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    app = open_app([str(first), str(second), "--no-save", "--pace", "max"])
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_for(pilot, lambda: screen.loads >= 1, "the runs listed")
        assert screen.runs_dir == first.parent
        assert screen.marked == {first, second}
        assert screen.highlighted_path() == first  # the cursor on the first given
        assert {e.path for e in screen.marked_entries()} == {first, second}
        # The live run saves beside the runs opened (here --no-save), and `o` lists them.
        assert Path(app.initial_config.runs_dir) == first.parent
        assert app.screen_stack[0] is app.explorer


@sync
async def test_a_runs_folder_is_listed_with_nothing_marked(two_runs: tuple[Path, Path]) -> None:
    runs_dir = two_runs[0].parent
    app = open_app([str(runs_dir), "--no-save"])
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_for(pilot, lambda: screen.loads >= 1, "the runs listed")
        assert screen.runs_dir == runs_dir and screen.marked == set()
        assert {e.path for e in screen.shown} == set(two_runs)
