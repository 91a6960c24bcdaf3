"""Regenerate docs/browser.png, the README's picture of `wdtui serve`: the explorer in headless
Chromium at 1280×800, `highdim` trained at λ = 0 past epoch 150, then λ = 3 typed into the λ
field as it trains (the test loss falls), to the end of its 400 epochs.

Needs Debian's Chromium and chromedriver (apt-get install -y chromium chromium-driver) and
selenium. Run: .venv/bin/python docs/make_browser_screenshot.py

The terminal-reading and server-starting code repeats a little of tests/support/browser.py and
tests/support/serve.py: a docs script does not import the tests.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

OUT = Path(__file__).with_name("browser.png")
VIEWPORT = (1280, 800)
EXPLORER = ("--preset", "highdim", "--epochs", "400", "--pace", "50", "--runs-dir", "runs")
RAISE_AT_EPOCH = 150

# textual-serve keeps its xterm.js Terminal in a local variable and draws on a canvas: the DOM
# has no text. A setter for `terminal` on Object.prototype, installed before the page's scripts
# run, sees textual-serve store it (`this.terminal = new Terminal(…)`) and keeps it; the text
# is then read through xterm.js's buffer API. (As tests/support/browser.py does.)
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    if (value && value.buffer && typeof value.write === 'function') {
      window.__wdtuiTerminal = value;
    }
    Object.defineProperty(this, 'terminal', {
      value, writable: true, configurable: true, enumerable: true,
    });
  },
});
"""
READ_SCREEN = """
const terminal = window.__wdtuiTerminal;
if (!terminal) return null;
const buffer = terminal.buffer.active;
const rows = [];
for (let y = 0; y < terminal.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : '');
}
return rows.join('\\n');
"""


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


@contextmanager
def chromium() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """The page's size, not the window's (whose frame takes some of it)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


def screen(driver: WebDriver) -> str:
    text = driver.execute_script(READ_SCREEN)
    return text if isinstance(text, str) else ""


def wait_screen(driver: WebDriver, holds: Callable[[str], bool], what: str) -> str:
    seen = [""]

    def check(d: WebDriver) -> bool:
        seen[0] = screen(d)
        return holds(seen[0])

    WebDriverWait(driver, 180, poll_frequency=0.1).until(check, f"waiting for {what}")
    return seen[0]


def epoch(text: str) -> int:
    found = re.search(r"epoch +([\d,]+)/", text)
    return int(found.group(1).replace(",", "")) if found else 0


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as url, chromium() as d:
        set_viewport(d, *VIEWPORT)
        d.get(url)
        wait_screen(d, lambda text: epoch(text) >= RAISE_AT_EPOCH, f"epoch {RAISE_AT_EPOCH}")
        keys = d.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        # `l` focuses the λ field with its text selected; the typed 3 replaces it once the
        # focus is there (the Footer then offers the field's keys).
        keys.send_keys("l")
        wait_screen(d, lambda text: "tab Fields" in text, "the λ field to take the focus")
        keys.send_keys("3")
        wait_screen(d, lambda text: re.search(r"│ λ +3 ", text) is not None, "λ 3 typed")
        keys.send_keys(Keys.ENTER)
        wait_screen(d, lambda text: "● completed" in text, "the run to end")
        # xterm.js paints on the next animation frames: the picture is taken after two.
        d.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"
        )
        d.save_screenshot(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
