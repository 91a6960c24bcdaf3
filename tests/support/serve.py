"""Helpers for the `wdtui serve` tests: a server on a free loopback port, its explorer
processes, and websockets that stand for browser tabs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from support.engine import ROOT, WDTUI, wait_until

TOKEN = "test-token-0123456789abcdef"
# An explorer's first bytes come once Python and Textual have started (torch loads after).
FIRST_BYTES_S = 120


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str  # as printed: http://127.0.0.1:PORT/?token=…
    stderr: list[str]  # read as it comes, so a chatty server never blocks on a full pipe
    reader: threading.Thread

    @property
    def base(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def socket_url(self) -> str:
        return self.base.replace("http://", "ws://", 1) + "ws"

    def explorers(self) -> list[int]:
        """The server's child processes: one explorer per open tab."""
        return children_of(self.process.pid)

    def wait(self, timeout: float = 120) -> tuple[int, str]:
        """Until the server has exited: (exit code, all it wrote on stderr)."""
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        return code, "".join(self.stderr)

    def interrupt(self, timeout: float = 120) -> tuple[int, str]:
        """Ctrl+C, as a terminal sends it (unless it has exited): (exit code, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.wait(timeout)


@contextlib.contextmanager
def served(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`wdtui serve --port 0 ARGS` until the block ends (then Ctrl+C, and wait)."""
    process = subprocess.Popen(
        [*WDTUI, "serve", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None and process.stderr is not None
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr or ()), daemon=True)
    reader.start()
    url = process.stdout.readline().strip()
    server = Served(process, url, stderr, reader)
    if not url.startswith("http://"):
        process.kill()
        raise AssertionError(f"wdtui serve printed no URL: {url!r}, stderr: {server.wait()[1]!r}")
    try:
        yield server
    finally:
        if process.poll() is None:
            try:
                server.interrupt()
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the parent pid follows it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def first_bytes(socket: aiohttp.ClientWebSocketResponse[bool]) -> bytes:
    """The explorer's first drawing: its process is up and talking."""
    while True:
        message = await socket.receive(timeout=FIRST_BYTES_S)
        if message.type == aiohttp.WSMsgType.BINARY:
            return bytes(message.data)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise AssertionError("the session closed before the explorer drew anything")


async def training_tab(
    client: aiohttp.ClientSession, server: Served, runs: Path
) -> aiohttp.ClientWebSocketResponse[bool]:
    """A tab opened with the token, once its explorer draws and its run trains (the only run
    in `runs`)."""
    tab = await client.ws_connect(server.socket_url + f"?token={TOKEN}")
    await first_bytes(tab)
    await asyncio.to_thread(wait_for_runs, runs, 1, "running")
    return tab


async def closing(socket: aiohttp.ClientWebSocketResponse[bool]) -> aiohttp.WSMsgType:
    """Read what the explorer still draws until the session closes: how it closed."""
    while True:
        message = await socket.receive(timeout=FIRST_BYTES_S)
        if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
            return message.type


def saved_statuses(runs_dir: Path) -> list[str]:
    """Each run folder's status, as summary.json has it (absent: '')."""
    statuses = []
    for folder in sorted(runs_dir.iterdir()) if runs_dir.exists() else []:
        summary = folder / "summary.json"
        try:
            statuses.append(json.loads(summary.read_text()).get("status", ""))
        except (OSError, ValueError):
            statuses.append("")
    return statuses


def wait_for_runs(runs_dir: Path, count: int, status: str | None = None) -> None:
    def ready() -> bool:
        statuses = saved_statuses(runs_dir)
        return len(statuses) >= count and (status is None or statuses.count(status) >= count)

    wait_until(ready, 180, f"{count} run folder(s)" + (f" {status}" if status else ""))
