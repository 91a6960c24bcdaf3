"""A real browser for the `wdtui serve` tests: headless Chromium from Debian's packages, driven
by Selenium through Debian's chromedriver, and the text of the terminal the page shows."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver"
WINDOW = (1280, 800)
# The explorer's process starts per tab and loads torch: slow on a busy 2-core machine.
START_S = 180
# A key's effect on the screen: a frame, through the websocket, under load.
KEY_S = 60

# textual-serve's page keeps its xterm.js Terminal in a local variable and draws it on a canvas
# (WebGL or 2D), so the page's DOM holds none of the screen's text. This runs before the page's
# own scripts: textual-serve's terminal wrapper stores the Terminal as `this.terminal`, and a
# setter of that name on Object.prototype sees the assignment, keeps the Terminal as
# window.__wdtuiTerminal, and defines the property on the object as the assignment would
# have. The text then comes from xterm.js's public buffer API, exactly the cells drawn.
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


def require_chromium() -> None:
    """No browser, no check: fail (never skip) with what to install."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"the browser tests need {' and '.join(missing)}: {INSTALL}", pytrace=False)


@contextlib.contextmanager
def chromium(downloads: Path | None = None) -> Iterator[WebDriver]:
    """Headless Chromium at WINDOW, the terminal catcher installed; quit when the block ends."""
    require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",  # a container's /dev/shm is small
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    # chromedriver turns the pop-up blocker off; a person's browser has it on, and what the
    # page opens in new windows (textual-serve's downloads) must get through it.
    options.add_experimental_option("excludeSwitches", ["disable-popup-blocking"])
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})
        yield driver
    finally:
        driver.quit()


def screen(driver: WebDriver) -> str:
    """The terminal's rows as text ('' before the page has made its terminal)."""
    text = driver.execute_script(READ_SCREEN)
    return text if isinstance(text, str) else ""


def wait_screen(
    driver: WebDriver, holds: Callable[[str], bool], what: str, timeout: float = KEY_S
) -> str:
    """Poll the terminal's text until `holds` is true of it; fail naming `what`, with the
    screen as it last was."""
    seen = [""]

    def check(d: WebDriver) -> bool:
        seen[0] = screen(d)
        return holds(seen[0])

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(check)
    except TimeoutException:
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what}; the page showed:\n{seen[0]}"
        ) from None
    return seen[0]


def open_explorer(driver: WebDriver, url: str) -> WebElement:
    """Open the tokened URL and wait until the explorer trains: the element keys go to."""
    driver.get(url)
    wait_screen(driver, lambda text: "● running" in text, "the explorer to train", START_S)
    return driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")


def chord(driver: WebDriver, modifier: str, key: str) -> None:
    """A key with a modifier held, as a person presses it (to the focused terminal)."""
    ActionChains(driver).key_down(modifier).send_keys(key).key_up(modifier).perform()


def status_line(text: str) -> str:
    """The explorer's status line: `● running  epoch …  λ=… lr=…`."""
    return next((line for line in text.splitlines() if line.lstrip().startswith("● ")), "")


def field(text: str, label: str) -> str | None:
    """What the controls' field `label` (λ, lr) holds, as drawn."""
    found = re.search(rf"^│ {re.escape(label)} {{2,}}(\S*)", text, re.MULTILINE)
    return None if found is None else found.group(1)


READ_BACKGROUND = """
const [row, column] = arguments;
const buffer = window.__wdtuiTerminal.buffer.active;
const cell = buffer.getLine(buffer.viewportY + row).getCell(column);
return [cell.getBgColorMode(), cell.getBgColor()];
"""


def focused(driver: WebDriver, label: str, other: str) -> bool:
    """Whether the field `label` has the focus, as a person sees it: a focused field is drawn
    on a lighter background than the `other` field beside it (the text is the same)."""
    rows = screen(driver).splitlines()
    backgrounds = []
    for name in (label, other):
        row, found = next(
            ((y, m) for y, line in enumerate(rows) if (m := re.match(rf"│ {name} {{2,}}", line))),
            (None, None),
        )
        if row is None or found is None:
            return False
        # A blank cell inside the field, past what it holds.
        backgrounds.append(driver.execute_script(READ_BACKGROUND, row, found.end() + 8))
    return backgrounds[0] != backgrounds[1]


def session_ended(driver: WebDriver, timeout: float = KEY_S) -> None:
    """Wait for textual-serve's 'Session ended.' over the page (the websocket closed)."""
    dialog = driver.find_element(By.CSS_SELECTOR, ".closed-dialog")
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda _: dialog.is_displayed())
    except TimeoutException:
        raise AssertionError(
            f"no 'Session ended.' after {timeout} s; the page showed:\n{screen(driver)}"
        ) from None
    assert "Session ended." in dialog.text
