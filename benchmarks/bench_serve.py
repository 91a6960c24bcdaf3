"""What a `wdtui serve` session costs: how long a tab waits for its explorer, and the memory
each explorer process holds (what `--max-sessions` protects).

    .venv/bin/python benchmarks/bench_serve.py              # 1, 2 and 4 tabs at once
    .venv/bin/python benchmarks/bench_serve.py --tabs 1,8

For each count of tabs, side by side in one run: a server on a free loopback port, that many
websockets opened at once (as browser tabs open them), and per tab the time to the explorer's
first bytes (Python and Textual up), the time until its run's folder says `running` (torch
imported, the data loaded, training), and the explorer's resident memory once training; then
Ctrl+C, timed until the server has exited with every run saved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WDTUI = [sys.executable, "-m", "tui.cli"]
TOKEN = "benchmark-token-0123456789"


def running_runs(runs: Path) -> int:
    count = 0
    for summary in runs.glob("*/summary.json"):
        try:
            count += json.loads(summary.read_text()).get("status") == "running"
        except (OSError, ValueError):
            continue
    return count


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


async def scenario(
    url: str, tabs: int, runs: Path, server: subprocess.Popen[str]
) -> dict[str, float]:
    start = time.perf_counter()
    async with aiohttp.ClientSession() as client:
        sockets = await asyncio.gather(*(client.ws_connect(url) for _ in range(tabs)))

        async def first_bytes(socket: aiohttp.ClientWebSocketResponse[bool]) -> float:
            while (await socket.receive(timeout=300)).type != aiohttp.WSMsgType.BINARY:
                pass
            return time.perf_counter() - start

        firsts = await asyncio.gather(*(first_bytes(s) for s in sockets))
        # Keep reading, as a browser does, so that nothing backs up.
        drains = [asyncio.create_task(_drain(s)) for s in sockets]
        while running_runs(runs) < tabs:
            await asyncio.sleep(0.05)
        training = time.perf_counter() - start
        memory = [resident_mib(pid) for pid in children_of(server.pid)]
        stop = time.perf_counter()
        server.send_signal(signal.SIGINT)  # Ctrl+C with every tab open
        await asyncio.to_thread(server.wait, 300)
        ctrl_c = time.perf_counter() - stop
        await asyncio.gather(*drains)
    statuses = [json.loads(p.read_text())["status"] for p in runs.glob("*/summary.json")]
    return {
        "first_bytes_s": statistics.median(firsts),
        "all_training_s": training,
        "rss_mib": statistics.median(memory),
        "ctrl_c_s": ctrl_c,
        "saved_stopped": statuses.count("stopped"),
    }


async def _drain(socket: aiohttp.ClientWebSocketResponse[bool]) -> None:
    while (await socket.receive()).type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
        pass


def measure(tabs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        server = subprocess.Popen(
            [*WDTUI, "serve", "--port", "0", "--token", TOKEN, "--max-sessions", str(tabs),
             "--runs-dir", str(runs)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        socket_url = url.split("?")[0].replace("http", "ws", 1) + f"ws?token={TOKEN}"
        return asyncio.run(scenario(socket_url, tabs, runs, server))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", default="1,2,4", help="counts of tabs, comma-separated")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; explorer: the default (highdim, 10 epochs/s)")
    print(f"{'tabs':>4} {'first bytes':>12} {'all training':>13} {'RSS/explorer':>13} "
          f"{'Ctrl+C':>8} {'saved':>6}")  # fmt: skip
    for tabs in (int(t) for t in args.tabs.split(",")):
        f = measure(tabs)
        print(
            f"{tabs:>4} {f['first_bytes_s']:>11.2f}s {f['all_training_s']:>12.2f}s "
            f"{f['rss_mib']:>10.0f} MiB {f['ctrl_c_s']:>7.2f}s {int(f['saved_stopped']):>4}/{tabs}"
        )


if __name__ == "__main__":
    main()
