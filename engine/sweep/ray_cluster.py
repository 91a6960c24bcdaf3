"""Connecting to Ray, once per process: a local instance, the running cluster (`auto`, or
HOST:PORT), or a Ray Client (`ray://HOST:PORT`). Ray is the optional `ray` extra, imported here
and in engine/sweep/ray_sweep.py only, and only when a sweep asks for it.

Three things measured on ray 2.60 shape this module:
- Ray's local processes die with the *thread* that started them (PR_SET_PDEATHSIG fires when
  that thread exits). So `ray.init` runs on a thread of its own that lives until `disconnect`,
  which also lets the explorer connect without freezing its screen.
- `ray.init` can hang for minutes on an address where nothing answers (14 minutes for a stale
  `auto`, 30 s for a `ray://` port with nothing behind it). So the address is first probed over
  TCP, and the wait for `ray.init` is bounded.
- Ray's driver prints cluster errors ("(raylet) A worker died …") to stdout whatever its log
  settings say, which would break `wdtui sweep --jsonl`. They are sent to stderr.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from engine.config import ConfigError

INSTALL_HINT = "pip install 'wdtui[ray]'"
CONNECT_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 3.0
LOCAL = "local"  # the address meaning "start a Ray instance on this machine"


class RayMissing(ConfigError):
    """Ray is not installed."""


class ClusterUnreachable(ConfigError):
    """No Ray cluster answered at the address. `stuck`: Ray's own connect is still waiting on
    its thread (a command line should leave with os._exit: Ray's exit hooks would wait too)."""

    def __init__(self, message: str, *, stuck: bool = False) -> None:
        super().__init__(message)
        self.stuck = stuck


def import_ray() -> ModuleType:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves this machine
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def address_words(address: str) -> str:
    return "a local Ray instance" if address == LOCAL else f"the Ray cluster at {address}"


@dataclass
class _Connection:
    address: str
    ready: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    @property
    def stuck(self) -> bool:
        return not self.ready.is_set()


_lock = threading.Lock()
_current: _Connection | None = None


def connect(address: str = LOCAL, *, num_cpus: int | None = None) -> bool:
    """Be connected to `address` (LOCAL, "auto", "HOST:PORT" or "ray://HOST:PORT"); True if this
    call made the connection, False if it was already there. Raises RayMissing or
    ClusterUnreachable (both ConfigErrors: one line for the person who typed the address).
    `num_cpus` sizes a local instance (the tests use 2); a cluster has its own."""
    global _current
    ray = import_ray()
    with _lock:
        if _current is not None and _current.stuck:
            raise ClusterUnreachable(
                f"still waiting for {address_words(_current.address)} to answer", stuck=True
            )
        if _current is not None and _current.address == address and ray.is_initialized():
            return False
        _probe(ray, address)  # before leaving the current connection: it may be the better one
        _disconnect_locked()
        connection = _Connection(address)
        connection.thread = threading.Thread(
            target=_hold, args=(ray, connection, num_cpus), name="wdtui-ray", daemon=True
        )
        _current = connection
        connection.thread.start()
        if not connection.ready.wait(CONNECT_TIMEOUT_S):
            raise ClusterUnreachable(
                f"no answer from {address_words(address)} in {CONNECT_TIMEOUT_S:g} s"
                + _auth_hint(address),
                stuck=True,
            )
        if connection.error is not None:
            _current = None
            raise ClusterUnreachable(
                f"cannot connect to {address_words(address)}: {_first_line(connection.error)}"
                + _auth_hint(address)
            )
        _errors_to_stderr()
        return True


def connecting() -> bool:
    """True while a `ray.init` that was given up on still waits on its thread."""
    connection = _current
    return connection is not None and connection.stuck


def settle(timeout: float) -> bool:
    """Wait up to `timeout` s for a connect that was given up on to end; True if none waits
    now (so that `disconnect` can stop what it started)."""
    connection = _current
    return connection is None or connection.ready.wait(timeout)


def disconnect() -> None:
    """Shut Ray down (a local instance stops; a cluster keeps running), if connected."""
    with _lock:
        _disconnect_locked()


def _disconnect_locked() -> None:
    global _current
    connection, _current = _current, None
    if connection is None or connection.stuck:
        return
    import ray

    try:
        ray.shutdown()
    finally:
        connection.release.set()  # the holding thread ends only now (see the docstring)


def _hold(ray: Any, connection: _Connection, num_cpus: int | None) -> None:
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,  # the workers' prints stay in Ray's session logs
        "logging_level": "ERROR",
    }
    if connection.address == LOCAL:
        # "local", never None: None would silently join a cluster found through RAY_ADDRESS.
        options.update(address="local", num_cpus=num_cpus)
    else:
        options.update(address=connection.address)
    _faulthandler_on_real_stderr()
    try:
        ray.init(**options)
    except BaseException as exc:  # ConnectionError, ValueError, RuntimeError, auth errors…
        connection.error = exc
        connection.ready.set()
        return
    connection.ready.set()
    connection.release.wait()


def _faulthandler_on_real_stderr() -> None:
    """`ray.init` turns faulthandler on for sys.stderr unless it is on already; inside a Textual
    app sys.stderr is a capture whose fileno() is -1, and `ray.init` then fails ("file.fileno()
    is not a valid file descriptor"). On the process's real stderr, where a crash's traceback
    belongs, Ray leaves it be."""
    if faulthandler.is_enabled() or sys.__stderr__ is None:
        return
    with contextlib.suppress(ValueError, OSError, RuntimeError):  # no usable stderr at all
        faulthandler.enable(file=sys.__stderr__)


def check_address(address: str) -> None:
    """Refuse, in one line, text that is no Ray address: LOCAL, "auto", "ray://HOST:PORT" or
    "HOST:PORT" (a port from 1 to 65535)."""
    if address in (LOCAL, "auto"):
        return
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not (colon and host and port.isdigit() and 0 < int(port) < 65536):
        raise ClusterUnreachable(
            f"not a Ray address: {address!r} (give local, auto, ray://HOST:PORT or HOST:PORT)"
        )


def _probe(ray: Any, address: str) -> None:
    """Fail in a moment, not minutes, when nothing listens where the address points."""
    check_address(address)
    if address == LOCAL:
        return
    if address.startswith("ray://"):
        target = address.removeprefix("ray://")
    else:
        # Where `auto` (or HOST:PORT) leads: RAY_ADDRESS, then the last `ray start` on this
        # machine. (A private function: the extra pins Ray's minor version.)
        from ray._private.services import canonicalize_bootstrap_address

        try:
            found = canonicalize_bootstrap_address(address)
        except (ConnectionError, ValueError) as exc:
            raise ClusterUnreachable(_first_line(exc)) from None
        if found is None:
            raise ClusterUnreachable(
                "no running Ray cluster found (start one with `ray start --head`, or give "
                "its address)"
            )
        target = found
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        where = address_words(address)
        if address == "auto":  # say where it led
            where += f" ({target})"
        raise ClusterUnreachable(f"cannot reach {where}: {reason}") from None


def _auth_hint(address: str) -> str:
    if address.startswith("ray://"):
        return " (a cluster with token authentication needs RAY_AUTH_MODE=token here)"
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _errors_to_stderr() -> None:
    """Ray's driver prints cluster error messages to sys.stdout from a thread of its own,
    whatever log_to_driver says; send them to stderr, so that stdout holds only our output
    (`--jsonl`). A private function: the extra pins Ray's minor version, and a test checks it."""
    import ray._private.worker as worker

    original = worker.print_to_stdstream
    if getattr(original, "wdtui_stderr", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr.wdtui_stderr = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_stderr
