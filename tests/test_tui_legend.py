"""The loss chart's legend fits its box: entries whole (a line breaks only between two), the
newest earlier runs first and `+N more` for the rest, the scale tag whole, at most the rows the
box has; laid out again when the terminal is resized.

The user test it answers: at 120×40 after five `n` on poly the legend's second line ended on a
bare `•` and its `log y` was lost; at 80×24 the third entry was cut to `• λ=0.001` and the tag
wrapped `log` / `y`.
"""

from __future__ import annotations

from textual.geometry import Region

from engine.config import RunConfig
from engine.events import Epoch
from support.tui import keys, live_of, make_app, running, sync, wait_for
from tui.app import WeightDecayApp
from tui.state.live_run import MAX_OVERLAYS
from tui.state.run_state import Mark, RunState
from tui.theme import NORM_COLOR, swatch
from tui.widgets.loss_legend import ChartLegend, Legend, legend_text

POLY = RunConfig(preset="poly", epochs=300).resolved()


def _run(run_id: int, epochs: int, lams: tuple[float, ...] = (0.0,)) -> RunState:
    """A poly run of `epochs` epochs whose λ went through `lams` (its label: 'λ=0→0.1 sgd')."""
    run = RunState(run_id, POLY)
    for k in range(1, epochs + 1):
        lam = lams[min(len(lams) - 1, (k - 1) * len(lams) // epochs)]
        run.apply(Epoch(k, 0.058, 7.14, lam * 30.0, 0.058, 30.0, lam=lam, lr=0.01, elapsed_s=0.1))
    return run


def _check(legend: Legend, lines: list[str], rows: int, width: int | None = None) -> int:
    """Assert the legend as shown in `lines` is whole and tidy; returns how many earlier runs
    it lists by name."""
    assert 1 <= len(lines) <= rows, lines
    if width is not None:
        assert all(len(line) <= width for line in lines), lines
    text = "\n".join(lines)
    # The tag, whole, once.
    assert sum(line.split("  ").count(legend.tag) for line in lines) == 1, lines
    # Every earlier run listed whole, on one line, in one of its forms; the newest first.
    listed = 0
    for line in lines:
        for piece in line.split("• ")[1:]:
            piece = piece.split("  ")[0].removesuffix(" ").split(" +")[0].removesuffix(" ")
            assert piece in legend.earlier[listed].forms, f"{piece!r} not whole: {lines}"
            listed += 1
    hidden = len(legend.earlier) - listed
    assert (f"+{hidden} more" in text) == (hidden > 0), lines
    assert not any(line.rstrip().endswith(("•", "earlier")) for line in lines), lines
    return listed


def test_the_legend_fits_every_width_whole_entries_newest_first() -> None:
    current = _run(9, 300)
    current.marks.append(Mark(100, "λ=0.1"))
    earlier = [
        _run(1, 300),
        _run(2, 300, (0.0, 0.001)),
        _run(3, 1378, (0.0, 0.01)),  # longer than the current run: cut, and said so
        _run(4, 300, (0.0, 0.1)),
    ]
    for count in range(MAX_OVERLAYS + 1):
        for marks in (False, True):
            run = current if marks else _run(9, 300)
            legend = legend_text(run, earlier[:count], log_y=count % 2 == 0)
            for width in range(36, 160):
                fitted = legend.fit(width, 2).plain.split("\n")
                listed = _check(legend, fitted, 2, width)
                if count and width >= 82:
                    assert listed >= 1  # the chart's width at 120 columns names one at least
            assert legend.fit(None).plain == legend.plain  # no width: one line, everything


def test_what_the_user_test_showed_now_fits() -> None:
    # Five n on poly: four earlier runs of 300 epochs, all 'λ=0 sgd poly'.
    current = _run(9, 300)
    earlier = [_run(i, 300) for i in range(4)]
    entry = "• λ=0 sgd poly: final test 7.14 train 0.058"
    legend = legend_text(current, earlier, True)
    # 120×40: the chart's legend has 82 columns.
    assert legend.fit(82, 2).plain == (
        f"now ━━ λ=0 sgd poly  earlier {entry}\n{entry} +2 more  log y"
    )
    # 80×24: 49 columns; the problem is the current run's, and the numbers do not fit.
    assert legend.fit(49, 2).plain == (
        "now ━━ λ=0 sgd poly  earlier • λ=0 sgd • λ=0 sgd\n• λ=0 sgd • λ=0 sgd  log y"
    )
    # A run longer than the current one says so, its epochs in full.
    longer = legend_text(current, [_run(1, 1378)], False)
    assert longer.fit(140, 2).plain == (
        "now ━━ λ=0 sgd poly  earlier • λ=0 sgd poly: final test 7.14 train 0.058 "
        "(1,378 epochs, cut to this run's)  linear y"
    )
    narrow = "now ━━ λ=0 sgd poly\nearlier • λ=0 sgd (1,378 epochs)  linear y"
    assert longer.fit(49, 2).plain == narrow


def _shown(widget: ChartLegend) -> list[str]:
    """The legend's lines as the terminal shows them."""
    region = widget.region
    strips = widget.render_lines(Region(0, 0, region.width, region.height))
    lines = [strip.text.rstrip() for strip in strips]
    return [line.strip() for line in lines if line.strip()]


@sync
async def test_after_five_new_runs_the_legend_fits_at_120x40_and_80x24() -> None:
    app = make_app(preset="poly")
    async with app.run_test(size=(120, 40)) as pilot:
        live = live_of(pilot)
        for _ in range(5):
            await running(pilot, min_epoch=1)
            before = live.current
            await keys(pilot, "n")
            await wait_for(pilot, lambda b=before: live.current is not b, "a new run")
        await running(pilot, min_epoch=1)
        widget = app.explorer.query_one("#legend", ChartLegend)
        legend = widget.content
        assert isinstance(legend, Legend) and len(legend.earlier) == MAX_OVERLAYS
        for size in ((120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await wait_for(pilot, lambda s=size: app.size == s, f"the terminal at {size}")
            await pilot.pause()
            legend = widget.content
            assert isinstance(legend, Legend)
            lines = _shown(widget)
            assert widget.region.height == len(lines) <= 2
            _check(legend, lines, 2, widget.content_size.width)


def _classifier_run(run_id: int, epochs: int) -> RunState:
    """A run whose epochs carry accuracies (train 98.9%, test 95.6% at the end)."""
    run = RunState(run_id, POLY)
    for k in range(1, epochs + 1):
        run.apply(
            Epoch(k, 0.05, 0.2, 0.0, 0.05, 12.5, lam=0.0, lr=0.01, elapsed_s=0.1,
                  train_accuracy=0.989, test_accuracy=0.956)
        )  # fmt: skip
    return run


def test_the_scale_tag_is_the_views_and_names_a_log_x() -> None:
    # The user test: the accuracy view (always linear) was tagged 'log y', and log x not at all.
    current, earlier = _classifier_run(9, 300), [_classifier_run(1, 300)]
    expected = {
        ("loss", True, False): "log y",
        ("loss", False, False): "linear y",
        ("accuracy", True, False): "linear y",
        ("accuracy", False, True): "linear y, log x",
        ("accuracy", True, True): "linear y, log x",
        ("norm", True, False): "log y",
        ("norm", False, False): "linear y",
        ("norm", True, True): "log y, log x",
        ("loss", True, True): "log y, log x",
    }
    for (view, log_y, log_x), tag in expected.items():
        legend = legend_text(current, earlier, log_y, view, log_x)  # type: ignore[arg-type]
        assert legend.tag == tag
        for width in (49, 82):  # the chart's width at 80×24 and at 120×40: the tag whole
            _check(legend, legend.fit(width, 2).plain.split("\n"), 2, width)


def test_earlier_runs_final_numbers_are_the_views() -> None:
    current, earlier = _classifier_run(9, 300), [_classifier_run(1, 300)]
    plain = {
        view: legend_text(current, earlier, True, view).plain
        for view in ("loss", "accuracy", "norm")
    }
    assert (
        plain["loss"]
        == "now ━━ λ=0 sgd poly  earlier • λ=0 sgd poly: final test 0.2 train 0.05  log y"
    )
    assert plain["accuracy"] == (
        "now ━━ λ=0 sgd poly  earlier • λ=0 sgd poly: final test 95.6% train 98.9%  linear y"
    )
    # ‖w‖²: one line on the chart, so one swatch, in its colour.
    assert plain["norm"] == "now ━ λ=0 sgd poly  earlier • λ=0 sgd poly: final ‖w‖² 12.5  log y"
    head = legend_text(current, earlier, True, "norm").head
    assert [span.style for span in head.spans][1] == f"bold {swatch(NORM_COLOR)}"
    # A regression run in the accuracy view (not drawn there) keeps its losses.
    mixed = legend_text(current, [_run(1, 300)], True, "accuracy").plain
    assert "final test 7.14 train 0.058  linear y" in mixed


@sync
async def test_the_explorers_legend_follows_v_x_and_y() -> None:
    app = WeightDecayApp(RunConfig(preset="cancer", epochs=60, save=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and show", timeout=120)
        widget = app.explorer.query_one("#legend", ChartLegend)

        def shows(tag: str) -> bool:  # whole, as one of the shown legend's entries
            return tag in [piece for line in _shown(widget) for piece in line.split("  ")]

        async def tag_after(key: str, tag: str) -> None:
            await keys(pilot, key)
            await wait_for(pilot, lambda: shows(tag), f"the legend's tag after {key}: {tag}")

        assert shows("log y")
        await tag_after("v", "linear y")  # accuracy: 0–100%, linear whatever y says
        await tag_after("x", "linear y, log x")
        await tag_after("v", "log y, log x")  # ‖w‖²: y's scale again
        await tag_after("y", "linear y, log x")
        await tag_after("x", "linear y")
