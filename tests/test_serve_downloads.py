"""The files an explorer delivers reach the browser whole, or visibly not at all: a download
cut short (the session ended, the explorer went quiet) raises instead of ending cleanly, each
link works once, and a session's links never fetched are forgotten with it. textual-serve's
protocol is played by a fake explorer (the real one: tests/test_serve_browser.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tui.serve import downloads as downloads_module
from tui.serve.downloads import DownloadCut, ExplorerDownloads


class FakeExplorer:
    """Answers each chunk request with the next piece of `data`, then the empty end."""

    app_service_id = "tab-1"

    def __init__(self, manager: ExplorerDownloads, data: bytes, chunk: int = 4) -> None:
        self.manager, self.data, self.chunk = manager, data, chunk
        self.asked = 0
        self.silent_after: int | None = None  # requests answered before it goes quiet

    async def send_meta(self, meta: dict[str, Any]) -> bool:
        key = str(meta["key"])
        if self.silent_after is not None and self.asked >= self.silent_after:
            return True
        piece = self.data[self.asked * self.chunk : (self.asked + 1) * self.chunk]
        self.asked += 1
        await self.manager.chunk_received(key, piece)
        return True


async def delivered(manager: ExplorerDownloads, explorer: FakeExplorer, key: str) -> None:
    await manager.create_download(
        app_service=explorer,  # type: ignore[arg-type]
        delivery_key=key,
        file_name="run.zip",
        open_method="download",
        mime_type="application/zip",
    )


def test_a_whole_file_arrives_and_its_link_works_once() -> None:
    async def scenario() -> bytes:
        manager = ExplorerDownloads()
        explorer = FakeExplorer(manager, b"0123456789abcdef-end")
        await delivered(manager, explorer, "k1")
        assert manager.take("k1")
        received = b"".join([chunk async for chunk in manager.download("k1")])
        assert not manager.take("k1")  # a second fetch
        assert not manager.take("never-delivered")
        return received

    assert asyncio.run(scenario()) == b"0123456789abcdef-end"


def test_a_session_ending_mid_download_cuts_it() -> None:
    async def scenario() -> list[bytes]:
        manager = ExplorerDownloads()
        explorer = FakeExplorer(manager, b"x" * 100)
        await delivered(manager, explorer, "k1")
        assert manager.take("k1")
        received = []
        with pytest.raises(DownloadCut, match="session ended"):
            async for chunk in manager.download("k1"):
                received.append(chunk)
                if len(received) == 2:  # the tab closes: its session cancels its downloads
                    explorer.silent_after = explorer.asked
                    await manager.cancel_app_downloads("tab-1")
        return received

    assert asyncio.run(scenario()) == [b"xxxx", b"xxxx"]


def test_an_explorer_gone_quiet_cuts_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(downloads_module, "CHUNK_WAIT_S", 0.05)

    async def scenario() -> None:
        manager = ExplorerDownloads()
        explorer = FakeExplorer(manager, b"x" * 100)
        explorer.silent_after = 3
        await delivered(manager, explorer, "k1")
        assert manager.take("k1")
        with pytest.raises(DownloadCut, match="sent nothing"):
            async for _ in manager.download("k1"):
                pass
        assert not manager.take("k1")

    asyncio.run(scenario())


def test_links_never_fetched_are_forgotten_with_their_session() -> None:
    async def scenario() -> None:
        manager = ExplorerDownloads()
        explorer = FakeExplorer(manager, b"data")
        await delivered(manager, explorer, "k1")
        await manager.cancel_app_downloads("tab-1")
        assert not manager.take("k1")  # 404, not an empty file

    asyncio.run(scenario())
