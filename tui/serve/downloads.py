"""Files an explorer delivers (`D`), from its process to the browser, each link once.

textual-serve's download manager takes an empty chunk for the end of a file, and puts one in
when a session ends or the explorer goes quiet: a download cut short would then be saved as
complete. Here a cut is told apart from the end (`DownloadCut`), so the server can drop the
connection and the browser shows the download as failed. A key is served once (a second
fetch, or a HEAD that would swallow a chunk, gets 404), and a session that ends forgets its
keys never fetched (a pop-up blocker's, a tab closed first) instead of keeping them for ever.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from textual_serve.download_manager import DOWNLOAD_CHUNK_SIZE, DownloadManager

# How long the explorer may take to send the next chunk (textual-serve's own bound).
CHUNK_WAIT_S = 4.0


class DownloadCut(Exception):
    """The file did not arrive whole: the session ended or the explorer went quiet."""


class ExplorerDownloads(DownloadManager):
    def __init__(self) -> None:
        super().__init__()
        self._taken: set[str] = set()  # fetched once: never again
        self._cut: set[str] = set()  # their session ended while they streamed

    def take(self, key: str) -> bool:
        """Claim `key` for one fetch: False if unknown, or already fetched."""
        if key in self._taken or key not in self._active_downloads:
            return False
        self._taken.add(key)
        return True

    async def cancel_app_downloads(self, app_service_id: str) -> None:
        for key, download in list(self._active_downloads.items()):
            if download.app_service.app_service_id != app_service_id:
                continue
            if key in self._taken:  # streaming: wake it, to be cut
                self._cut.add(key)
                await download.incoming_chunks.put(None)
            else:
                del self._active_downloads[key]

    async def download(self, delivery_key: str) -> AsyncGenerator[bytes, None]:
        """The file's chunks; DownloadCut if it does not arrive whole."""
        download = self._active_downloads[delivery_key]
        try:
            while True:
                asked = await download.app_service.send_meta(
                    {
                        "type": "deliver_chunk_request",
                        "key": delivery_key,
                        "size": DOWNLOAD_CHUNK_SIZE,
                        "name": download.name,
                    }
                )
                if not asked:
                    raise DownloadCut("its explorer has ended")
                try:
                    chunk = await asyncio.wait_for(download.incoming_chunks.get(), CHUNK_WAIT_S)
                except asyncio.TimeoutError:
                    raise DownloadCut(f"its explorer sent nothing for {CHUNK_WAIT_S:g} s") from None
                if delivery_key in self._cut:
                    raise DownloadCut("its session ended")
                if not chunk:  # the explorer's end of the file
                    return
                yield chunk
        finally:
            self._active_downloads.pop(delivery_key, None)
            self._cut.discard(delivery_key)
