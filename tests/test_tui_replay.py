"""A run whose λ a person changed in the explorer, in the middle of an epoch, replays headless
(`wdtui run --config`) with identical weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from support.engine import call_wdtui
from support.tui import SIZE, keys, live_of, make_app, running, sync, wait_for


@sync
async def test_a_live_lam_change_mid_epoch_replays_bit_for_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # digits one row at a time: 1,437 steps an epoch, so a pause lands mid-epoch
    app = make_app(
        preset="digits", batch_size=1, epochs=4, save=True, runs_dir=str(tmp_path / "live")
    )
    async with app.run_test(size=SIZE) as pilot:
        live = live_of(pilot)
        await running(pilot, min_epoch=1)
        trainer = live.trainer
        assert trainer is not None and live.current is not None
        run = live.current
        for _ in range(50):  # until a pause lands inside an epoch (almost always at once)
            await keys(pilot, "space")
            await wait_for(pilot, lambda: run.status == "paused", "the pause")
            if trainer.position[1] % trainer.steps_per_epoch:
                break
            await keys(pilot, "space")
            await wait_for(pilot, lambda: run.status == "running", "the run to resume")
        paused_at = trainer.position
        lam_before = trainer.lam
        await keys(pilot, "plus")
        await wait_for(pilot, lambda: trainer.lam != lam_before, "λ to change while paused")
        await keys(pilot, "space")
        # `completed` comes from the finished event, sent once the files are saved
        await wait_for(pilot, lambda: run.status == "completed", "the run to end", timeout=120)
    run_dir = Path(run.run_dir or "")
    (change,) = json.loads((run_dir / "summary.json").read_text())["changes"]
    assert change == {
        "epoch": paused_at[0],
        "key": "lam",
        "value": trainer.lam,
        "step": paused_at[1],
        "source": "live",
    }
    assert change["step"] % trainer.steps_per_epoch != 0  # inside an epoch

    code, _, err = call_wdtui(
        capsys, "run", "--config", str(run_dir / "config.json"), "--runs-dir", str(tmp_path / "b")
    )
    assert code == 0, err
    (replay,) = (tmp_path / "b").iterdir()
    ours = torch.load(run_dir / "weights.pt", weights_only=True)
    theirs = torch.load(replay / "weights.pt", weights_only=True)
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name
    replayed = json.loads((replay / "summary.json").read_text())
    assert replayed["changes"] == [change]
