"""Regenerate docs/browser.png, the README's picture of `wdtui serve`: the explorer in headless
Chromium at 1280×800, `highdim` trained at λ = 0 past epoch 150, then λ = 3 typed into the λ
field as it trains (the test loss falls), to the end of its 400 epochs.

Needs Debian's Chromium and chromedriver (apt-get install -y chromium chromium-driver) and
selenium. Run: .venv/bin/python docs/make_browser_screenshot.py

The browser and the page's terminal text come from tests/support/browser.py, as the browser
test has them; the server runs in a temporary folder, so the picture's status line reads
`saved in runs/…`.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.browser import chromium, wait_screen

OUT = Path(__file__).with_name("browser.png")
VIEWPORT = (1280, 800)
EXPLORER = ("--preset", "highdim", "--epochs", "400", "--pace", "50", "--runs-dir", "runs")
RAISE_AT_EPOCH = 150
START_S = 180  # the explorer's process loads torch first


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`wdtui serve` on a free port, run in `folder`: its URL; Ctrl+C when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--port", "0", *EXPLORER],
        cwd=folder,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), f"wdtui serve printed no URL: {url!r}"
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """The page's size, not the window's (whose frame takes some of it)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


def epoch(text: str) -> int:
    found = re.search(r"epoch +([\d,]+)/", text)
    return int(found.group(1).replace(",", "")) if found else 0


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as url, chromium() as d:
        set_viewport(d, *VIEWPORT)
        d.get(url)
        wait_screen(
            d, lambda text: epoch(text) >= RAISE_AT_EPOCH, f"epoch {RAISE_AT_EPOCH}", START_S
        )
        keys = d.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        # `l` focuses the λ field with its text selected; the typed 3 replaces it once the
        # focus is there (the Footer then offers the field's keys).
        keys.send_keys("l")
        wait_screen(d, lambda text: "tab Fields" in text, "the λ field to take the focus")
        keys.send_keys("3")
        wait_screen(d, lambda text: re.search(r"│ λ +3 ", text) is not None, "λ 3 typed")
        keys.send_keys(Keys.ENTER)
        wait_screen(d, lambda text: "● completed" in text, "the run to end", START_S)
        # xterm.js paints on the next animation frames: the picture is taken after two.
        d.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"
        )
        d.save_screenshot(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
