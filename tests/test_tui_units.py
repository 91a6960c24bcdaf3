"""Unit tests of the explorer's pure parts: the min/max history, tick labels, formatting, the
weight tables' numbers and how far the trained weights are from the ridge optimum."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tui.state.optimum_gap import CONVERGED_BELOW, optimum_gap
from tui.state.series import MinMaxSeries
from tui.widgets.ticks import epoch_label, epoch_ticks, log_ticks
from tui.widgets.weight_table import NUMBER_WIDTH, gap_text, num


@pytest.mark.parametrize("n", [1, 7, 100, 1000, 12_345, 300_001])
def test_buckets_keep_every_extreme(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.random(n)
    series = MinMaxSeries()
    series.extend(values[: n // 3])
    series.buckets(50)  # a draw in the middle: the pyramid must catch up incrementally
    for v in values[n // 3 :]:
        series.append(float(v))
    epochs, lows, highs = series.buckets(50)
    assert len(epochs) == min(n, 50)
    assert np.nanmin(lows) == values.min()
    assert np.nanmax(highs) == values.max()
    assert np.all(lows <= highs)
    assert np.all(np.diff(epochs) > 0) and epochs[0] >= 1 and epochs[-1] <= n + 1


def test_a_spike_survives_downsampling() -> None:
    series = MinMaxSeries()
    values = np.ones(1_000_000)
    values[654_321] = 1e6
    series.extend(values)
    _, _, highs = series.buckets(100)
    assert np.nanmax(highs) == 1e6
    assert np.sum(highs > 1) == 1


def test_non_finite_values_are_gaps() -> None:
    series = MinMaxSeries()
    for v in [1.0, math.inf, math.nan, None, 2.0]:
        series.append(v)
    epochs, lows, _ = series.buckets(10)
    assert list(epochs) == [1, 2, 3, 4, 5]
    assert lows[0] == 1 and lows[4] == 2
    assert all(math.isnan(x) for x in lows[1:4])


def test_log_ticks_label_decades() -> None:
    ticks, labels = log_ticks(-2.3, 1.2)
    assert labels == ["1e-2", "1e-1", "1e0", "1e1"]
    assert ticks == [-2.0, -1.0, 0.0, 1.0]


def test_log_ticks_within_a_decade_use_1_2_5() -> None:
    _, labels = log_ticks(math.log10(1.5), math.log10(9))
    assert labels == ["2", "5"]


def test_epoch_ticks_are_round() -> None:
    assert epoch_ticks(100) == ([25, 50, 75, 100], ["25", "50", "75", "100"])
    assert epoch_ticks(1_000_000)[1] == ["250k", "500k", "750k", "1M"]
    assert epoch_ticks(7)[1] == ["2", "4", "6"]
    assert epoch_ticks(10)[1] == ["5", "10"]
    assert epoch_label(1_500) == "1.5k" and epoch_label(2_000_000) == "2M"


def test_the_app_paints_before_torch_is_imported() -> None:
    """Importing the app must not import torch (~1.5 s here): it loads on a thread after the
    first paint, so `wdtui` shows its screen at once."""
    code = "import sys, tui.app, tui.launch; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ----- the weight tables' numbers and the optimum gap ------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.5181140382, "3.518"),
        (-0.02843, "-0.02843"),
        (-0.0008891, "-8.89e-4"),  # exponent form keeps 3 digits where plain keeps 2
        (3.553e6, "3.553e6"),
        (-1.051e8, "-1.051e8"),
        (1.983e11, "1.983e11"),
        (-1.234e-15, "-1.2e-15"),
        (0.0, "0"),
        (math.inf, "inf"),
        (None, ""),
    ],
)
def test_table_numbers_fit_their_columns_with_the_most_digits_that_fit(
    value: float | None, text: str
) -> None:
    assert num(value) == text
    assert len(num(value)) <= NUMBER_WIDTH


def test_every_number_fits_the_column_width() -> None:
    rng = np.random.default_rng(0)
    for value in rng.standard_normal(2000) * 10.0 ** rng.integers(-300, 300, 2000):
        shown = num(float(value))
        assert len(shown) <= NUMBER_WIDTH
        assert float(shown) == pytest.approx(float(value), rel=0.06)  # at least 1–2 digits


def test_the_optimum_gap_is_the_relative_distance_over_every_entry() -> None:
    trained = {"weight:0": 1.0, "weight:1": 2.0, "bias:0": 0.5}
    optimum = {"weight:0": 1.5, "weight:1": 2.0, "bias:0": 0.0}
    gap = optimum_gap(trained, optimum)
    expected = np.linalg.norm([-0.5, 0.0, 0.5]) / np.linalg.norm([1.5, 2.0, 0.0])
    assert gap is not None and gap.relative
    assert gap.distance == pytest.approx(expected)
    assert not gap.converged  # 0.28 ≥ CONVERGED_BELOW
    near = {key: value * (1 + CONVERGED_BELOW / 2) for key, value in optimum.items()}
    assert optimum_gap(near, optimum).converged  # type: ignore[union-attr]
    assert optimum_gap({}, optimum) is None


def test_a_zero_optimum_gives_the_absolute_distance_and_a_blown_up_run_is_not_converged() -> None:
    gap = optimum_gap({"weight:0": 3.0, "bias:0": 4.0}, {"weight:0": 0.0, "bias:0": 0.0})
    assert gap is not None and not gap.relative and gap.distance == 5.0
    assert gap_text(gap).plain == "⚠ not converged: ‖w−w*‖ = 5"
    huge = optimum_gap({"weight:0": 1e200, "bias:0": 1e200}, {"weight:0": 1.0, "bias:0": 1.0})
    assert huge is not None and huge.distance == pytest.approx(1e200)  # no overflow to inf
    for broken in (math.nan, math.inf):
        bad = optimum_gap({"weight:0": broken}, {"weight:0": 1.0})
        assert bad is not None and not bad.converged
    assert gap_text(optimum_gap({"w:0": 1.0}, {"w:0": 1.0})).plain.startswith("converged: ")
