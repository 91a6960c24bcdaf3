"""Where the sweep view's sweeps train: here (a `Sweep` in this process) or on Ray at an
address (a `RaySweep`, engine/sweep/ray_sweep.py), as typed into the view's Ray field.

The addresses are the ones `wdtui sweep --ray ADDRESS` takes: `local` starts a Ray instance on
this machine, `auto` joins the cluster running here, `ray://HOST:PORT` connects as a Ray Client,
`HOST:PORT` joins the cluster at that address. Empty, `off` or `here` trains here. Whether
anything answers at an address is the engine's to find out, when a sweep starts: this only
refuses text that is no address at all, and Ray's absence.
"""

from __future__ import annotations

import importlib.util
import re

from engine.sweep.ray_cluster import INSTALL_HINT, LOCAL

HERE_WORDS = ("", "off", "here")
KEYWORDS = (LOCAL, "auto")
SHOWN_MAX = 40  # a refused text is quoted, cut to this many characters

_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_HOST_PORT = re.compile(rf"(?P<host>{_HOST}):(?P<port>[0-9]{{1,5}})")

FORMS = "local, auto, ray://HOST:PORT or HOST:PORT; empty or off trains here"


class RaySettingError(ValueError):
    """Text that sets no place to train: the one line to show; the setting stays as it was."""


def parse_ray_address(text: str) -> str | None:
    """The Ray address `text` names, None for "train here"; RaySettingError if it names
    neither, or names Ray where Ray is not installed."""
    typed = text.strip()
    if typed.lower() in HERE_WORDS:
        return None
    address = typed.lower() if typed.lower() in KEYWORDS else typed
    if address not in KEYWORDS and not _is_host_port(address.removeprefix("ray://")):
        raise RaySettingError(f"not a Ray address: {_quoted(typed)} (type {FORMS})")
    if not ray_installed():
        raise RaySettingError(f"Ray is not installed ({INSTALL_HINT}): sweeps train here")
    return address


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def setting_text(address: str | None) -> str:
    """The setting in words, for the status row: "here" or "on Ray: ADDRESS"."""
    return "here" if address is None else f"on Ray: {address}"


def _is_host_port(text: str) -> bool:
    match = _HOST_PORT.fullmatch(text)
    return match is not None and 0 < int(match["port"]) < 65536


def _quoted(text: str) -> str:
    shown = text if len(text) <= SHOWN_MAX else f"{text[: SHOWN_MAX - 1]}…"
    return f"'{shown}'"


__all__ = [
    "FORMS",
    "RaySettingError",
    "parse_ray_address",
    "ray_installed",
    "setting_text",
]
