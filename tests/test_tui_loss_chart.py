"""The loss chart, legend and readout in the explorer, through the Pilot: the classic highdim
comparison readable at 80×24, the earlier run's final numbers and preset in the legend, the
x axis following the current run, the predict-the-mean baseline and R² against scikit-learn."""

from __future__ import annotations

import re

import numpy as np
from rich.text import Text
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_squared_error, r2_score
from textual.pilot import Pilot
from textual.widgets import Static

from engine.config import RunConfig
from engine.data import load_dataset
from support.engine import epochs_of, run_to_end
from support.tui import keys, live_of, settle, sync, type_into, wait_for
from tui.app import WeightDecayApp
from tui.theme import OVERLAY_COLORS, TEST_COLOR, swatch
from tui.widgets.loss_chart import LossChart
from tui.widgets.readout import Readout

SMALL = (80, 24)
HIGHDIM = {"preset": "highdim", "seed": 0, "save": False}


async def new_run_with(pilot: Pilot, lam: str, epochs: str | None = None) -> None:
    """Type λ (and epochs) in the controls and press n: a new run over the dimmed last one."""
    live = live_of(pilot)
    before = live.current
    await type_into(pilot, "lam", lam)
    if epochs is not None:  # taken by the next run: Escape leaves the field, keeping it
        await type_into(pilot, "epochs", epochs, enter=False)
        await keys(pilot, "escape")
    await keys(pilot, "n")
    await wait_for(pilot, lambda: live.current is not before, "the new run")
    await settle(pilot)


def rows_in_colour(text: Text, color: tuple[int, int, int], first_col: int) -> set[int]:
    """The lines of `text` with a non-blank character of this colour at or right of a column."""
    want = swatch(color)
    starts = [0]
    for line in text.plain.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    found = set()
    for span in text.spans:
        style = span.style
        color_of = getattr(getattr(style, "color", None), "triplet", None)
        if color_of is None or color_of.hex != want:
            continue
        for row, start in enumerate(starts):
            line_end = start + len(text.plain.split("\n")[row])
            lo, hi = max(span.start, start + first_col), min(span.end, line_end)
            if lo < hi and text.plain[lo:hi].strip():
                found.add(row)
    return found


@sync
async def test_the_classic_comparison_reads_at_80x24() -> None:
    app = WeightDecayApp(RunConfig(epochs=100, **HIGHDIM))  # type: ignore[arg-type]
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await new_run_with(pilot, "3")
        live = live_of(pilot)
        (overfit,) = live.earlier
        chart = app.query_one(LossChart)
        legend = str(app.query_one("#legend", Static).render())
        readout = str(app.query_one(Readout).render())
        frame = chart.render()
        assert isinstance(frame, Text)
        trainer = live.trainer
        assert trainer is not None

    # The earlier run, by name (at 80 columns its preset, the current run's, is named once),
    # with its final numbers: those of the same run trained headless.
    reference = epochs_of(run_to_end(preset="highdim", seed=0, epochs=100, lam=0.0)[1])[-1]
    assert reference.test_loss is not None and reference.train_loss < 1e-10
    assert overfit.label == "λ=0 sgd"
    final = f"final test {reference.test_loss:.3g} train {reference.train_loss:.2g}"
    assert legend == f"now ━━ λ=3 sgd highdim  log y\nearlier • λ=0 sgd: {final}"

    # The baseline, named with its value in the test panel's frame: scikit-learn's mean
    # predictor on the same split.
    data = load_dataset(RunConfig(**HIGHDIM).resolved())  # type: ignore[arg-type]
    assert data.x_test is not None and data.y_test is not None
    x_train, y_train = data.x_train.double().numpy(), data.y_train.double().numpy().ravel()
    x_test, y_test = data.x_test.double().numpy(), data.y_test.double().numpy().ravel()
    dummy = DummyRegressor(strategy="mean").fit(x_train, y_train)
    baseline = mean_squared_error(y_test, dummy.predict(x_test))
    lines = frame.plain.split("\n")
    assert f"─ test (log) ┄ predict-the-mean {baseline:.3g} " in lines[0]
    split = next(r for r, line in enumerate(lines) if "├─ train (log) " in line)

    # λ = 0's test curve (dimmed, ≈ 0.31) and λ = 3's (≈ 0.018) on rows of their own, one
    # above the other, in the second half of the epochs.
    late = lines[split].index("├") + (len(lines[split]) - lines[split].index("├")) // 2
    test_panel = Text("\n").join(frame.split("\n")[1:split])
    earlier_rows = rows_in_colour(test_panel, OVERLAY_COLORS[0], late)
    current_rows = rows_in_colour(test_panel, TEST_COLOR, late)
    assert earlier_rows and current_rows and max(earlier_rows) < min(current_rows)

    # R² of the test loss beside it, as scikit-learn scores the final model's predictions.
    weight, bias = trainer.model.weight.detach().double().numpy(), trainer.model.bias.item()
    r2 = r2_score(y_test, x_test @ weight.ravel() + bias)
    shown = re.search(r"R² (\S+)", readout)
    assert shown is not None and 0 < r2 < 0.2  # the best λ barely beats the mean
    assert float(shown.group(1)) == np.float64(f"{r2:.4g}")
    # Beside the losses, before the rest; at 80 columns the fields after it that do not fit
    # whole are left out (here ‖w‖², whose table is below), never cut.
    assert readout.startswith("train ") and readout.index("test ") < readout.index("R² ")
    assert readout.endswith(shown.group(0))


@sync
async def test_a_shorter_new_run_is_not_squashed_by_a_longer_earlier_one() -> None:
    app = WeightDecayApp(RunConfig(epochs=100, **HIGHDIM))  # type: ignore[arg-type]
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await new_run_with(pilot, "3", epochs="40")
        chart = app.query_one(LossChart)
        frame = chart.render()
        legend = str(app.query_one("#legend", Static).render())
        await keys(pilot, "y")
        await wait_for(pilot, lambda: chart.painted_log_y is False, "a linear frame")
        linear = chart.render()
    assert isinstance(frame, Text) and isinstance(linear, Text)
    # The axis spans the new run's 40 epochs; the 100-epoch run is drawn to 40 and says so.
    x_labels = frame.plain.split("\n")[-1].split()
    assert x_labels[-1] == "40" and "100" not in x_labels
    # (At 80 columns the legend has room for its name and length; tests/test_tui_legend.py.)
    assert legend == "now ━━ λ=3 sgd highdim\nearlier • λ=0 sgd (100 epochs)  log y"
    # Linear: the panels say so, and no y label is negative.
    assert "─ test (linear) " in linear.plain and "├─ train (linear) " in linear.plain
    y_labels = [line.split("┤")[0].strip() for line in linear.plain.split("\n") if "┤" in line]
    assert [label for label in y_labels if label] and not any("-" in y for y in y_labels)
