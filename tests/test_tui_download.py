"""D, the download key (tui/download.py), through the Pilot.

In a browser (`BrowserApp`: `is_web`, deliveries recorded) D sends metrics.csv, config.json and
weights.pt, named after the run's folder; the bytes are checked against the run folder and an
independent run of the same seed. In a terminal D names the folder and sends nothing.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import torch

from engine.config import RunConfig
from engine.events import Finished, WeightsSnapshot
from engine.store import load_run
from engine.trainer import Trainer
from support.engine import run_to_end
from support.tui import notices, running, send, settle, sync, wait_for
from support.web import BrowserApp, Delivered, browser_app
from tui.app import WeightDecayApp
from tui.download import RUN_FILES, cut_metrics, snapshot_note
from tui.screens.run_view import RunViewScreen


def names(folder: Path) -> list[str]:
    return [f"{folder.name}/{file}" for file in RUN_FILES]


def unzipped(delivered: list[Delivered]) -> dict[str, bytes]:
    """Every file in the zips delivered (one per D: a browser's pop-up blocker lets only the
    first of several deliveries through), by its path in the zip, in order."""
    files = {}
    for delivery in delivered:
        assert delivery.mime_type == "application/zip" and delivery.filename.endswith(".zip")
        assert delivery.open_method == "download"
        with zipfile.ZipFile(io.BytesIO(delivery.data)) as zipped:
            files.update({name: zipped.read(name) for name in zipped.namelist()})
    return files


def by_file(delivered: list[Delivered], folder: Path) -> dict[str, bytes]:
    """The delivered files of one run, by their name in the run folder."""
    prefix = f"{folder.name}/"
    files = unzipped(delivered)
    return {name[len(prefix) :]: data for name, data in files.items() if name.startswith(prefix)}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def tensors(data: bytes) -> dict[str, torch.Tensor]:
    loaded = torch.load(io.BytesIO(data), weights_only=True)
    assert isinstance(loaded, dict)
    return loaded


def assert_same_tensors(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(want)
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name


def run_folder(app: WeightDecayApp) -> Path:
    trainer = app.explorer.live.trainer
    assert trainer is not None and trainer.run_dir is not None
    return trainer.run_dir


@sync
async def test_in_a_browser_d_on_a_paused_run_sends_its_files_as_they_are_now(tmp_path) -> None:
    """Paused, then D, then stopped with no step between: the weights.pt sent is the one the
    stop then saves, and metrics.csv holds every epoch so far."""
    app = browser_app(save=True, runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot, min_epoch=20)
        live = app.explorer.live
        run, trainer = live.current, live.trainer
        assert run is not None and trainer is not None
        send(app, "space")
        await wait_for(pilot, lambda: run.status == "paused", "the pause")
        epoch = run.epoch
        send(app, "D")
        await wait_for(pilot, lambda: len(app.delivered) == 1, "the zip")
        folder = run_folder(app)
        assert app.delivered[0].filename == f"{folder.name}.zip"
        assert list(unzipped(app.delivered)) == names(folder)
        note = f"downloading {folder.name}.zip: metrics.csv (epochs 1–{epoch:,}), config.json, "
        assert note + f"weights.pt (after epoch {epoch:,})" in notices(app)
        send(app, "s")
        await wait_for(pilot, lambda: trainer.join(0), "the run to stop and save")
    sent = by_file(app.delivered, folder)
    rows = csv_rows(sent["metrics.csv"])
    assert [int(row["epoch"]) for row in rows] == list(range(1, epoch + 1))
    saved_rows = (folder / "metrics.csv").read_bytes().splitlines(keepends=True)
    assert sent["metrics.csv"] == b"".join(saved_rows[: epoch + 1])  # the header and N rows
    assert json.loads(sent["config.json"]) == json.loads((folder / "config.json").read_text())
    results = json.loads((folder / "results.json").read_text())
    assert (results["status"], results["epochs"]) == ("stopped", epoch)
    final = torch.load(folder / "weights.pt", weights_only=True)
    assert_same_tensors(tensors(sent["weights.pt"]), final)


@sync
async def test_in_a_browser_d_while_training_sends_the_weights_of_the_last_epoch_sent(
    tmp_path,
) -> None:
    """At full speed metrics.csv on disk lags by up to a second: the one sent holds every
    epoch up to the weights', and the weights equal a run of the same seed trained for
    exactly those epochs."""
    app = browser_app(save=True, runs_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot, min_epoch=50)
        send(app, "D")
        await wait_for(pilot, lambda: len(app.delivered) == 1, "the zip")
        assert app.explorer.live.active  # it trained on
        folder = run_folder(app)
    sent = by_file(app.delivered, folder)
    epochs = [int(row["epoch"]) for row in csv_rows(sent["metrics.csv"])]
    last = epochs[-1]
    assert last >= 50 and epochs == list(range(1, last + 1))
    reference, _ = run_to_end(preset="line", epochs=last)
    assert_same_tensors(tensors(sent["weights.pt"]), dict(reference.model.state_dict()))
    assert json.loads(sent["config.json"])["epochs"] == 10**6


@sync
async def test_in_a_browser_a_finished_run_sends_its_files_from_its_folder(tmp_path) -> None:
    app = browser_app(save=True, runs_dir=str(tmp_path), epochs=30)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        send(app, "D")
        await wait_for(pilot, lambda: len(app.delivered) == 1, "the zip")
        folder = run_folder(app)
        note = f"downloading {folder.name}.zip: {folder.name}: metrics.csv, config.json, weights.pt"
        assert note in notices(app)
    assert list(unzipped(app.delivered)) == names(folder)
    for file, data in by_file(app.delivered, folder).items():
        assert data == (folder / file).read_bytes(), file


class TerminalApp(BrowserApp):
    """A terminal: not the web, deliveries still recorded (there must be none)."""

    @property
    def is_web(self) -> bool:
        return False


@sync
async def test_in_a_terminal_d_names_the_folder_literally_and_sends_nothing(tmp_path) -> None:
    runs = tmp_path / "runs [bold]x[/bold]"  # looks like markup: must show as it is
    app = TerminalApp(RunConfig(preset="line", epochs=10**6, runs_dir=str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        send(app, "D")
        folder = run_folder(app)
        note = (
            f"the run's files are in {folder.absolute()}: metrics.csv, config.json "
            "(weights.pt when the run ends)"
        )
        await wait_for(pilot, lambda: note in notices(app), "the folder's note")
        assert "[bold]" in str(folder)
        (shown,) = [n for n in app._notifications if n.message == note]
        assert not shown.markup
        send(app, "s")
        trainer = app.explorer.live.trainer
        assert trainer is not None
        await wait_for(pilot, lambda: trainer.join(0), "the run to stop and save")
        await wait_for(pilot, lambda: not app.explorer.live.active, "the explorer to see it")
        send(app, "D")
        ended = f"the run's files are in {folder.absolute()}: metrics.csv, config.json, weights.pt"
        await wait_for(pilot, lambda: ended in notices(app), "the ended run's note")
    assert app.delivered == []


@sync
async def test_d_on_a_run_without_a_folder_says_so_and_sends_nothing() -> None:
    app = browser_app()  # save=False: --no-save
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        send(app, "D")
        note = "this run is not saved (--no-save): it has no files to download"
        await wait_for(pilot, lambda: note in notices(app), "the note")
        await running(pilot, min_epoch=run_epoch(app) + 5)  # the run goes on
    assert app.delivered == []


def run_epoch(app: WeightDecayApp) -> int:
    run = app.explorer.live.current
    assert run is not None
    return run.epoch


def saved_run(folder: Path, **settings: Any) -> Path:
    """A 20-epoch `line` run saved, its folder moved to `folder`."""
    events: list[Any] = []
    config = RunConfig(preset="line", epochs=20, runs_dir=str(folder.parent / "made"), **settings)
    Trainer(config, events.append).run()
    (finished,) = [e for e in events if isinstance(e, Finished)]
    shutil.move(finished.run_dir, folder)
    return folder


@sync
async def test_in_a_browser_d_in_the_run_view_sends_each_compared_runs_files(tmp_path) -> None:
    """Two runs compared: six files, none sharing a name. A run killed before its end has no
    weights.pt: the note says so, and its other files go."""
    a = saved_run(tmp_path / "a-lam0.1", lam=0.1)
    b = saved_run(tmp_path / "b-lam1", lam=1.0)
    app = browser_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await running(pilot)
        screen = RunViewScreen([load_run(a), load_run(b)])
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted, "the view")
        send(app, "D")
        await wait_for(pilot, lambda: len(app.delivered) == 1, "one zip of both runs")
        assert app.delivered[0].filename == f"{a.name}+{b.name}.zip"
        assert list(unzipped(app.delivered)) == names(a) + names(b)
        for folder in (a, b):
            for file, data in by_file(app.delivered, folder).items():
                assert data == (folder / file).read_bytes(), file
        (b / "weights.pt").unlink()
        app.delivered.clear()
        send(app, "D")
        await wait_for(pilot, lambda: len(app.delivered) == 1, "the zip")
        assert len(unzipped(app.delivered)) == 5
        note = (
            f"downloading {a.name}+{b.name}.zip: {a.name}: metrics.csv, config.json, "
            f"weights.pt; {b.name}: metrics.csv, config.json (it has no weights.pt)"
        )
        assert note in notices(app)


@sync
async def test_in_a_terminal_d_in_the_run_view_names_the_folder(tmp_path) -> None:
    a = saved_run(tmp_path / "a-lam0.1", lam=0.1)
    (a / "weights.pt").unlink()  # as a run killed before its end
    app = TerminalApp(RunConfig(preset="line", epochs=10**6, save=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot)
        screen = RunViewScreen([load_run(a)])
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted, "the view")
        send(app, "D")
        note = f"the run's files are in {a.absolute()}: metrics.csv, config.json (no weights.pt)"
        await wait_for(pilot, lambda: note in notices(app), "the folder's note")
    assert app.delivered == []


def test_the_note_says_where_in_the_run_the_weights_were_taken() -> None:
    folder = Path("runs/20261129-010203-highdim")

    def note(epoch: int, step: int) -> str:
        return snapshot_note(folder, WeightsSnapshot(epoch, step, {}), steps_per_epoch=4)

    start = "downloading 20261129-010203-highdim.zip: metrics.csv"
    assert note(1234, 4936) == (
        f"{start} (epochs 1–1,234), config.json, weights.pt (after epoch 1,234)"
    )
    assert note(3, 14).endswith("weights.pt (after epoch 3 and 2 steps of epoch 4)")
    assert note(0, 0) == f"{start} (no epoch yet), config.json, weights.pt (before the first step)"
    assert note(0, 3).endswith("weights.pt (after 3 steps of epoch 1)")


def test_metrics_are_cut_at_the_snapshot_and_a_half_written_row_is_left_out() -> None:
    header = b"epoch,train_loss\n"
    rows = b"1,0.5\n2,0.25\n3,0.125\n"
    # The flush thread may be writing row 15 as the file is read: "15,0.0" arrived as "1".
    assert cut_metrics(header + rows + b"1", 3) == header + rows
    assert cut_metrics(header + rows, 2) == header + b"1,0.5\n2,0.25\n"
    assert cut_metrics(header + rows, 0) == header
