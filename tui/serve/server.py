"""The web server: textual-serve's page and scripts, wdtui's access check (`access.py`), an
explorer per tab up to the session limit, downloads, and an ending that leaves nothing running.

textual-serve is used for what it draws and speaks (its page, xterm.js, its app protocol and
download manager); the routes, the relay of browser messages and the ending are ours, so that
every request passes the check and no message a browser sends can end a session or crash an
explorer. The page's addresses are made from the address the browser used, not the listening
one (`--host 0.0.0.0` is not an address a browser can open).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSMsgType, hdrs, web
from aiohttp.helpers import content_disposition_header

from tui.serve.access import access_middleware
from tui.serve.downloads import DownloadCut, ExplorerDownloads
from tui.serve.options import ServeSettings
from tui.serve.sessions import ExplorerSession, explorer_command

TITLE = "wdtui"
FULL = (
    "503 Service Unavailable: all {limit} of this wdtui server's sessions are in use (each "
    "browser tab is one). Close a tab that shows it, or ask whoever started it for a larger "
    "--max-sessions.\n"
)
STOPPING = "503 Service Unavailable: this wdtui server is stopping.\n"
# A reloaded tab's old explorer is still saving when the new page asks: it frees its place
# within seconds, so a full server waits this long for a place before it says it is full.
SLOT_WAIT_S = 10.0
# A terminal larger than any screen shows would only cost the explorer memory (a 3000×1000
# terminal took 900 MB), and one without a cell crashes Textual: sizes are clamped.
MIN_COLUMNS, MIN_ROWS = 20, 5
MAX_COLUMNS, MAX_ROWS = 500, 200
PACKAGE = Path(textual_serve.__file__).parent


class ExplorerServer:
    """Serves the explorer to browsers; `serve_forever` until SIGINT, SIGTERM or SIGHUP."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.argv = explorer_command(settings.explorer_args)
        self.port = settings.port  # the real one once listening (--port 0)
        self.sessions: set[ExplorerSession] = set()
        self.downloads = ExplorerDownloads()
        self._freed = asyncio.Event()  # a session ended: a place may be free
        self._stopping = False

    # ----- the application --------------------------------------------------------------------

    def make_app(self) -> web.Application:
        settings = self.settings
        app = web.Application(
            middlewares=[access_middleware(settings.token, lambda: self.port, settings.loopback)]
        )
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(PACKAGE / "templates"))
        app.add_routes(
            [
                web.get("/", self.page),
                web.get("/ws", self.explorer_socket),
                # No HEAD: it would take a chunk of a file that is served once.
                web.get("/download/{key}", self.download, allow_head=False),
                web.static("/static", PACKAGE / "static"),
            ]
        )
        app.on_response_prepare.append(_anonymous)
        return app

    async def page(self, request: web.Request) -> web.StreamResponse:
        await self._free_place()
        origin = f"{request.scheme}://{request.host}"
        socket_scheme = "wss" if request.scheme == "https" else "ws"
        context: dict[str, Any] = {
            "font_size": _whole(request.query.get("fontsize"), 16, 6, 64),
            "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": TITLE},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def explorer_socket(self, request: web.Request) -> web.StreamResponse:
        """One tab: an explorer process for as long as the websocket is open (or until the
        explorer quits, which closes it)."""
        await self._free_place()
        websocket = web.WebSocketResponse(heartbeat=15)
        session = ExplorerSession(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.downloads,
        )
        self.sessions.add(session)  # counted from the check on, with no await between
        try:
            await websocket.prepare(request)
            columns, rows = _size(request.query.get("width"), request.query.get("height"))
            if await session.open(columns, rows):
                await _until_either(_relay(websocket, session), session.output_ended())
        finally:
            await session.end()
            self.sessions.discard(session)
            self._freed.set()
            if websocket.prepared:
                await websocket.close()
        return websocket

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file an explorer delivers (`D`), streamed from the explorer, once. One cut short
        drops the connection (never a clean end), so the browser shows it failed."""
        key = request.match_info["key"]
        if not self.downloads.take(key):
            raise web.HTTPNotFound(text="404: no such download (each link works once)\n")
        meta = await self.downloads.get_download_metadata(key)
        response = web.StreamResponse()
        charset = f"; charset={meta.encoding}" if meta.encoding else ""
        response.headers[hdrs.CONTENT_TYPE] = meta.mime_type + charset
        disposition = "inline" if meta.open_method == "browser" else "attachment"
        response.headers[hdrs.CONTENT_DISPOSITION] = content_disposition_header(
            disposition, filename=meta.file_name
        )
        await response.prepare(request)
        try:
            async for chunk in self.downloads.download(key):
                await response.write(chunk)
        except DownloadCut as cut:
            _note(f"{TITLE} serve: the download of {meta.file_name} was cut short: {cut}")
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _free_place(self) -> None:
        """Return once a session may start (no await after the last check); 503 when the
        server is stopping, or when no place frees within SLOT_WAIT_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SLOT_WAIT_S
        while True:
            if self._stopping:
                raise web.HTTPServiceUnavailable(text=STOPPING)
            if len(self.sessions) < self.settings.max_sessions:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise web.HTTPServiceUnavailable(text=FULL.format(limit=self.settings.max_sessions))
            self._freed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._freed.wait(), left)

    # ----- running and ending ------------------------------------------------------------------

    async def serve_forever(self, on_listening: Callable[[int], None]) -> None:
        """Listen (an OSError if the address cannot be had), call `on_listening(port)`, serve
        until a signal, then refuse new tabs, end every session (their runs saved) and stop."""
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        stop = asyncio.Event()
        with _signals_set(stop, self._asked_again):
            try:
                site = web.TCPSite(runner, self.settings.host, self.settings.port)
                await site.start()
                self.port = _listening_port(runner, self.settings.port)
                on_listening(self.port)
                await stop.wait()
                self._stopping = True
                self._freed.set()  # tabs waiting for a place are told the server is stopping
                await self.end_sessions()
            finally:
                await runner.cleanup()

    async def end_sessions(self) -> None:
        sessions = list(self.sessions)
        if sessions:
            _note(f"{TITLE} serve: ending {len(sessions)} session(s), saving their runs…")
        await asyncio.gather(*(session.end() for session in sessions))

    def _asked_again(self) -> None:
        """Ctrl+C while the sessions end: they are ending as fast as they can (an explorer
        that does not is signalled, then killed, within QUIT_GRACE_S + TERM_GRACE_S)."""
        _note(f"{TITLE} serve: still ending {len(self.sessions)} session(s), saving their runs…")


async def _relay(websocket: web.WebSocketResponse, session: ExplorerSession) -> None:
    """The browser's messages to the explorer, until the websocket closes. What is not a
    well-formed message of textual-serve's page is ignored."""
    async for message in websocket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            kind, data = json.loads(message.data)
        except (ValueError, TypeError):
            continue
        if kind == "stdin" and isinstance(data, str):
            await session.send_bytes(data.encode("utf-8", "replace"))
        elif kind == "resize" and isinstance(data, dict):
            await session.set_terminal_size(*_size(data.get("width"), data.get("height")))
        elif kind == "ping":
            await websocket.send_json(["pong", data])
        elif kind == "blur":
            await session.blur()
        elif kind == "focus":
            await session.focus()


async def _until_either(first: Awaitable[None], second: Awaitable[None]) -> None:
    """Until one of them is done (the other cancelled): the tab closes, or the explorer's
    output ends (it quit, or died: killed, or the OOM killer), and then the tab is told."""
    tasks = {asyncio.ensure_future(first), asyncio.ensure_future(second)}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _size(columns: object, rows: object) -> tuple[int, int]:
    return _whole(columns, 80, MIN_COLUMNS, MAX_COLUMNS), _whole(rows, 24, MIN_ROWS, MAX_ROWS)


def _whole(value: object, default: int, low: int, high: int) -> int:
    """A whole number from a query or a message, clamped; `default` if it is none."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    return min(max(number, low), high)


async def _anonymous(_request: web.Request, response: web.StreamResponse) -> None:
    # Anyone who can reach the port, token or not, would read the server's versions here.
    response.headers.pop(hdrs.SERVER, None)


def _listening_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


def _note(text: str) -> None:
    with contextlib.suppress(OSError):  # after a hangup there is no terminal to write to
        print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event, again: Callable[[], None]) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set `stop`; once set, they call `again`. SIGHUP: the
    terminal closed (an SSH connection dropped), which the explorers, in sessions of their
    own, would not hear."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def received() -> None:
        if stop.is_set():
            again()
        stop.set()

    for sig in signals:
        loop.add_signal_handler(sig, received)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
