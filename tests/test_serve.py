"""`wdtui serve`: the token guards every request, sessions are limited and end with their run
saved, bad options are one line, and Ctrl+C leaves nothing running. A real server on a free
loopback port; websockets from aiohttp's client stand for browser tabs (the browser itself is
tests/test_serve_browser.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from support.engine import ROOT, WDTUI, call_wdtui, wait_until
from support.serve import (
    TOKEN,
    alive,
    closing,
    first_bytes,
    saved_statuses,
    served,
    training_tab,
    wait_for_runs,
)

CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
LIGHT = ("--preset", "line", "--pace", "50")  # a small run: the sessions are the point


def fetch(url: str, cookie: str | None = None) -> tuple[int, str, str]:
    """(status, body, Set-Cookie) of a GET."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(), response.headers["Set-Cookie"] or ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), ""


async def handshake(url: str, **headers: str) -> int:
    """The status a websocket upgrade gets: 101 when it opens."""
    async with aiohttp.ClientSession() as client:
        try:
            async with client.ws_connect(url, headers=headers) as socket_:
                await socket_.close()
                return 101
        except aiohttp.WSServerHandshakeError as error:
            return error.status


# ----- the token ------------------------------------------------------------------------------


def test_the_token_guards_the_page_static_files_downloads_and_the_websocket(
    tmp_path: Path,
) -> None:
    with served("--token", TOKEN, "--runs-dir", str(tmp_path), *LIGHT) as server:
        assert server.url.endswith(f"/?token={TOKEN}")
        base = server.base
        # The page: 403 without the token or with a wrong one, 200 with it, and a cookie.
        assert fetch(base)[0] == 403
        assert fetch(base + "?token=" + "x" * len(TOKEN))[0] == 403
        status, body, cookie = fetch(server.url)
        assert status == 200
        assert "data-session-websocket-url" in body
        # The page's addresses are the one the browser used, never the listening address.
        assert f'"ws://{base.split("//")[1]}ws"' in body
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert f"={TOKEN}" in cookie
        jar = cookie.split(";", 1)[0]
        # What the page loads next carries the cookie, not the token.
        script = base + "static/js/textual.js"
        assert fetch(script)[0] == 403
        assert fetch(script, cookie=jar)[0] == 200
        assert fetch(script, cookie=jar.replace(TOKEN[-4:], "zzzz"))[0] == 403
        assert fetch(base + "download/nothing")[0] == 403
        assert fetch(base + "download/nothing", cookie=jar)[0] == 404  # in, but no such file
        head = urllib.request.Request(base + "download/nothing", method="HEAD")
        head.add_header("Cookie", jar)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(head, timeout=60)
        assert refused.value.code == 405  # a HEAD would take a chunk of a file served once
        # The websocket: 403 without, 101 with the token (query or cookie), and 403 from a page
        # of another site even with the cookie.
        assert asyncio.run(handshake(server.socket_url)) == 403
        assert asyncio.run(handshake(server.socket_url + "?token=nope-nope-nope-nope")) == 403
        assert asyncio.run(handshake(server.socket_url + f"?token={TOKEN}")) == 101
        assert asyncio.run(handshake(server.socket_url, Cookie=jar)) == 101
        assert (
            asyncio.run(handshake(server.socket_url, Cookie=jar, Origin="http://evil.example"))
            == 403
        )
        own_origin = server.base.rstrip("/")
        assert asyncio.run(handshake(server.socket_url, Cookie=jar, Origin=own_origin)) == 101


def test_a_random_token_by_default_and_the_environment_variable(tmp_path: Path) -> None:
    with (
        served("--runs-dir", str(tmp_path), *LIGHT) as first,
        served("--runs-dir", str(tmp_path), *LIGHT) as second,
    ):
        tokens = [s.url.split("token=", 1)[1] for s in (first, second)]
        assert tokens[0] != tokens[1] and all(len(t) >= 32 for t in tokens)
        assert fetch(first.url)[0] == 200
        assert fetch(first.base + "?token=" + tokens[1])[0] == 403
    from_env = "from-the-environment-0123"
    with served("--runs-dir", str(tmp_path), *LIGHT, env={"WDTUI_TOKEN": from_env}) as server:
        assert server.url.endswith(f"?token={from_env}")
        assert fetch(server.url)[0] == 200


def test_no_token_serves_everyone_and_says_so(tmp_path: Path) -> None:
    with served("--no-token", "--runs-dir", str(tmp_path), *LIGHT) as server:
        assert "token" not in server.url
        assert fetch(server.base)[0] == 200
        assert asyncio.run(handshake(server.socket_url)) == 101
        code, err = server.interrupt()
    assert code == 0
    assert "warning: --no-token" in err and "uses the explorer as you" in err


def test_listening_beyond_this_machine_warns_and_prints_a_name_a_browser_can_open(
    tmp_path: Path,
) -> None:
    with served("--host", "0.0.0.0", "--runs-dir", str(tmp_path), *LIGHT) as server:
        assert server.url.startswith(f"http://{socket.gethostname()}:")
        port = server.base.rsplit(":", 1)[1].strip("/")
        # The page's own addresses follow the address the browser used (here loopback).
        status, body, _ = fetch(f"http://127.0.0.1:{port}/?token=" + server.url.split("=")[1])
        assert status == 200 and f'"ws://127.0.0.1:{port}/ws"' in body
        code, err = server.interrupt()
    assert code == 0
    assert "warning: 0.0.0.0 is reachable from other machines" in err


def test_on_loopback_only_loopback_names_are_answered_and_no_versions_are_told(
    tmp_path: Path,
) -> None:
    # DNS rebinding: a site points its own name at 127.0.0.1; its page is then its own Origin,
    # and only the Host header tells. With --no-token nothing else would stand in its way.
    with served("--no-token", "--runs-dir", str(tmp_path), *LIGHT) as server:
        port = server.base.rsplit(":", 1)[1].strip("/")
        for name in ("127.0.0.1", "localhost", "app.localhost"):
            request = urllib.request.Request(server.base, headers={"Host": f"{name}:{port}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                assert response.status == 200
                assert response.headers["Server"] is None
        rebound = f"rebind.evil.example:{port}"
        request = urllib.request.Request(server.base, headers={"Host": rebound})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 403
        assert "answers only to localhost" in refused.value.read().decode()
        assert refused.value.headers["Server"] is None
        origin = {"Host": rebound, "Origin": f"http://{rebound}"}
        assert asyncio.run(handshake(server.socket_url, **origin)) == 403


def test_a_plain_get_of_the_websocket_is_a_bad_request(tmp_path: Path) -> None:
    with served("--token", TOKEN, "--runs-dir", str(tmp_path), *LIGHT) as server:
        status, _, _ = fetch(server.socket_url.replace("ws://", "http://") + f"?token={TOKEN}")
        assert status == 400
        code, err = server.interrupt()
    assert code == 0 and "Traceback" not in err


# ----- sessions -------------------------------------------------------------------------------


def test_the_session_limit_then_a_closed_tab_frees_its_place_and_saves_its_run(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--max-sessions", "1", "--runs-dir", str(runs), *LIGHT) as server:

        async def scenario() -> None:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                # Full: after waiting SLOT_WAIT_S for a place, the page says so, and a second
                # tab is refused.
                (status, body, _), refused = await asyncio.gather(
                    asyncio.to_thread(fetch, server.url),
                    handshake(server.socket_url + f"?token={TOKEN}"),
                )
                assert status == 503
                assert "all 1 of this wdtui server's sessions are in use" in body
                assert refused == 503
                assert len(server.explorers()) == 1
                explorer = server.explorers()[0]
                await tab.close()  # the tab closes: its explorer quits, its run saved
                await asyncio.to_thread(
                    wait_until, lambda: not alive(explorer), 120, "the explorer to end"
                )

        asyncio.run(scenario())
        assert saved_statuses(runs) == ["stopped"]
        wait_until(lambda: fetch(server.url)[0] == 200, 60, "the session's place to free")
        code, _ = server.interrupt()
    assert code == 0


def test_a_reloaded_tab_waits_for_its_old_session_to_free_the_place(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--max-sessions", "1", "--runs-dir", str(runs), *LIGHT) as server:

        async def reload() -> int:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                await tab.close()  # F5: the old tab goes, the new page asks at once
                return (await asyncio.to_thread(fetch, server.url))[0]

        assert asyncio.run(reload()) == 200
        assert saved_statuses(runs) == ["stopped"]


def test_what_a_browser_should_never_send_ends_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--runs-dir", str(runs), *LIGHT) as server:

        async def scenario() -> aiohttp.WSMsgType:
            async with aiohttp.ClientSession() as client:
                # A size no screen has, in the address and in messages: clamped, not a crash.
                tab = await client.ws_connect(
                    server.socket_url + f"?token={TOKEN}&width=-5&height=abc"
                )
                await first_bytes(tab)
                await asyncio.to_thread(wait_for_runs, runs, 1, "running")
                for junk in (
                    "not json",
                    "[1, 2, 3]",
                    '{"a": 1}',
                    '["stdin", 5]',
                    '["resize", {}]',
                    '["resize", {"width": -5, "height": -5}]',
                    '["resize", {"width": 100000, "height": "x"}]',
                    '["nonsense", null]',
                ):
                    await tab.send_str(junk)
                await tab.send_bytes(b"\x00\xff")
                await tab.send_json(["ping", "still there?"])
                while True:  # the session answers after all of it
                    message = await tab.receive(timeout=60)
                    if message.type == aiohttp.WSMsgType.TEXT:
                        assert json.loads(message.data) == ["pong", "still there?"]
                        break
                    assert message.type == aiohttp.WSMsgType.BINARY, message
                assert saved_statuses(runs) == ["running"]
                await tab.send_json(["stdin", "q"])
                return await closing(tab)

        assert asyncio.run(scenario()) in CLOSED
        assert saved_statuses(runs) == ["stopped"]
        code, err = server.interrupt()
    assert code == 0 and "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=["hangup", "killed"])
def test_a_server_hung_up_or_killed_leaves_no_explorer_and_every_run_saved(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # SIGHUP (the terminal closed): the server ends its sessions as on Ctrl+C. SIGKILL (the OOM
    # killer, a crash): it cannot; each explorer sees its stdin end, and quits as on a
    # terminal's hangup.
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--runs-dir", str(runs), *LIGHT) as server:

        async def scenario() -> list[int]:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                explorers = server.explorers()
                server.process.send_signal(sig)
                code, _ = await asyncio.to_thread(server.wait)
                assert code == (0 if sig == signal.SIGHUP else -signal.SIGKILL)
                assert await closing(tab) in (*CLOSED, aiohttp.WSMsgType.ERROR)
                return explorers

        explorers = asyncio.run(scenario())
        assert len(explorers) == 1
        wait_until(lambda: not alive(explorers[0]), 120, "the explorer to quit")
    assert saved_statuses(runs) == ["stopped"]


def test_an_explorer_that_dies_closes_its_tab_and_frees_its_place(tmp_path: Path) -> None:
    # Killed, or picked by the OOM killer: no quit, no exit message; its output just ends.
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--max-sessions", "1", "--runs-dir", str(runs), *LIGHT) as server:

        async def scenario() -> aiohttp.WSMsgType:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                (explorer,) = server.explorers()
                os.kill(explorer, signal.SIGKILL)
                return await closing(tab)

        assert asyncio.run(scenario()) in CLOSED
        wait_until(lambda: fetch(server.url)[0] == 200, 60, "its place to free")
        code, _ = server.interrupt()
    assert code == 0


def test_ctrl_c_ends_every_explorer_with_its_run_saved_and_the_server(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--runs-dir", str(runs), *LIGHT) as server:

        async def open_tabs() -> list[int]:
            async with aiohttp.ClientSession() as client:
                tabs = [
                    await client.ws_connect(server.socket_url + f"?token={TOKEN}") for _ in range(2)
                ]
                for tab in tabs:
                    await first_bytes(tab)
                await asyncio.to_thread(wait_for_runs, runs, 2, "running")
                explorers = server.explorers()
                # The tabs stay open: Ctrl+C must end them, not their closing.
                server.process.send_signal(signal.SIGINT)
                # Stopping, the server takes no new tab: 503 while its explorers save, then
                # nothing listens.
                try:
                    late = await handshake(server.socket_url + f"?token={TOKEN}")
                except aiohttp.ClientConnectionError:
                    late = 0
                assert late in (503, 0)
                # Ctrl+C again while they save: said, and the ending goes on.
                code, err = await asyncio.to_thread(server.interrupt)
                assert code == 0
                assert "ending 2 session(s), saving their runs" in err
                for tab in tabs:
                    assert await closing(tab) in CLOSED
                return explorers

        explorers = asyncio.run(open_tabs())
    assert len(explorers) == 2
    assert not any(alive(pid) for pid in explorers)
    assert saved_statuses(runs) == ["stopped", "stopped"]


def test_an_explorer_that_quits_closes_its_tab(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with served("--token", TOKEN, "--runs-dir", str(runs), *LIGHT) as server:

        async def scenario() -> aiohttp.WSMsgType:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                await tab.send_json(["stdin", "q"])  # the browser's keystroke
                return await closing(tab)

        assert asyncio.run(scenario()) in CLOSED
        assert saved_statuses(runs) == ["stopped"]
        wait_until(lambda: not server.explorers(), 60, "the explorer process to end")


def test_stdout_holds_the_url_alone_whatever_the_explorers_write_on_stderr(
    tmp_path: Path,
) -> None:
    # PYTHONVERBOSE: every explorer writes hundreds of lines on its stderr, which textual-serve
    # passes on when its session ends.
    runs = tmp_path / "runs"
    with served(
        "--token", TOKEN, "--runs-dir", str(runs), *LIGHT, env={"PYTHONVERBOSE": "1"}
    ) as server:

        async def one_session() -> None:
            async with aiohttp.ClientSession() as client:
                tab = await training_tab(client, server, runs)
                await tab.close()

        asyncio.run(one_session())
        wait_for_runs(runs, 1, "stopped")
        wait_until(lambda: not server.explorers(), 60, "the explorer process to end")
        code, err = server.interrupt()
        assert server.process.stdout is not None
        assert server.process.stdout.read() == ""  # the URL was read before: nothing more
    assert code == 0
    assert "import " in err


# ----- bad options: one line, exit 2 ---------------------------------------------------------


def serve_fails(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [*WDTUI, "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wdtui serve: error: ")
    return lines[0]


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = serve_fails("--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--host", "no-such-host.invalid"), "--host no-such-host.invalid: not an address"),
        (("--port", "70000"), "a port is 0 to 65535"),
        (("--port", "http"), "a port is a whole number"),
        (("--token", "short"), "--token is too short: give at least 16"),
        (("--token", "spaces are not ok here"), "--token may hold only"),
        (("--token", "x" * 20, "--no-token"), "contradict"),
        (("--max-sessions", "0"), "at least 1 session"),
        # The explorer's own options are checked as `wdtui` checks them.
        (("--lam", "-1"), "λ must be a finite number >= 0"),
    ],
)
def test_bad_options_are_one_line(args: tuple[str, ...], says: str) -> None:
    assert says in serve_fails(*args)


def test_a_short_token_in_the_environment_is_one_line() -> None:
    import os

    line = serve_fails(env={**os.environ, "WDTUI_TOKEN": "short"})
    assert "$WDTUI_TOKEN is too short" in line


def test_without_textual_serve_one_line_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As if the `web` extra were not installed: importing textual_serve fails.
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.delitem(sys.modules, "tui.serve.server", raising=False)
    monkeypatch.delitem(sys.modules, "tui.serve.sessions", raising=False)
    code, out, err = call_wdtui(capsys, "serve", "--port", "0")
    assert code == 2 and out == ""
    assert err == (
        "wdtui serve: error: needs textual-serve, the `web` extra: pip install 'wdtui[web]'\n"
    )
