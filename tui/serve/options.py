"""`wdtui serve`'s command line: where to listen, the token, the session limit, and the
explorer's own options, passed to every tab's explorer. Everything is checked before the
server starts: a bad option is one line and exit 2, as for every wdtui command."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import socket
from dataclasses import dataclass

from engine.cli.options import OneLineParser, fail
from tui.launch import explorer_parser, parsed_settings

PROG = "wdtui serve"
TOKEN_ENV = "WDTUI_TOKEN"
MIN_TOKEN_LENGTH = 16
# Characters that stand in a URL's query as they are: the printed URL is the one to open.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
# Each session is an explorer process with torch loaded and a model training: a few hundred MB
# and a CPU core's share each.
DEFAULT_MAX_SESSIONS = 4


@dataclass(frozen=True)
class ServeSettings:
    host: str
    port: int
    token: str | None  # None: --no-token
    max_sessions: int
    explorer_args: tuple[str, ...]  # every tab's explorer starts with these
    loopback: bool  # every address the host resolves to is this machine's own

    def url(self, port: int) -> str:
        """The address to open: the token in the query, the host in brackets if IPv6; for
        every address (0.0.0.0, ::), this machine's name, which a browser can open."""
        host = socket.gethostname() if _unspecified(self.host) else self.host
        host = f"[{host}]" if ":" in host else host
        query = "" if self.token is None else f"?token={self.token}"
        return f"http://{host}:{port}/{query}"


def serve_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("serving")
    group.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: every "
        "network it is on, with a warning)",
    )
    group.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="the port to listen on (default: 8000; 0: any free one, printed)",
    )
    group.add_argument(
        "--token",
        default=None,
        help=f"the token the URL must carry (default: ${TOKEN_ENV}, else a random one, printed "
        f"in the URL); at least {MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ -",
    )
    group.add_argument(
        "--no-token",
        action="store_true",
        help="serve without a token: anyone who can reach the port uses the explorer as you",
    )
    group.add_argument(
        "--max-sessions",
        type=_max_sessions,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help="the most browser tabs served at once, each its own explorer process "
        f"(default: {DEFAULT_MAX_SESSIONS})",
    )


def serve_parser() -> argparse.ArgumentParser:
    parser = explorer_parser()
    parser.prog = PROG
    parser.usage = "wdtui serve [--host H] [--port P] [--token T | --no-token] [options]"
    parser.description = (
        "Serve the explorer to web browsers. Open the printed URL (its token lets you in); each "
        "tab runs its own explorer, started with the options below, and ends when the tab "
        "closes, its run saved. Ctrl+C stops the server and every explorer it started."
    )
    serve_options(parser)
    return parser


def parse_serve_args(argv: list[str], environ: dict[str, str] | None = None) -> ServeSettings:
    """The settings, or one line and exit 2. The explorer's options are checked as `wdtui`
    checks them, and passed on as they were typed."""
    environ = dict(os.environ) if environ is None else environ
    _, _, args = parsed_settings(serve_parser(), argv)
    only_serving = OneLineParser(prog=PROG, add_help=False)
    serve_options(only_serving)
    _, explorer_args = only_serving.parse_known_args(argv)
    token = _token(args.token, args.no_token, environ)
    return ServeSettings(
        host=args.host,
        port=args.port,
        token=token,
        max_sessions=args.max_sessions,
        explorer_args=tuple(explorer_args),
        loopback=_is_loopback(args.host, args.port),
    )


def _token(given: str | None, no_token: bool, environ: dict[str, str]) -> str | None:
    if no_token:
        if given is not None:
            fail(PROG, "--token and --no-token contradict each other: give one")
        return None
    source = "--token"
    if given is None and environ.get(TOKEN_ENV):
        given, source = environ[TOKEN_ENV], f"${TOKEN_ENV}"
    if given is None:
        return secrets.token_hex(24)
    if len(given) < MIN_TOKEN_LENGTH:
        fail(PROG, f"{source} is too short: give at least {MIN_TOKEN_LENGTH} characters")
    if not TOKEN_PATTERN.fullmatch(given):
        fail(PROG, f"{source} may hold only A-Z a-z 0-9 . _ ~ - (it goes in the URL as it is)")
    return given


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a whole number; got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535; got {port}")
    return port


def _max_sessions(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of sessions; got {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"at least 1 session; got {count}")
    return count


def _is_loopback(host: str, port: int) -> bool:
    """Whether every address `host` names is this machine's loopback; a host that names no
    address is refused here (one line) rather than when the server binds."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        fail(PROG, f"--host {host}: not an address this machine can listen on ({exc})")
    addresses = {info[4][0] for info in infos}
    return all(ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in addresses)


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
