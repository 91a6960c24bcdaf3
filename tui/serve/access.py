"""Who may use the server, checked on every request before any handler runs.

As in Jupyter, the printed URL carries the token (`/?token=…`); the page that opens with it
sets a cookie holding the token, so that what the page loads next (its scripts, the websocket
the explorer runs over, a file download) is let in without the token in its URL. Anything else
is 403. The cookie is HttpOnly and SameSite=Strict, and named after the port (cookies ignore
ports: two servers on one host keep theirs apart, though each one's cookie is sent to both).

Two guards stand whatever the token:
- a websocket whose Origin is another site's is refused: a page elsewhere that the same browser
  opens cannot drive the explorer with the cookie (cross-site websocket hijacking);
- a server listening on loopback answers only requests addressed to a loopback name: a site
  that points its own name at 127.0.0.1 (DNS rebinding) is its own Origin, which the first
  guard cannot see through.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FORBIDDEN = (
    "403 Forbidden: this wdtui server needs its token. Open the URL `wdtui serve` printed "
    "(it ends in ?token=…).\n"
)
OTHER_ORIGIN = "403 Forbidden: a page from another site cannot open this explorer.\n"
NOT_LOCAL = (
    "403 Forbidden: this wdtui server listens on loopback and answers only to localhost, "
    "127.0.0.1 or [::1].\n"
)


def cookie_name(port: int) -> str:
    return f"wdtui-token-{port}"


def token_given(request: web.Request, port: int) -> str | None:
    return request.query.get("token") or request.cookies.get(cookie_name(port))


def same_origin(request: web.Request) -> bool:
    """No Origin (not a browser), or the Origin names the host the request came to."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (request.host or "").lower()


def loopback_name(request: web.Request) -> bool:
    """The request is addressed to localhost or a loopback address (its Host header)."""
    name = (urlsplit(f"//{request.host}").hostname or "").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def access_middleware(token: str | None, port: Callable[[], int], loopback: bool) -> Middleware:
    """The middleware: `token` None serves everyone (--no-token); `port` is read per request,
    the port being known only once the server listens (--port 0); `loopback`: the server
    listens on loopback only."""

    @web.middleware
    async def check_access(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback and not loopback_name(request):
            raise web.HTTPForbidden(text=NOT_LOCAL)
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket" and not same_origin(
            request
        ):
            raise web.HTTPForbidden(text=OTHER_ORIGIN)
        if token is None:
            return await handler(request)
        given = token_given(request, port())
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPForbidden(text=FORBIDDEN)
        response = await handler(request)
        if "token" in request.query and not response.prepared:
            response.set_cookie(
                cookie_name(port()), token, httponly=True, samesite="Strict", path="/"
            )
        return response

    return check_access
