"""The sweep view on Ray: the `R` setting (here, or a Ray address), Enter training a RaySweep
with the same results as a local Sweep, the failures a cluster brings (unreachable, Ray not
installed, a worker lost: its members `failed`), through the Pilot and on the state.

Each sweep on Ray costs seconds on 2 cores: the Ray sweeps here train 2 λ on the session's
local instance (`ray_instance`, 2 CPUs: one worker per λ). Every wait polls a condition.
"""

from __future__ import annotations

import math
import sys

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine.config import RunConfig
from engine.sweep.events import SweepEvent, SweepFinished, SweepStarted
from engine.sweep.ray_cluster import INSTALL_HINT
from engine.sweep.runner import Sweep
from engine.sweep.slices import MergedEpoch, SliceMerger, split_lams
from support.tui import SweepHost, sync, wait_for
from tui.screens.sweep_screen import SweepScreen
from tui.state.ray_setting import RaySettingError, parse_ray_address
from tui.state.sweep_state import SweepState
from tui.widgets.sweep_charts import NormChart, PathChart, ValidationChart
from tui.widgets.sweep_text import readout_text, status_text

LAMS = [0.0, 0.1]
SIZE = (100, 30)


def line_config(epochs: int) -> RunConfig:
    return RunConfig(preset="line", seed=0, save=False, epochs=epochs)


def text_of(screen: SweepScreen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


async def type_into(pilot: Pilot, screen: SweepScreen, key: str, field: str, text: str) -> None:
    """Focus a field with its key, replace its text with `text` (no Enter)."""
    await pilot.press(key)
    box = screen.query_one(f"#{field}", Input)
    assert screen.focused is box
    await pilot.press("end", *["backspace"] * len(box.value), *text)
    assert box.value == text


async def set_ray(pilot: Pilot, screen: SweepScreen, text: str) -> None:
    """R, the text, Enter: as a person sets where sweeps train."""
    await type_into(pilot, screen, "R", "ray", text)
    await pilot.press("enter")


def close(a: float | None, b: float | None) -> bool:
    assert a is not None and b is not None
    return math.isclose(a, b, rel_tol=1e-6)


# ----- the setting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("", None),
        (" off ", None),
        ("Here", None),
        ("local", "local"),
        ("AUTO", "auto"),
        ("ray://head.example:10001", "ray://head.example:10001"),
        ("10.0.0.5:6379", "10.0.0.5:6379"),
        ("[::1]:6379", "[::1]:6379"),
    ],
)
def test_the_forms_of_an_address(text: str, address: str | None) -> None:
    assert parse_ray_address(text) == address


@pytest.mark.parametrize("text", ["localhost", "ray://", "host:0", "host:70000", "a b:1", "[x]"])
def test_text_that_is_no_address_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(RaySettingError) as info:
        parse_ray_address(text)
    assert str(info.value).startswith(f"not a Ray address: '{text}' (type local, auto,")
    assert "\n" not in str(info.value)


@sync
async def test_the_setting_is_set_by_keys_shown_and_bad_text_keeps_the_last_good_one() -> None:
    async with SweepHost(line_config(epochs=10)).run_test(size=SIZE) as pilot:
        screen = pilot.app.sweep_screen  # type: ignore[attr-defined]
        field = screen.query_one("#ray", Input)
        assert screen.ray_address is None and field.placeholder == "off: trains here"
        await set_ray(pilot, screen, "local")
        assert screen.ray_address == "local" and screen.focused is None
        assert "Enter sweeps on Ray: local" in text_of(screen, "#sweep-status")
        # Bad text: one line (quoted literally, brackets and all), the setting as it was.
        await set_ray(pilot, screen, "[red]nope")
        assert text_of(screen, "#ray-error").startswith("not a Ray address: '[red]nope'")
        assert screen.ray_address == "local" and screen.focused is field
        assert "on Ray: local" in text_of(screen, "#sweep-status")
        await pilot.press("escape")  # leaving the field shows the setting in force again
        assert field.value == "local" and text_of(screen, "#ray-error") == ""
        await set_ray(pilot, screen, "off")
        assert screen.ray_address is None and field.value == ""
        assert "Enter starts a sweep of the λ values above" in text_of(screen, "#sweep-status")


@sync
async def test_without_ray_installed_choosing_ray_says_so_and_keeps_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds without the extra
    async with SweepHost(line_config(epochs=10)).run_test(size=SIZE) as pilot:
        screen = pilot.app.sweep_screen  # type: ignore[attr-defined]
        await set_ray(pilot, screen, "local")
        assert text_of(screen, "#ray-error") == (
            f"Ray is not installed ({INSTALL_HINT}): sweeps train here"
        )
        assert screen.ray_address is None


# ----- sweeps on Ray ----------------------------------------------------------------------------


@sync
async def test_enter_on_ray_trains_the_members_as_a_local_sweep_does(ray_instance: None) -> None:
    config = line_config(epochs=100)
    reference: list[SweepEvent] = []
    Sweep(config, LAMS, reference.append).run()
    expected = reference[-1]
    assert isinstance(expected, SweepFinished) and expected.best_lam is not None

    async with SweepHost(config).run_test(size=SIZE) as pilot:
        screen = pilot.app.sweep_screen  # type: ignore[attr-defined]
        await set_ray(pilot, screen, "local")
        await type_into(pilot, screen, "l", "lams", "0, 0.1")
        await pilot.press("enter")
        # Before the workers report, the row says where it connects.
        assert "connecting  to Ray: local" in text_of(screen, "#sweep-status")
        await wait_for(pilot, screen.settled, "the sweep on Ray to finish", timeout=90)
        state = screen.state
        assert type(screen.sweep).__name__ == "RaySweep" and state.status == "completed"
        assert state.member_status == ["completed", "completed"]
        status = text_of(screen, "#sweep-status")
        assert "● completed  epoch 100/100  2 members  2 Ray workers (cpu)" in status
        assert state.best_lam() == expected.best_lam
        assert f"best λ = {expected.best_lam:g} " in text_of(screen, "#sweep-readout")
        for k, result in enumerate(expected.results):
            assert close(state.train[k], result.train_loss)
            assert close(state.test[k], result.test_loss)
            assert close(state.sq_norm[k], result.weight_sq_norm)
            assert state.path is not None  # line: one weight, its final value per member
            assert close(state.path[k][0], result.weights["weight"][0][0])


@sync
async def test_an_unreachable_cluster_fails_in_one_line_and_the_view_stays_usable() -> None:
    async with SweepHost(line_config(epochs=20)).run_test(size=SIZE) as pilot:
        screen = pilot.app.sweep_screen  # type: ignore[attr-defined]
        await set_ray(pilot, screen, "127.0.0.1:1")  # nothing listens on port 1
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep to fail")
        assert screen.state.status == "failed"
        assert text_of(screen, "#sweep-status").startswith("● failed  on Ray: 127.0.0.1:1")
        readout = text_of(screen, "#sweep-readout")
        assert "cannot reach the Ray cluster at 127.0.0.1:1" in readout
        # Usable: back to training here, and a sweep runs.
        await set_ray(pilot, screen, "off")
        await type_into(pilot, screen, "l", "lams", "0, 0.1")
        await pilot.press("enter")
        await wait_for(pilot, screen.settled, "the sweep here to finish")
        assert type(screen.sweep).__name__ == "Sweep" and screen.state.status == "completed"


# ----- a member lost with its worker: the state, the words, the charts ------------------------


def _slice_events(lam: float, epochs: int) -> list[SweepEvent]:
    events: list[SweepEvent] = []
    Sweep(line_config(epochs), [lam], events.append).run()
    return events


def lost_worker_events() -> tuple[list[SweepEvent], SweepFinished]:
    """The events of a 2-λ sweep whose second worker dies after epoch 10 of 30, as the Ray
    driver merges them (engine/sweep/slices.py); and its end, as the driver reports it."""
    merger = SliceMerger(LAMS, split_lams(2, 2))
    first, second = (_slice_events(lam, 30) for lam in LAMS)
    # Each: SweepStarted, then 30 SweepEpochs, then SweepFinished; interleaved as polled.
    out: list[SweepStarted | MergedEpoch] = []
    for i in range(11):  # started, epochs 1 to 10 of both
        out += merger.feed(0, first[i]) + merger.feed(1, second[i])
    out += merger.fail(1, "its Ray worker was lost (ActorDiedError: killed)")
    for event in first[11:]:
        out += merger.feed(0, event)
    events = [e if isinstance(e, SweepStarted) else e.event for e in out]
    finished = first[-1]
    assert isinstance(finished, SweepFinished)
    end = SweepFinished(
        "completed",
        30,
        "λ 0.1 failed: its Ray worker was lost (ActorDiedError: killed)",
        best_lam=0.0,
        results=merger.results(),
        best_by=finished.best_by,
    )
    return events, end


class Charts(App[None]):
    def __init__(self, state: SweepState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield ValidationChart(id="curve")
        yield NormChart(id="norm")
        yield PathChart(id="path")

    def on_mount(self) -> None:
        for chart in (self.query_one(ValidationChart), self.query_one(NormChart)):
            chart.show(self.state, True)
        self.query_one(PathChart).show(self.state, False)


async def drawn(state: SweepState) -> None:
    """Every chart draws `state` (an exception in a frame fails the test), the curve's loss."""
    async with Charts(state).run_test(size=(60, 30)) as pilot:
        curve = pilot.app.query_one(ValidationChart)
        await wait_for(pilot, lambda: curve.painted_view == "loss", "the curve's frame")


@sync
async def test_a_failed_member_is_listed_left_out_of_the_best_and_the_charts() -> None:
    events, end = lost_worker_events()
    state = SweepState(LAMS, 30)
    for event in events:
        state.apply(event)
    assert state.member_status == ["running", "failed"] and math.isnan(state.train[1])
    assert state.failed() == [0.1] and state.diverged() == [] and not state.plotted(1)
    assert state.best_lam() == 0.0
    assert "2 members, 1 failed" in str(status_text(state, False))
    assert "failed on Ray (not plotted): λ 0.1" in str(readout_text(state))
    await drawn(state)  # NaN for the failed member: left out, nothing raised

    state.apply(end)  # its result: last numbers of epoch 10, no weights (lost with the worker)
    assert end.results[1].status == "failed" and not end.results[1].weights
    assert state.member_status == ["completed", "failed"] and state.best_lam() == 0.0
    assert state.path is not None and math.isnan(state.path[1][0])
    readout = str(readout_text(state))
    assert "λ 0.1 failed: its Ray worker was lost" in readout
    assert "failed on Ray (not plotted)" not in readout  # the message says it, with why
    await drawn(state)  # a NaN row of final weights on the path
