"""The explorer's driver when served: Textual's web driver, and a browser gone for good read as
a terminal's hangup.

Textual's web driver just stops reading when its stdin ends, and the app trains on. Its stdin
ends without a quit only when the server has gone without ending its sessions (SIGKILL, the
OOM killer, a crash): the explorer then sends itself SIGHUP, and quits as it does when its
terminal hangs up (`tui/app.py`): the run stopped and saved, then the process leaves, since
nothing is left to draw on.
"""

from __future__ import annotations

import os
import signal

from textual.drivers.web_driver import WebDriver

# What textual-serve's environment names, for the explorer processes `wdtui serve` starts.
DRIVER_PATH = "tui.serve.driver:ExplorerWebDriver"


class ExplorerWebDriver(WebDriver):
    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # stdin ended, and the app never asked to stop
            os.kill(os.getpid(), signal.SIGHUP)
