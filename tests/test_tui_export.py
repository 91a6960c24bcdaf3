"""Export of what the chart shows (issue 12, chart tools): `e` saves an SVG of the screen and a
CSV of the drawn runs' numbers side by side in the runs folder; the CSV reads back as each
run's own metrics.csv."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from textual.command import CommandInput, CommandList, CommandPalette
from textual.pilot import Pilot

from engine.config import RunConfig
from engine.events import Epoch
from support.tui import keys, live_of, make_app, running, send, settle, sync, wait_for
from tui.app import WeightDecayApp
from tui.export import CSV_COLUMNS, RunTable, lam_lr_per_epoch, write_csv
from tui.screenshot import save_screenshot
from tui.state.run_state import RunState

EXPORTED = re.compile(r"chart exported to (.+)/: (wdtui-[\d-]+)\.svg and (wdtui-[\d-]+)\.csv$")
# The numbers both files hold, by their names in the export.
SHARED = (
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    "weight_sq_norm",
    "lam",
    "lr",
)


def test_lam_and_lr_per_epoch_from_their_change_points() -> None:
    lams, lrs = lam_lr_per_epoch([(1, 0.0, 0.1), (4, 0.5, 0.1), (6, 0.5, 0.05)], 7)
    assert lams.tolist() == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]
    assert lrs.tolist() == [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]
    lams, _ = lam_lr_per_epoch([], 2)
    assert np.isnan(lams).all()


def test_a_name_whose_csv_exists_is_not_taken(tmp_path: Path) -> None:
    (tmp_path / "wdtui-20260101-120000.csv").write_text("kept")
    saved = save_screenshot("<svg/>", tmp_path, "wdtui-20260101-120000.svg", (".csv",))
    assert saved.name == "wdtui-20260101-120000-2.svg"
    assert (tmp_path / "wdtui-20260101-120000.csv").read_text() == "kept"


def test_a_csv_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    blocked = tmp_path / "wdtui.csv"
    blocked.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        write_csv([], blocked)
    assert [p.name for p in tmp_path.iterdir()] == ["wdtui.csv"]


def notes(app: WeightDecayApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


def exported(app: WeightDecayApp) -> tuple[Path, Path] | None:
    """The SVG and CSV the note names, once it has come."""
    for note in notes(app):
        found = EXPORTED.match(note)
        if found:
            folder = Path(found.group(1))
            return folder / f"{found.group(2)}.svg", folder / f"{found.group(3)}.csv"
    return None


async def export(pilot: Pilot, app: WeightDecayApp) -> tuple[Path, Path]:
    await keys(pilot, "e")
    await wait_for(pilot, lambda: exported(app) is not None, "the exported note")
    files = exported(app)
    assert files is not None
    return files


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def check_against_metrics(rows: list[dict[str, str]], run: RunState) -> None:
    """The run's rows are its metrics.csv, cell for cell (repr both ways: the same floats)."""
    assert run.run_dir is not None
    metrics = read_csv(Path(run.run_dir) / "metrics.csv")
    label = f"{run.label} {run.config.source_name}"
    mine = [row for row in rows if row["run_dir"] == run.run_dir]
    assert len(mine) == len(metrics) == run.epochs_seen > 0
    for row, saved in zip(mine, metrics, strict=True):
        assert row["run"] == label and row["epoch"] == saved["epoch"]
        for name in SHARED:
            assert row[name] == saved[name], (name, row["epoch"])


async def finished(pilot: Pilot, run: RunState) -> None:
    """The run has ended and its folder is complete."""
    await wait_for(
        pilot,
        lambda: (
            not run.active
            and run.run_dir is not None
            and (Path(run.run_dir) / "results.json").exists()
        ),
        "the run to end and be saved",
    )


@sync
async def test_e_writes_the_picture_and_every_drawn_runs_numbers(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    app = make_app(preset="highdim", save=True, runs_dir=str(runs_dir), seed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        live = live_of(pilot)
        await running(pilot, min_epoch=20)
        first = live.current
        assert first is not None
        await keys(pilot, "plus")  # λ changes during the run: its rows say when
        await wait_for(pilot, lambda: first.lam > 0, "λ applied")
        await wait_for(pilot, lambda: len(first.lam_lr_changes) == 2, "an epoch at the new λ")
        await keys(pilot, "s")
        await finished(pilot, first)
        await keys(pilot, "n")
        await wait_for(pilot, lambda: live.current is not first, "the second run")
        await running(pilot, min_epoch=10)
        second = live.current
        assert second is not None
        await keys(pilot, "s")
        await finished(pilot, second)
        await settle(pilot)
        svg, table = await export(pilot, app)
        assert app.is_running

    assert svg.parent == table.parent == runs_dir.resolve() and svg.stem == table.stem
    assert svg.read_text().startswith("<svg")
    assert table.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = read_csv(table)
    assert [row["run_dir"] for row in rows] == [first.run_dir] * first.epochs_seen + [
        second.run_dir
    ] * second.epochs_seen  # the earlier run first, as drawn
    check_against_metrics(rows, first)
    check_against_metrics(rows, second)
    lams = {row["lam"] for row in rows if row["run_dir"] == first.run_dir}
    assert lams == {"0.0", "0.0001"}
    assert all(row["train_accuracy"] == "" for row in rows)  # a regression has none


@sync
async def test_a_classifiers_accuracies_are_exported(tmp_path: Path) -> None:
    app = make_app(preset="cancer", epochs=40, save=True, runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        run = live_of(pilot).current
        assert run is not None
        await finished(pilot, run)
        _, table = await export(pilot, app)
    rows = read_csv(table)
    check_against_metrics(rows, run)
    assert all(row["train_accuracy"] and row["test_accuracy"] for row in rows)


@sync
async def test_the_palette_offers_export(tmp_path: Path) -> None:
    app = make_app(runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        send(app, "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.focused, CommandInput), "the palette")
        send(app, *"export")

        def first_hit() -> str:
            screen = app.screen
            if not isinstance(screen, CommandPalette):
                return ""
            commands = screen.query_one(CommandList)
            return str(commands.get_option_at_index(0).hit.text) if commands.option_count else ""

        await wait_for(pilot, lambda: first_hit() == "Export (e)", "Export first")
        send(app, "enter")
        await wait_for(pilot, lambda: exported(app) is not None, "the exported note")
        svg, table = exported(app) or (Path(), Path())
        assert svg.exists() and table.exists() and svg.parent == tmp_path.resolve()
        # An unsaved run (the default in tests) has no folder: its run_dir cells are empty.
        assert {row["run_dir"] for row in read_csv(table)} == {""}


@sync
async def test_no_writable_folder_is_one_red_line_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the runs folder should be")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # the current folder is gone too
    app = make_app(runs_dir=str(blocker / "runs"))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        await keys(pilot, "e")
        await wait_for(
            pilot,
            lambda: any(n.startswith("chart not exported:") for n in notes(app)),
            "the refusal",
        )
        (note,) = [n for n in notes(app) if n.startswith("chart not exported")]
        assert "\n" not in note and "the runs folder" in note and "current folder" in note
        assert "error" in [n.severity for n in app._notifications]
        run = live_of(pilot).current
        assert run is not None
        epoch = run.epoch
        await wait_for(pilot, lambda: run.epoch > epoch + 5, "training to go on")
        assert app.is_running and app.return_code is None


@sync
async def test_an_unwritable_runs_folder_exports_into_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the runs folder should be")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    app = make_app(runs_dir=str(blocker / "runs"))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        svg, table = await export(pilot, app)
    assert svg.parent == table.parent == here.resolve() and svg.exists() and table.exists()


def test_rows_are_chunked_without_losing_one() -> None:
    """More rows than one chunk: every epoch once, in order."""
    run = RunState(1, RunConfig(preset="line"))
    for epoch in range(1, 25_002):
        run.apply(Epoch(epoch, 1.0 / epoch, None, 0.0, 1.0, 2.0, 0.0, 0.1, 0.0))
    chunk_rows = [row for chunk in RunTable.of(run).rows() for row in chunk]
    assert [int(row[2]) for row in chunk_rows] == list(range(1, 25_002))
    assert chunk_rows[2][3] == repr(1.0 / 3) and chunk_rows[2][4] == ""
