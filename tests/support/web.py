"""The explorer as a browser tab sees it (`wdtui serve`), for Pilot tests: `is_web` is True, and
what Textual's delivery API is handed is recorded instead of sent over a web socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from engine.config import RunConfig
from support.tui import LONG
from tui.app import WeightDecayApp


@dataclass(frozen=True)
class Delivered:
    """One file handed to `deliver_binary`: what the browser would save, and as what."""

    filename: str
    data: bytes
    mime_type: str | None
    open_method: str


class BrowserApp(WeightDecayApp):
    """The app in a browser tab: Textual's WebDriver says `is_web`; deliveries are kept."""

    def __init__(self, config: RunConfig, **options: object) -> None:
        super().__init__(config, **options)  # type: ignore[arg-type]
        self.delivered: list[Delivered] = []

    @property
    def is_web(self) -> bool:
        return True

    def deliver_binary(
        self,
        path_or_file: str | Path | BinaryIO,
        *,
        save_directory: str | Path | None = None,
        save_filename: str | None = None,
        open_method: Literal["browser", "download"] = "download",
        mime_type: str | None = None,
        name: str | None = None,
    ) -> str | None:
        # As the WebDriver does: read the file to its end (in chunks, as the browser asks),
        # then close it.
        if isinstance(path_or_file, (str, Path)):
            data = Path(path_or_file).read_bytes()
            filename = save_filename or Path(path_or_file).name
        else:
            with path_or_file:
                data = path_or_file.read()
            filename = save_filename or ""
        self.delivered.append(Delivered(filename, data, mime_type, open_method))
        return str(len(self.delivered))


def browser_app(**overrides: object) -> BrowserApp:
    settings: dict[str, object] = {"preset": "line", "epochs": LONG, "save": False}
    settings.update(overrides)
    return BrowserApp(RunConfig(**settings))  # type: ignore[arg-type]
