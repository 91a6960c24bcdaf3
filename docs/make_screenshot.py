"""Regenerate the README's pictures: docs/screenshot.svg, the d2l demo (λ = 0 overfitting
`highdim`, then λ = 3); docs/sweep.svg, the sweep view after the default grid on `highdim`; and
docs/grokking.svg, the grokking preset's accuracy on a log epoch axis.

Run: .venv/bin/python docs/make_screenshot.py
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.pilot import Pilot

from engine.config import RunConfig
from tui.app import WeightDecayApp
from tui.screens.sweep_screen import SweepScreen

OUT = Path(__file__).with_name("screenshot.svg")
SWEEP_OUT = Path(__file__).with_name("sweep.svg")
GROKKING_OUT = Path(__file__).with_name("grokking.svg")


async def settle(app: WeightDecayApp, pilot: Pilot[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not app.explorer.settled():
        assert time.monotonic() < deadline, "the run did not finish"
        await pilot.pause(0.05)
    await pilot.pause(0.2)


async def main() -> None:
    app = WeightDecayApp(RunConfig(preset="highdim", epochs=200, seed=0, save=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("l", "end", "backspace", "3", "enter", "n")
        await settle(app, pilot)
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
        print(f"wrote {OUT}")
        await pilot.press("w", "enter")
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        deadline = time.monotonic() + 60
        while not sweep.settled():
            assert time.monotonic() < deadline, "the sweep did not finish"
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        app.save_screenshot(filename=SWEEP_OUT.name, path=str(SWEEP_OUT.parent))
        print(f"wrote {SWEEP_OUT}")
    await grokking()


async def grokking() -> None:
    """Memorised by epoch 40, understood around epoch 1,000: accuracy (v) on a log axis (x)."""
    app = WeightDecayApp(RunConfig(preset="grokking", epochs=2000, seed=0, save=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot, timeout=180)
        await pilot.press("v", "x")
        await pilot.pause(0.5)
        app.save_screenshot(filename=GROKKING_OUT.name, path=str(GROKKING_OUT.parent))
        print(f"wrote {GROKKING_OUT}")


if __name__ == "__main__":
    asyncio.run(main())
