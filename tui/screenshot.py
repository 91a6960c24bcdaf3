"""Where the palette's "Save screenshot" puts its SVG: the runs folder, else the current one.

Textual saves screenshots in ~/Downloads (or the platform's downloads folder), which a server
reached over SSH often lacks: the save failed. The explorer saves beside its runs instead
(created if needed) and, if that folder cannot be written, in the current folder.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path


class ScreenshotError(OSError):
    """Neither folder could be written; the message is one line that says why for each."""


def screenshot_name(now: float | None = None) -> str:
    """`wdtui-<yyyymmdd-hhmmss>.svg`, named as the run folders are."""
    return time.strftime("wdtui-%Y%m%d-%H%M%S.svg", time.localtime(now))


def save_screenshot(
    svg: str, runs_dir: str | Path, name: str, companions: Sequence[str] = ()
) -> Path:
    """Write `svg` as `name` in `runs_dir`, else in the current folder; returns the file's
    absolute path. Never overwrites a file: a second screenshot in the same second gets
    `-2`, `-3`… A name is taken only if no file with its stem and one of the `companions`'
    suffixes (".csv") exists either: the caller writes those beside it."""
    reasons: list[str] = []
    for where, folder in (("runs folder", lambda: Path(runs_dir)), ("current folder", Path.cwd)):
        try:
            path = folder()  # the current folder may be gone (deleted under the app)
            path.mkdir(parents=True, exist_ok=True)
            return _write_new(path, name, svg, companions).resolve()
        except OSError as exc:
            reasons.append(f"the {where} {exc.filename or ''}: {exc.strerror or exc}")
    raise ScreenshotError("; ".join(reason.replace(" :", ":") for reason in reasons))


def _write_new(folder: Path, name: str, text: str, companions: Sequence[str] = ()) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix
    for attempt in range(1, 100):
        path = folder / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        if any(path.with_suffix(other).exists() for other in companions):
            continue
        try:
            file = path.open("x", encoding="utf-8")
        except FileExistsError:
            continue
        try:
            with file:
                file.write(text)
        except OSError:
            path.unlink(missing_ok=True)  # a full disk: no torn picture left behind
            raise
        return path
    raise FileExistsError(f"{folder / name} and 98 more exist")


__all__ = ["ScreenshotError", "save_screenshot", "screenshot_name"]
