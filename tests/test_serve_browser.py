"""`wdtui serve` in a real browser: headless Chromium (Debian's) opens the tokened URL, and a
person's keys reach the explorer through xterm.js and the websocket: the help, a new λ in the
status line, the keys that stand in for those a browser keeps (ctrl+p, ctrl+w, ctrl+q), and
`D`'s files saved by the browser.

Every wait is on what the page shows (tests/support/browser.py reads the terminal's text).
Keys go one at a time, each waited for: Textual 8 runs an Input's bound keys (backspace, end,
arrows) after printable keys that arrive right behind them (Textual issue #6605), and keys
Selenium sends together reach the explorer together.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from support.browser import (
    KEY_S,
    chord,
    chromium,
    field,
    focused,
    open_explorer,
    require_chromium,
    screen,
    session_ended,
    status_line,
    wait_screen,
)
from support.engine import wait_until
from support.serve import Served, saved_statuses, served, wait_for_runs

HELP_TITLE = "Weight decay, interactively"
PALETTE = "Search for commands"
# highdim at λ = 0, and slow enough that a run never ends during a test.
EXPLORER = ("--preset", "highdim", "--pace", "20")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def server(runs: Path) -> Iterator[Served]:
    require_chromium()  # before a server starts for nothing
    with served("--runs-dir", str(runs), *EXPLORER) as serving:
        yield serving
        code, err = serving.interrupt()
        assert code == 0, err


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def type_into(driver: WebDriver, keys: WebElement, label: str, text: str) -> None:
    """Type `text` into the field `label` just focused by `edit`, a key at a time, each seen on
    the page. A field selects its text when it takes the focus: the first key replaces it."""
    for end in range(1, len(text) + 1):
        keys.send_keys(text[end - 1])
        wait_screen(driver, holding(label, text[:end]), f"{label} to show {text[:end]}")


def holding(label: str, text: str) -> Callable[[str], bool]:
    """Whether a page shows the field `label` holding `text`."""
    return lambda page: field(page, label) == text


def edit(driver: WebDriver, keys: WebElement, key: str, label: str, other: str) -> None:
    """`l` or `L`: wait until the field has the focus (a lighter background)."""
    keys.send_keys(key)
    wait_screen(
        driver, lambda _: focused(driver, label, other), f"{key} to focus the {label} field"
    )


def test_the_help_opens_and_a_typed_lambda_reaches_the_status_line(
    server: Served, browser: WebDriver
) -> None:
    keys = open_explorer(browser, server.url)
    assert " λ=0 lr=0.003 " in status_line(screen(browser))

    keys.send_keys("?")
    page = wait_screen(browser, lambda text: HELP_TITLE in text, "the help")
    assert "Objective = MSE(data) + λ · Σ ‖w‖²" in page
    keys.send_keys(Keys.ESCAPE)
    wait_screen(browser, lambda text: HELP_TITLE not in text, "Escape to close the help")

    edit(browser, keys, "l", "λ", "lr")
    type_into(browser, keys, "λ", "3")
    keys.send_keys(Keys.ENTER)
    page = wait_screen(
        browser, lambda text: " λ=3 lr=0.003 " in status_line(text), "λ=3 in the status line"
    )
    assert not focused(browser, "λ", "lr"), "an applied λ leaves the field"
    assert "● running" in status_line(page)


def test_the_keys_a_browser_keeps_have_others_that_work_in_it(
    server: Served, browser: WebDriver, runs: Path
) -> None:
    keys = open_explorer(browser, server.url)
    # ctrl+p (print): `:`, named in the Footer.
    assert ": palette" in screen(browser).splitlines()[-1]
    keys.send_keys(":")
    wait_screen(browser, lambda text: PALETTE in text, "`:` to open the command palette")
    keys.send_keys(Keys.ESCAPE)
    wait_screen(browser, lambda text: PALETTE not in text, "Escape to close the palette")

    # ctrl+w (close the tab): alt+backspace deletes the word left of the cursor in a field.
    edit(browser, keys, "l", "λ", "lr")
    type_into(browser, keys, "λ", "0.125")
    chord(browser, Keys.ALT, Keys.BACKSPACE)  # a backspace would leave 0.12
    wait_screen(browser, holding("λ", "0."), "alt+backspace to delete the word 125")
    keys.send_keys(Keys.ESCAPE)  # drops the edit: the field shows the λ in use again
    wait_screen(
        browser,
        lambda text: field(text, "λ") == "0" and not focused(browser, "λ", "lr"),
        "Escape to leave the λ field",
    )
    assert " λ=0 lr=0.003 " in status_line(screen(browser))

    # ctrl+q (quit the browser): `q` quits; the run is stopped and saved first.
    keys.send_keys("q")
    session_ended(browser)
    wait_for_runs(runs, 1, "stopped")
    assert saved_statuses(runs) == ["stopped"]
    wait_until(lambda: server.explorers() == [], 60, "the explorer's process to end")


def test_d_downloads_the_runs_files_through_the_browser(
    server: Served, runs: Path, tmp_path: Path
) -> None:
    # With the pop-up blocker on, as in a person's browser (tests/support/browser.py): the page
    # opens each delivery in a new window, and a blocker lets only the first through, so the
    # three files come as one zip.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads) as browser:
        keys = open_explorer(browser, server.url)
        (run_dir,) = runs.iterdir()
        keys.send_keys("D")
        archive = downloads / f"{run_dir.name}.zip"

        def arrived() -> bool:  # Chromium writes it as *.crdownload, then renames it
            return [path.name for path in downloads.iterdir()] == [archive.name]

        wait_until(arrived, KEY_S, f"the browser to save {archive.name}")

    with zipfile.ZipFile(archive) as zipped:
        saved = {
            name.removeprefix(f"{run_dir.name}/"): zipped.read(name) for name in zipped.namelist()
        }
    assert sorted(saved) == ["config.json", "metrics.csv", "weights.pt"]
    assert saved["config.json"] == (run_dir / "config.json").read_bytes()
    header, *rows = saved["metrics.csv"].decode().splitlines()
    assert header == (run_dir / "metrics.csv").read_text().splitlines()[0]
    assert [int(row.split(",", 1)[0]) for row in rows] == list(range(1, len(rows) + 1))
    weights = torch.load(io.BytesIO(saved["weights.pt"]), weights_only=True)
    assert sorted(tuple(tensor.shape) for tensor in weights.values()) == [(1,), (1, 200)]
