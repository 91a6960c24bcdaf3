"""How the explorer performs under load, side by side in one run.

1. Training speed on `line` (full batch): the engine alone vs the same run with the app
   attached (headless, `App.run_test()`), interleaved so machine load affects both alike.
2. The loss chart's draw time (downsampling + plotext build + ANSI parse) at 1k, 100k and 1M
   epochs of history, with one earlier run overlaid.
3. Key-to-screen latency while a fast run trains: press `y` (log toggle) and `space` (pause),
   and time until the chart / status widget shows the change.

Run: .venv/bin/python benchmarks/bench_tui.py [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import numpy as np
from textual import events

from engine.config import RunConfig
from engine.events import Epoch, Event
from engine.trainer import Trainer
from tui.app import WeightDecayApp, live_trainer_threads
from tui.state.run_state import RunState
from tui.widgets.loss_chart import LossChart
from tui.widgets.plot import render_text
from tui.widgets.status_line import StatusLine

LINE = RunConfig(preset="line", epochs=10**8, save=False)


def engine_alone(seconds: float) -> float:
    """Epochs per second of a bare Trainer whose callback only counts epochs."""
    last: list[Epoch] = []

    def sink(event: Event) -> None:
        if isinstance(event, Epoch):
            last.append(event)
            if len(last) > 2:
                del last[0]

    trainer = Trainer(LINE, sink)
    trainer.start()
    time.sleep(0.5)  # warm up
    e0 = last[-1]
    time.sleep(seconds)
    e1 = last[-1]
    trainer.stop()
    trainer.join(10)
    return (e1.epoch - e0.epoch) / (e1.elapsed_s - e0.elapsed_s)


async def with_app(seconds: float) -> tuple[float, float, float]:
    """(epochs/s, share of one core the UI thread used, chart frames/s), app attached."""
    app = WeightDecayApp(LINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        run = app.explorer.live.current
        assert run is not None
        chart = app.query_one(LossChart)
        e0, t0, cpu0, wall0 = run.epoch, run.elapsed_s, time.thread_time(), time.perf_counter()
        f0 = chart.frames
        await asyncio.sleep(seconds)
        e1, t1, cpu1, wall1 = run.epoch, run.elapsed_s, time.thread_time(), time.perf_counter()
        f1 = chart.frames
    assert not live_trainer_threads()
    wall = wall1 - wall0
    return (e1 - e0) / (t1 - t0), (cpu1 - cpu0) / wall, (f1 - f0) / wall


def chart_draw_ms(history: int, repeats: int = 7) -> tuple[float, float]:
    """Median time to lay out and render the chart at 120×30 with `history` epochs."""
    rng = np.random.default_rng(0)
    epochs = np.arange(1, history + 1)
    current = RunState(1, LINE.resolved())
    current.train.extend(1 / np.sqrt(epochs) + 0.01 * rng.random(history))
    current.test.extend(1.2 / np.sqrt(epochs) + 0.02 * rng.random(history))
    earlier = RunState(0, LINE.resolved())
    earlier.train.extend(2 / np.sqrt(epochs))
    earlier.test.extend(2.5 / np.sqrt(epochs))
    chart = LossChart()
    chart.current, chart.earlier, chart.log_y = current, [earlier], True
    times = []
    for i in range(repeats):
        # A new epoch between frames, as in a live run (the pyramid catches up incrementally).
        current.train.append(0.5)
        current.test.append(0.6)
        started = time.perf_counter()
        render_text(chart, 120, 30)
        times.append(time.perf_counter() - started)
        if i == 0:
            first = times[0]
    return statistics.median(times[1:]) * 1000, first * 1000


def send_key(app: WeightDecayApp, key: str, char: str | None) -> None:
    """Deliver a key the way a terminal driver does (Pilot.press would wait for the CPU to go
    idle, which never happens while training runs)."""
    event = events.Key(key, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def key_latency(presses: int = 10) -> tuple[float, float]:
    """Median ms from a key press until a frame shows it: `y` (chart), space (status line)."""
    app = WeightDecayApp(LINE)
    log_times: list[float] = []
    pause_times: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        chart = app.query_one(LossChart)
        status = app.query_one(StatusLine)
        for _ in range(presses):
            want = not chart.log_y
            started = time.perf_counter()
            send_key(app, "y", "y")
            while chart.painted_log_y != want:
                await asyncio.sleep(0.001)
            log_times.append(chart.painted_at - started)
            await asyncio.sleep(0.1)
        for _ in range(presses):
            want_text = "● running" if "● paused" in status.painted else "● paused"
            started = time.perf_counter()
            send_key(app, "space", " ")
            while want_text not in status.painted:
                await asyncio.sleep(0.001)
            pause_times.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)
    return statistics.median(log_times) * 1000, statistics.median(pause_times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    print(f"1. training speed on `line`, full batch ({args.rounds} interleaved rounds)")
    alone, attached = [], []
    for r in range(args.rounds):
        alone.append(engine_alone(args.seconds))
        speed, ui_share, fps = asyncio.run(with_app(args.seconds))
        attached.append(speed)
        print(
            f"   round {r + 1}: engine alone {alone[-1]:8,.0f} epochs/s   "
            f"with app {speed:8,.0f} epochs/s   ratio {speed / alone[-1]:.2f}   "
            f"(UI thread: {ui_share:.0%} of a core, chart {fps:.1f} frames/s)"
        )
    a, b = statistics.median(alone), statistics.median(attached)
    print(
        f"   median : engine alone {a:8,.0f} epochs/s   with app {b:8,.0f} epochs/s   "
        f"ratio {b / a:.2f}  (goal >= 0.80)"
    )

    print("2. chart draw time, 120×30, current run + 1 earlier run (goal <= 30 ms)")
    for history in (1_000, 100_000, 1_000_000):
        median_ms, first_ms = chart_draw_ms(history)
        print(
            f"   {history:>9,} epochs: {median_ms:6.1f} ms per frame "
            f"(first frame, building the min/max pyramid: {first_ms:6.1f} ms)"
        )

    print("3. key-to-screen latency while `line` trains (goal <= 100 ms)")
    log_ms, pause_ms = asyncio.run(key_latency())
    print(f"   y (log toggle, chart redrawn): {log_ms:6.1f} ms median")
    print(f"   space (pause/resume, status) : {pause_ms:6.1f} ms median")
    assert not [t for t in threading.enumerate() if t.name == "wdtui-trainer" and t.is_alive()]


if __name__ == "__main__":
    main()
