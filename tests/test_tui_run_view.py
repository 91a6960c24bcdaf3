"""The run view (tui/screens/run_view.py): a saved run's whole curve and summary, and two saved
runs compared, pushed over the explorer through the Pilot. The runs are real ones, trained
into tmp_path; the figures shown are checked against the summary.json each run wrote.

Regenerate the snapshot with:
.venv/bin/pytest tests/test_tui_run_view.py -k snapshot --snapshot-update
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from engine.config import RunConfig
from engine.events import Finished
from engine.schedule import parse_at
from engine.store import SavedRun, load_run
from engine.trainer import Trainer
from support.tui import make_app, send, sync, wait_for
from tui.screens.run_view import RunViewScreen
from tui.widgets.loss_chart import LossChart

EPOCHS = 30


def train_into(folder: Path, **settings: Any) -> Path:
    """Train a `line` run for EPOCHS epochs, saved, and move its folder to `folder` (a fixed
    name, so what the view shows does not depend on the clock)."""
    events: list[Any] = []
    config = RunConfig(
        preset="line", epochs=EPOCHS, runs_dir=str(folder.parent / "made"), **settings
    )
    Trainer(config, events.append).run()
    (finished,) = [e for e in events if isinstance(e, Finished)]
    assert finished.status == "completed", finished.message
    shutil.move(finished.run_dir, folder)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "scheduled": train_into(root / "a-sgd-at5", schedule=(parse_at("5:lam=3"),)),
        "adam": train_into(root / "b-adam", optimizer="adam", lam=0.1),
        "seed": train_into(root / "c-seed1", schedule=(parse_at("5:lam=3"),), seed=1),
    }


def summary_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def text_of(screen: RunViewScreen, width: int = 200) -> list[str]:
    """The panel's text, every line of it (the panel scrolls), as printed `width` wide."""
    content = screen.query_one("#rv-text", Static).content
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return [" ".join(line.split()) for line in console.export_text().splitlines()]


def row(lines: list[str], name: str) -> str:
    """The first line that starts with `name` and a space."""
    return next(line for line in lines if line.startswith(name + " "))


async def opened(pilot: Pilot, saved: list[SavedRun]) -> RunViewScreen:
    screen = RunViewScreen(saved)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.is_mounted, "the view")
    await pilot.pause(0.05)
    return screen


@sync
async def test_one_run_shows_its_final_and_best_numbers_and_its_changes(
    runs: dict[str, Path],
) -> None:
    folder = runs["scheduled"]
    summary = summary_of(folder)
    app = make_app(epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, [load_run(folder)])
        lines = text_of(screen)
        assert lines[0] == "a-sgd-at5"
        assert row(lines, "status") == "status completed"
        assert row(lines, "epochs") == f"epochs {EPOCHS} of {EPOCHS}"
        assert row(lines, "final train") == f"final train {summary['train_loss']:.4g}"
        assert row(lines, "final test") == f"final test {summary['test_loss']:.4g}"
        assert row(lines, "best train") == f"best train {summary['best_train_loss']:.4g}"
        assert row(lines, "best test") == f"best test {summary['best_test_loss']:.4g}"
        assert row(lines, "best epoch") == f"best epoch {summary['best_epoch']}"
        assert row(lines, "λ") == f"λ {summary['lam_start']:g} → {summary['lam_end']:g}"
        (change,) = summary["changes"]
        assert f"epoch 5 (step {change['step']}): λ = 3, scripted (--at)" in lines
        # Its settings, every one: the optimizer and the schedule as --at takes it.
        assert row(lines, "optimizer") == "optimizer sgd"
        assert row(lines, "schedule") == "schedule 5:lam=3"
        # The whole curve: every epoch, and the change's mark at epoch 5.
        chart = screen.query_one(LossChart)
        assert chart.current is not None and chart.current.epochs_seen == EPOCHS
        assert [(m.epoch, m.text) for m in chart.current.marks] == [(5, "λ=3")]
        legend = str(screen.query_one("#rv-legend", Static).content)
        assert "λ=0.01→3 sgd line" in legend and "λ/lr changed" in legend


@sync
async def test_y_v_and_escape_change_the_screen(runs: dict[str, Path]) -> None:
    app = make_app(epochs=5)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, [load_run(runs["adam"])])
        chart = screen.query_one(LossChart)
        legend = screen.query_one("#rv-legend", Static)
        assert str(legend.content).endswith("log y") and chart.log_y
        send(app, "y")
        await wait_for(pilot, lambda: str(legend.content).endswith("linear y"), "linear y")
        assert not chart.log_y
        send(app, "v")
        box = screen.query_one("#rv-chart-box")
        await wait_for(pilot, lambda: str(box.border_title) == "‖w‖² per epoch", "the ‖w‖² view")
        assert chart.view == "norm"
        send(app, "escape")
        await wait_for(pilot, lambda: app.screen is app.explorer, "the explorer again")


@sync
async def test_two_runs_list_only_the_settings_that_differ(runs: dict[str, Path]) -> None:
    a, b = runs["scheduled"], runs["adam"]
    app = make_app(epochs=5)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, [load_run(a), load_run(b)])
        lines = text_of(screen, width=80)
        assert lines[:2] == ["A a-sgd-at5", "B b-adam"]
        start = lines.index("settings that differ A B")
        table = lines[start + 1 : lines.index("", start)]
        assert table == ["optimizer sgd adam", "λ 0.01 0.1", "schedule 5:lam=3 none"]
        # Both outcomes, from each run's own numbers.
        sa, sb = summary_of(a), summary_of(b)
        assert row(lines, "final test") == (
            f"final test {sa['test_loss']:.4g} {sb['test_loss']:.4g}"
        )
        assert row(lines, "changes") == "changes 5:λ=3 none"
        # Both curves on one chart: A the current run, B behind it, named in the legend.
        chart = screen.query_one(LossChart)
        assert chart.current is screen.runs[0]
        assert list(chart.earlier) == [screen.runs[1]]
        legend = str(screen.query_one("#rv-legend", Static).content)
        assert "A ━━ λ=0.01→3 sgd line" in legend and "B ━━ λ=0.1 adam line" in legend


@sync
async def test_runs_that_differ_only_in_their_seed_say_so(runs: dict[str, Path]) -> None:
    app = make_app(epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, [load_run(runs["scheduled"]), load_run(runs["seed"])])
        lines = text_of(screen)
        assert any(line.startswith("Only the seed differs (0 vs 1)") for line in lines)
        # Side by side at 120 columns: settings on the left, outcome on the right.
        assert any(line.startswith("seed 0 1 status completed completed") for line in lines)


def test_a_killed_run_shows_as_unfinished(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "killed"
    shutil.copytree(runs["scheduled"], folder)
    (folder / "results.json").unlink()
    screen = RunViewScreen([load_run(folder)])
    (shown,) = screen.shown
    assert shown.outcome.status == "unfinished"
    assert "no results.json" in shown.outcome.message
    assert shown.outcome.epochs == EPOCHS  # every epoch it wrote


def test_one_or_two_runs_only(runs: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="one run or two"):
        RunViewScreen([])


def test_comparison_snapshot(snap_compare, runs: dict[str, Path]) -> None:
    saved = [load_run(runs["scheduled"]), load_run(runs["adam"])]

    async def open_view(pilot: Pilot) -> None:
        await opened(pilot, saved)
        await pilot.pause(0.2)

    assert snap_compare(make_app(epochs=5), terminal_size=(100, 30), run_before=open_view)


@sync
async def test_a_folder_name_is_shown_literally(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "[bold]run[red]"
    shutil.copytree(runs["adam"], folder)
    app = make_app(epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, [load_run(folder), load_run(runs["scheduled"])])
        assert text_of(screen)[0] == "A [bold]run[red]"
