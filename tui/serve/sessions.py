"""One browser tab's explorer: a process of its own, talking textual-serve's protocol (Textual's
web driver on its stdin/stdout), and ended so that its run is saved.

Unlike textual-serve's own, the process is started from an argument list (no shell to quote the
explorer's options for) in a session of its own: Ctrl+C on the server reaches the server only,
which then ends each explorer the same way, so every run is stopped once. Its driver
(`driver.py`) quits the explorer if the server vanishes without ending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Sequence

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.serve.driver import DRIVER_PATH

# Ending a session: the explorer is asked to quit (it stops its run and saves it, which waits
# for the optimizer step in flight); one that has not ended by then gets SIGTERM, then SIGKILL.
QUIT_GRACE_S = 30.0
TERM_GRACE_S = 10.0


def explorer_command(explorer_args: Sequence[str]) -> list[str]:
    """The explorer as `wdtui` starts it, with this interpreter (the server's environment)."""
    return [sys.executable, "-m", "tui.cli", *explorer_args]


class ExplorerSession(AppService):
    """An explorer process for one websocket. `end()` may come before `open()` (the server
    stopping while the tab connects): the process is then never started."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[object]],
        download_manager: DownloadManager,
    ) -> None:
        super().__init__(
            shlex.join(argv),
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,  # type: ignore[arg-type]  # aiohttp's close returns a bool
            download_manager=download_manager,
        )
        self.argv = list(argv)
        self._ending: asyncio.Task[None] | None = None

    async def open(self, width: int, height: int) -> bool:
        """Start the explorer at this size; False if the session is already ending."""
        if self._ending is not None:
            return False
        await self.start(width, height)
        if self._ending is not None:  # the server began stopping while the process started
            self._ending = None
            await self.end()
            return False
        return True

    async def output_ended(self) -> None:
        """Until the explorer's output has ended: it quit, or it died."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = DRIVER_PATH
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def on_data(self, payload: bytes) -> None:
        # Once the tab has gone, what the explorer still draws while it saves is dropped, but
        # still read: a full pipe would block the explorer before it could end.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await super().on_data(payload)

    async def end(self) -> None:
        """Ask the explorer to quit and wait until it has (its run saved), then signals. The
        tab closing and the server stopping may both ask: it ends once."""
        if self._ending is None:
            self._ending = asyncio.ensure_future(self._end())
        await asyncio.shield(self._ending)

    async def _end(self) -> None:
        process = self._process
        if process is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
        for sig, grace in ((None, QUIT_GRACE_S), (signal.SIGTERM, TERM_GRACE_S)):
            if sig is not None:
                _signal(process, sig)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
                break
        else:
            _signal(process, signal.SIGKILL)
            await process.wait()
        if self._task is not None:
            await self._task  # the output read to its end
            self._task = None


def _signal(process: Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just ended
        process.send_signal(sig)
