"""`wdtui serve`: check the options, print the URL, serve until Ctrl+C.

textual-serve (the `web` extra) is imported only here and only for this command: without it,
one line says how to install it (exit 2), and `wdtui` itself never pays for the import.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TextIO

from engine.cli.options import fail
from tui.serve.options import PROG, TOKEN_ENV, ServeSettings, parse_serve_args

INSTALL_HINT = "needs textual-serve, the `web` extra: pip install 'wdtui[web]'"


def serve_command(argv: list[str]) -> int:
    settings = parse_serve_args(argv)
    try:
        from tui.serve.server import ExplorerServer
    except ImportError:
        fail(PROG, INSTALL_HINT)
    server = ExplorerServer(settings)
    out = sys.stdout
    try:
        # stdout holds the URL alone, for a script to read. textual-serve writes what an
        # explorer said on its stderr (a warning, a traceback) to sys.stdout: here, stderr.
        with contextlib.redirect_stdout(sys.stderr):
            asyncio.run(server.serve_forever(lambda port: _announce(settings, port, out)))
    except OSError as exc:  # the address is taken, or not this machine's
        fail(PROG, f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    return 0


def _announce(settings: ServeSettings, port: int, out: TextIO) -> None:
    """The URL alone on `out` (stdout); the rest on stderr."""
    note = sys.stderr
    print(
        f"{PROG}: each browser tab runs its own explorer (at most {settings.max_sessions} at "
        "once); closing a tab stops and saves its run. Ctrl+C stops everything.",
        file=note,
    )
    if not settings.loopback:
        print(
            f"{PROG}: warning: {settings.host} is reachable from other machines: anyone who "
            "can reach this port"
            + (" and has the URL" if settings.token is not None else "")
            + " can train here and read any CSV file you can.",
            file=note,
        )
    if settings.token is None:
        print(
            f"{PROG}: warning: --no-token: no token is asked for; anyone who can open "
            f"port {port} uses the explorer as you (set a token with --token or ${TOKEN_ENV}).",
            file=note,
        )
    note.flush()
    print(settings.url(port), file=out, flush=True)
