"""The web server: textual-serve's page, scripts and downloads, with wdtui's access check, its
own websocket handler (an explorer per tab, up to the session limit) and an ending that leaves
nothing running.

The page's URLs are made from the address the browser used, not from the listening address
(`--host 0.0.0.0` is not an address a browser can open).
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server, to_int

from tui.serve.access import access_middleware
from tui.serve.options import ServeSettings
from tui.serve.sessions import ExplorerSession, explorer_command

TITLE = "wdtui"
FULL = (
    "503 Service Unavailable: all {limit} of this wdtui server's sessions are in use (each "
    "browser tab is one). Close a tab that shows it, or ask whoever started it for a larger "
    "--max-sessions.\n"
)


class ExplorerServer(Server):
    """Serves the explorer to browsers; `serve_forever` until SIGINT/SIGTERM."""

    def __init__(self, settings: ServeSettings) -> None:
        self.argv = explorer_command(settings.explorer_args)
        super().__init__(shlex.join(self.argv), title=TITLE)
        self.settings = settings
        self.port = settings.port  # the real one once listening (--port 0)
        self.sessions: set[ExplorerSession] = set()

    # ----- the application --------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[access_middleware(self.settings.token, self._port)])
        aiohttp_jinja2.setup(
            app, loader=aiohttp_jinja2.jinja2.FileSystemLoader(self.templates_path)
        )
        app.add_routes(
            [
                web.get("/", self.page, name="index"),
                web.get("/ws", self.explorer_socket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        return app

    def _port(self) -> int:
        return self.port

    def _full(self) -> bool:
        return len(self.sessions) >= self.settings.max_sessions

    async def page(self, request: web.Request) -> web.StreamResponse:
        if self._full():
            raise web.HTTPServiceUnavailable(text=FULL.format(limit=self.settings.max_sessions))
        origin = f"{request.scheme}://{request.host}"
        socket_scheme = "wss" if request.scheme == "https" else "ws"
        context: dict[str, Any] = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": TITLE},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def explorer_socket(self, request: web.Request) -> web.StreamResponse:
        """One tab: an explorer process for as long as the websocket is open (or until the
        explorer quits, which closes it)."""
        if self._full():
            raise web.HTTPServiceUnavailable(text=FULL.format(limit=self.settings.max_sessions))
        websocket = web.WebSocketResponse(heartbeat=15)
        session = ExplorerSession(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions.add(session)  # counted from the check on, with no await between
        try:
            await websocket.prepare(request)
            await session.start(
                to_int(request.query.get("width", "80"), 80),
                to_int(request.query.get("height", "24"), 24),
            )
            await self._process_messages(websocket, session)
        finally:
            await session.end()
            self.sessions.discard(session)
            await websocket.close()
        return websocket

    # ----- running and ending ------------------------------------------------------------------

    async def serve_forever(self, on_listening: Any) -> None:
        """Listen (an OSError if the address cannot be had), call `on_listening(port)`, serve
        until SIGINT or SIGTERM, then end every session (their runs saved) and stop."""
        runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.settings.host, self.settings.port)
            await site.start()
            self.port = _listening_port(runner, self.settings.port)
            on_listening(self.port)
            await _until_signalled()
            await self.end_sessions()
        finally:
            await runner.cleanup()

    async def end_sessions(self) -> None:
        sessions = list(self.sessions)
        if sessions:
            print(
                f"{TITLE} serve: ending {len(sessions)} session(s), saving their runs…",
                file=sys.stderr,
                flush=True,
            )
        await asyncio.gather(*(session.end() for session in sessions))


def _listening_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
