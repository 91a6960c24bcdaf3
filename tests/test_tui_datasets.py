"""The explorer loads each dataset once, off the UI thread.

Review finding: every r, n and sweep start reloaded the data on the UI thread (3.4 s frozen
per restart with a 50 MB CSV).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.data
import engine.sweep.runner
import engine.trainer
from engine.config import RunConfig
from engine.data import Dataset
from support.tui import LONG, SIZE, keys, open_sweep_view, running, sync, wait_for
from tui.app import WeightDecayApp


def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Patch load_dataset wherever it is looked up; returns the thread of each call."""
    real: Callable[[RunConfig], Dataset] = engine.data.load_dataset
    threads: list[threading.Thread] = []

    def counting(config: RunConfig) -> Dataset:
        threads.append(threading.current_thread())
        return real(config)

    for module in (engine.data, engine.trainer, engine.sweep.runner):
        monkeypatch.setattr(module, "load_dataset", counting)
    return threads


def csv_config(tmp_path: Path) -> RunConfig:
    csv = tmp_path / "houses.csv"
    rows = "\n".join(f"{x},{x % 7},{3 * x - (x % 7)}" for x in range(40))
    csv.write_text(f"area,rooms,price\n{rows}\n")
    return RunConfig(data=str(csv), target="price", epochs=LONG, save=False)


@pytest.mark.parametrize("source", ["preset", "csv"])
@sync
async def test_restarts_new_runs_and_sweeps_reuse_the_data_loaded_off_the_ui_thread(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = count_loads(monkeypatch)
    if source == "csv":
        config = csv_config(tmp_path)
    else:
        config = RunConfig(preset="highdim", epochs=LONG, save=False)
    app = WeightDecayApp(config)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        ui_thread = threading.current_thread()  # run_test runs the app on this loop
        await running(pilot)
        for key in ("r", "r", "r", "n"):
            run = live.current
            await keys(pilot, key)
            await wait_for(pilot, lambda run=run: live.current is not run, f"the run {key}")
            await running(pilot, min_epoch=1)
        assert len(live.earlier) == 1  # n kept the run before it

        screen = await open_sweep_view(pilot, app)
        await keys(pilot, "enter")
        await wait_for(pilot, lambda: screen.running, "the sweep to run")
        assert screen.sweep is not None and screen.sweep.dataset is live.trainer.dataset

        assert len(loads) == 1, [t.name for t in loads]
        assert loads[0] is not ui_thread and loads[0].name == "wdtui-load-engine"
