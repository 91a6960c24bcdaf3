"""Unit tests of the explorer's pure parts: the min/max history, tick labels, formatting."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tui.state.series import MinMaxSeries
from tui.widgets.ticks import epoch_label, epoch_ticks, log_ticks


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
