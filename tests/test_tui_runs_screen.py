"""The explorer's runs screen (`o`): the saved runs listed, sorted, filtered, drawn on the live
chart, opened, compared and deleted, through the app's Pilot, on real runs saved in a tmp
folder."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from engine.config import RunConfig
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.tui import make_app, notices, send, settle, shown_text, squash, sync, wait_for
from tui.app import WeightDecayApp
from tui.screens.confirm_screen import ConfirmScreen
from tui.screens.runs_screen import RunsScreen
from tui.screens.sweep_screen import SweepScreen

# The saved folders, under fixed names, started a fixed time apart (newest last here).
RUNS: dict[str, dict[str, object]] = {
    "a-line-lam0.1": {"preset": "line", "lam": 0.1},
    "b-highdim-wd-lam3": {"preset": "highdim", "lam": 3.0, "reg": "wd", "optimizer": "adamw"},
    "c-line-lam0.001": {"preset": "line", "lam": 0.001},
}
SWEEP = "d-sweep-line"
SWEEP_LAMS = [0.0, 0.01, 1.0]
KILLED = "e-line-killed"
FOREIGN = "f-[bold]notes"  # brackets: shown literally, never as markup
START = 1_699_000_000  # 2023-11-03: a past year, so `when` shows the date only, whatever today


def train(runs_dir: Path, **settings: object) -> Path:
    config = RunConfig(epochs=5, runs_dir=str(runs_dir), seed=0, **settings)  # type: ignore[arg-type]
    trainer = Trainer(config, lambda event: None)
    trainer.run()
    assert trainer.run_dir is not None
    return Path(trainer.run_dir)


def dead_pid() -> int:
    """The id of a process that has ended (what a killed run's summary is left with)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs, a sweep, a killed run and a foreign folder, under fixed names and times."""
    scratch = tmp_path_factory.mktemp("made")
    root = tmp_path_factory.mktemp("runs")
    for name, settings in RUNS.items():
        train(scratch, **settings).rename(root / name)
    sweep = Sweep(
        RunConfig(preset="line", epochs=5, runs_dir=str(scratch), seed=0),
        SWEEP_LAMS,
        lambda event: None,
    )
    sweep.run()
    assert sweep.run_dir is not None
    Path(sweep.run_dir).rename(root / SWEEP)
    killed = train(scratch, preset="line", lam=0.1).rename(root / KILLED)
    (killed / "results.json").unlink()  # killed: its last summary says running, its pid is gone
    summary = json.loads((killed / "summary.json").read_text())
    summary.update(status="running", pid=dead_pid())
    (killed / "summary.json").write_text(json.dumps(summary))
    (root / FOREIGN).mkdir()
    (root / FOREIGN / "notes.txt").write_text("not a run")
    for i, name in enumerate([*RUNS, SWEEP, KILLED]):
        os.utime(root / name / "config.json", (START + 60 * i, START + 60 * i))
    return root


@pytest.fixture
def runs_dir(made: Path, tmp_path: Path) -> Path:
    """A fresh copy of the made folder per test (tests delete from it)."""
    copy = tmp_path / "runs"
    shutil.copytree(made, copy)
    for i, name in enumerate([*RUNS, SWEEP, KILLED]):  # copytree keeps mtimes; made sure
        os.utime(copy / name / "config.json", (START + 60 * i, START + 60 * i))
    return copy


async def open_runs(pilot: Pilot, loads: int = 1) -> RunsScreen:
    """Press o, wait for the catalog to be shown; returns the screen."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.explorer.live.current is not None, "the live run")
    send(app, "o")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the runs screen")
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await wait_for(pilot, lambda: screen.loads >= loads, "the runs to be listed")
    return screen


def rows(screen: RunsScreen) -> list[str]:
    """The folder names in the table's order."""
    table = screen.query_one(DataTable)
    return [Path(str(row.key.value)).name for row in table.ordered_rows]


def cell(screen: RunsScreen, name: str, column: str) -> str:
    table = screen.query_one(DataTable)
    return str(table.get_cell(str(screen.runs_dir / name), column))


def headings(screen: RunsScreen) -> list[str]:
    return [str(column.label) for column in screen.query_one(DataTable).ordered_columns]


def told(app: WeightDecayApp, text: str) -> bool:
    """Whether a notification so far said `text`."""
    return any(text in notice for notice in notices(cast("App[object]", app)))


async def focus_filter(pilot: Pilot, screen: RunsScreen) -> None:
    """Press / and wait for the filter to take the keys."""
    send(pilot.app, "/")  # type: ignore[arg-type]
    field = screen.query_one("#runs-filter", Input)
    await wait_for(pilot, lambda: field.has_focus, "the filter to be focused")


async def highlight(pilot: Pilot, screen: RunsScreen, name: str) -> None:
    table = screen.query_one(DataTable)
    table.move_cursor(row=rows(screen).index(name))
    detail = screen.query_one("#runs-detail")
    await wait_for(
        pilot,
        lambda: (
            screen.highlighted_path() == screen.runs_dir / name
            and str(detail.render()).startswith(name)
        ),
        f"{name} highlighted",
    )


@sync
async def test_lists_runs_sweeps_killed_and_foreign_folders_with_their_status(
    runs_dir: Path,
) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        # Newest first: the folders' config.json times, not their names.
        assert rows(screen) == [KILLED, SWEEP, *reversed(RUNS), FOREIGN]
        status = {name: cell(screen, name, "status") for name in rows(screen)}
        assert status == {
            **dict.fromkeys(RUNS, "completed"),
            SWEEP: "completed",
            KILLED: "unfinished",
            FOREIGN: "foreign",
        }
        assert cell(screen, SWEEP, "lam") == "0 … 1 (3)"
        assert cell(screen, "b-highdim-wd-lam3", "mode") == "wd"
        assert cell(screen, KILLED, "when") == "2023-11-03"
        # The final test loss is the run's last metrics row.
        with (runs_dir / "a-line-lam0.1" / "metrics.csv").open() as handle:
            last = list(csv.DictReader(handle))[-1]
        assert cell(screen, "a-line-lam0.1", "test_loss") == f"{float(last['test_loss']):.4g}"
        # The highlighted folder's name and reason, under the table, literally.
        await highlight(pilot, screen, FOREIGN)
        detail = squash(str(screen.query_one("#runs-detail").render()))
        assert squash(f"{FOREIGN} not a wdtui run") in detail
        assert squash("no config.json") in detail
        await highlight(pilot, screen, KILLED)
        assert "itsprocessended" in shown_text(screen, "#runs-detail")
        # A foreign folder cannot be opened: one line says why.
        await highlight(pilot, screen, FOREIGN)
        send(app, "enter")
        await wait_for(pilot, lambda: told(app, "is not a wdtui run"), "the refusal")
        assert isinstance(app.screen, RunsScreen)


@sync
async def test_s_sorts_by_the_next_column_and_S_reverses_it(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        assert headings(screen)[1] == "when ▼"
        send(app, *"sssss")  # when → data → model → optimizer → mode → λ
        await wait_for(pilot, lambda: screen.sort_column == "lam", "the λ column")
        assert headings(screen)[6] == "λ ▲" and headings(screen)[1] == "when"
        # λ ascending; the sweep by its largest λ (1); the foreign folder has none: last.
        lams = {KILLED: 0.1, SWEEP: 1.0, **{n: float(s["lam"]) for n, s in RUNS.items()}}  # type: ignore[arg-type]
        assert [lams[n] for n in rows(screen)[:-1]] == sorted(lams.values())
        assert rows(screen)[-1] == FOREIGN
        send(app, "S")
        await wait_for(pilot, lambda: headings(screen)[6] == "λ ▼", "the reversed heading")
        assert [lams[n] for n in rows(screen)[:-1]] == sorted(lams.values(), reverse=True)
        assert rows(screen)[-1] == FOREIGN


@sync
async def test_a_header_click_sorts_by_its_column(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await open_runs(pilot)
        table = screen.query_one(DataTable)
        # The `data` heading: its column's x offset, on the header row.
        x = sum(column.get_render_width(table) for column in table.ordered_columns[:2]) + 2
        await pilot.click(DataTable, offset=(x, 0))
        await wait_for(pilot, lambda: screen.sort_column == "data", "sorted by data")
        data = [cell(screen, n, "data") for n in rows(screen)[:-1]]
        assert data == sorted(data) and set(data) == {"highdim", "line"}
        await pilot.click(DataTable, offset=(x, 0))  # again: reversed
        await wait_for(pilot, lambda: screen.descending, "reversed")
        assert [cell(screen, n, "data") for n in rows(screen)[:-1]] == sorted(data, reverse=True)


@sync
async def test_slash_filters_the_rows_and_escape_leaves_the_field(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        await focus_filter(pilot, screen)
        send(app, *"mode=wd")
        await wait_for(pilot, lambda: rows(screen) == ["b-highdim-wd-lam3"], "one wd run")
        assert "1 of 6 folders" in str(screen.query_one("#runs-title").render())
        send(app, "escape")
        await wait_for(pilot, lambda: screen.query_one(DataTable).has_focus, "the table")
        assert isinstance(app.screen, RunsScreen) and rows(screen) == ["b-highdim-wd-lam3"]
        await focus_filter(pilot, screen)
        # Editing keys run as actions, after characters already queued: clear, then type.
        send(app, "backspace")
        await wait_for(pilot, lambda: len(rows(screen)) == 6, "every folder again")
        send(app, *"data=line")  # `line` alone is in every `linear` too
        await wait_for(pilot, lambda: len(rows(screen)) == 4, "the line folders")
        assert set(rows(screen)) == {"a-line-lam0.1", "c-line-lam0.001", SWEEP, KILLED}


@sync
async def test_a_draws_the_saved_run_on_the_live_chart_with_a_saved_label(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runs(pilot)
        name = "a-line-lam0.1"
        await highlight(pilot, screen, name)
        send(app, "a")
        live = app.explorer.live
        await wait_for(pilot, lambda: len(live.earlier) == 1, "the saved run on the chart")
        (saved,) = live.earlier
        assert saved.saved and saved.label == "saved λ=0.1 sgd"
        assert Path(str(saved.run_dir)) == runs_dir / name
        # Its curve is the folder's: every epoch, the last test loss as metrics.csv has it.
        with (runs_dir / name / "metrics.csv").open() as handle:
            metrics = list(csv.DictReader(handle))
        assert saved.epochs_seen == len(metrics) == 5
        assert saved.last is not None
        assert saved.last.test_loss == pytest.approx(float(metrics[-1]["test_loss"]), rel=1e-6)
        assert saved.run_id not in {live.current.run_id if live.current else None}
        await wait_for(pilot, lambda: told(app, "saved λ=0.1 sgd"), "the note")
        send(app, "a")  # again: already there, not twice
        await wait_for(pilot, lambda: told(app, "already on the chart"), "refused")
        send(app, "escape")
        await wait_for(pilot, lambda: app.screen is app.explorer, "the explorer")
        await wait_for(
            pilot,
            lambda: "savedλ=0.1sgd" in shown_text(app.explorer, "#legend"),
            "the legend to name the saved run",
        )
        assert len(live.earlier) == 1


@sync
async def test_a_on_a_sweep_or_foreign_folder_says_why_not(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        await highlight(pilot, screen, SWEEP)
        send(app, "a")
        await wait_for(pilot, lambda: told(app, "is a sweep"), "sweep")
        await highlight(pilot, screen, FOREIGN)
        send(app, "a")
        await wait_for(pilot, lambda: told(app, "is not a wdtui run"), "foreign")
        assert app.explorer.live.earlier == []


@sync
async def test_enter_on_a_sweep_opens_it_in_the_sweep_view(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runs(pilot)
        await highlight(pilot, screen, SWEEP)
        send(app, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
        sweep = app.screen
        assert isinstance(sweep, SweepScreen) and sweep.state is not None
        assert sweep.state.lams == tuple(SWEEP_LAMS)
        assert sweep.state.epoch == 5 and sweep.state.status == "completed"
        send(app, "escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on the runs screen")
        await wait_for(pilot, lambda: screen.loads >= 2, "listed again on return")


@sync
async def test_enter_on_a_run_and_c_on_two_marked_runs_open_the_run_view(runs_dir: Path) -> None:
    from tui.screens.run_view import RunViewScreen

    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_runs(pilot)
        await highlight(pilot, screen, "a-line-lam0.1")
        send(app, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunViewScreen), "the run view")
        send(app, "escape")
        await wait_for(pilot, lambda: app.screen is screen, "back")
        send(app, "c")  # nothing marked
        await wait_for(pilot, lambda: told(app, "0 marked"), "the hint")
        await highlight(pilot, screen, "a-line-lam0.1")
        send(app, "space")
        await wait_for(pilot, lambda: len(screen.marked) == 1, "one marked")
        await highlight(pilot, screen, "c-line-lam0.001")
        send(app, "space")
        await wait_for(pilot, lambda: len(screen.marked) == 2, "two marked")
        assert cell(screen, "a-line-lam0.1", "mark") == "●"
        assert "2 marked" in str(screen.query_one("#runs-title").render())
        send(app, "c")
        await wait_for(pilot, lambda: isinstance(app.screen, RunViewScreen), "the comparison")


@sync
async def test_d_then_n_keeps_the_folder_and_d_then_y_deletes_it(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        await highlight(pilot, screen, FOREIGN)
        send(app, "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = str(app.screen.query_one("#confirm-question").render())
        assert FOREIGN in question and "not a wdtui run" in question
        send(app, "n")
        await wait_for(pilot, lambda: app.screen is screen, "the runs screen")
        assert (runs_dir / FOREIGN).is_dir() and FOREIGN in rows(screen)
        await highlight(pilot, screen, "b-highdim-wd-lam3")
        send(app, "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        send(app, "y")
        await wait_for(pilot, lambda: "b-highdim-wd-lam3" not in rows(screen), "the row gone")
        assert not (runs_dir / "b-highdim-wd-lam3").exists()
        assert len(rows(screen)) == 5 and (runs_dir / FOREIGN).is_dir()


@sync
async def test_d_refuses_to_delete_the_folder_of_the_run_training_now(tmp_path: Path) -> None:
    app = make_app(runs_dir=str(tmp_path), save=True)
    async with app.run_test(size=(120, 30)) as pilot:
        live = app.explorer.live
        await wait_for(
            pilot, lambda: live.current is not None and live.current.run_dir is not None, "dir"
        )
        assert live.current is not None and live.current.run_dir is not None
        folder = Path(live.current.run_dir)
        screen = await open_runs(pilot)
        assert rows(screen) == [folder.name]
        assert cell(screen, folder.name, "status") == "running"
        send(app, "d")
        await wait_for(pilot, lambda: told(app, "the run training now"), "refusal")
        assert isinstance(app.screen, RunsScreen) and folder.is_dir()


def test_runs_screen_at_80x24(snap_compare, runs_dir: Path) -> None:
    async def open_it(pilot: Pilot) -> None:
        await settle(pilot)
        screen = await open_runs(pilot)
        await highlight(pilot, screen, KILLED)
        send(pilot.app, "space")  # type: ignore[arg-type]
        await wait_for(pilot, lambda: len(screen.marked) == 1, "one marked")
        await pilot.pause(0.1)

    # A fixed folder path: the title shows it.
    fixed = Path("/tmp/wdtui-runs-screen-snapshot")
    shutil.rmtree(fixed, ignore_errors=True)
    shutil.copytree(runs_dir, fixed)
    for i, name in enumerate([*RUNS, SWEEP, KILLED]):
        os.utime(fixed / name / "config.json", (START + 60 * i, START + 60 * i))
    app = WeightDecayApp(
        RunConfig(preset="line", epochs=20, seed=0, save=False, runs_dir=str(fixed))
    )
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_it)
    finally:
        shutil.rmtree(fixed, ignore_errors=True)


@sync
async def test_a_delete_that_cannot_happen_leaves_the_run_whole(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: Path, target: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(self))

    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        folder = runs_dir / "b-highdim-wd-lam3"
        files = sorted(p.name for p in folder.iterdir())
        await highlight(pilot, screen, folder.name)
        monkeypatch.setattr(Path, "rename", refused)  # a read-only runs folder, say
        send(app, "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        send(app, "y")
        await wait_for(pilot, lambda: told(app, "b-highdim-wd-lam3 not deleted: "), "the refusal")
        assert told(app, "Permission denied")
        assert sorted(p.name for p in folder.iterdir()) == files  # nothing removed
        assert folder.name in rows(screen)


@sync
async def test_keys_on_an_empty_filter_say_what_is_shown(runs_dir: Path) -> None:
    app = make_app(runs_dir=str(runs_dir))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_runs(pilot)
        await focus_filter(pilot, screen)
        for key in "zzznothing":
            send(app, key)
        await wait_for(pilot, lambda: rows(screen) == [], "no row")
        send(app, "enter")  # back to the table, the filter kept
        await wait_for(pilot, lambda: not screen.query_one(Input).has_focus, "the table")
        said = "no row: the filter shows none of the 6 folders"
        for count, key in enumerate(("enter", "a", "d"), 1):
            send(app, key)
            await wait_for(
                pilot,
                lambda count=count: (
                    sum(said in n for n in notices(cast("App[object]", app))) == count
                ),
                key,
            )
