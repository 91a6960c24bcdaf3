"""When the charts redraw: as often as the UI can afford without slowing training much.

The training thread needs the interpreter lock for every small torch op, so each ms the UI thread
spends drawing is a ms of training lost (measured: with the loss chart redrawn at 10 Hz, `line`
trained at ~0.77x its speed alone; without the chart, 0.97x). Each view keeps its charts to about
a tenth of a core, by one of two rules:

- `RedrawSchedule` (the explorer): the status line updates on every tick (REFRESH_HZ); the chart
  on the same ticks while the UI thread has used at most UI_CPU_BUDGET of a core lately (its own
  CPU time, measured, compositor included), and otherwise once CHART_MAX_WAIT_S has passed since
  its last frame. That is ~4-6 frames/s at 120x40 (more on a small terminal, fewer on a huge
  one), and training at >= 0.8x. A change of what is shown (another run, the log toggle, the
  earlier runs) redraws at once. The weight tables, numbers to read rather than watch flicker,
  update every TABLE_INTERVAL_S, and once more when the run ends.
- `ChartPacer` (the sweep view): each chart waits CHART_DUTY times the cost of its own last frame
  before the next, so drawing takes at most 1/(1 + CHART_DUTY) of the UI thread.

Two rules, not one: they measure different costs (the UI thread's whole CPU time; each chart's
own frame), and giving either view the other's rule would change how often it redraws.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

REFRESH_HZ = 10
UI_CPU_BUDGET = 0.10
CHART_MAX_WAIT_S = 0.5
TABLE_INTERVAL_S = 0.25
CHART_DUTY = 8


class UiCpuMeter:
    """The calling thread's recent CPU use, as a share of one core (a moving average). Made and
    read on the UI thread: `time.thread_time` counts the calling thread's time."""

    def __init__(
        self,
        wall: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.thread_time,
    ) -> None:
        self._wall, self._cpu = wall, cpu
        self._sample = (wall(), cpu())
        self._share = 0.0

    def share(self) -> float:
        wall, cpu = self._wall(), self._cpu()
        last_wall, last_cpu = self._sample
        self._sample = (wall, cpu)
        if wall > last_wall:
            share = (cpu - last_cpu) / (wall - last_wall)
            self._share = 0.6 * self._share + 0.4 * share
        return self._share


class RedrawSchedule:
    """The explorer's rule (see the module's docstring). Asking whether something is due
    records it as drawn when it is; `new_run` forgets what the last run showed."""

    def __init__(self, cpu_share: Callable[[], float] | None = None) -> None:
        self._cpu_share = cpu_share if cpu_share is not None else UiCpuMeter().share
        self._chart: tuple[Hashable, int] | None = None  # (view, version) last drawn
        self._chart_at = 0.0
        self._tables_version = -1
        self._tables_at = 0.0

    def new_run(self) -> None:
        self._chart = None
        self._tables_version = -1

    def chart_due(self, view: Hashable, version: int, now: float) -> bool:
        """Redraw the chart for `view` (what is shown: run, axis, overlays) whose data is at
        `version`? The UI's CPU use is sampled on every call, due or not."""
        affordable = self._cpu_share() <= UI_CPU_BUDGET or now - self._chart_at >= CHART_MAX_WAIT_S
        drawn = self._chart
        if drawn is None or view != drawn[0] or (version != drawn[1] and affordable):
            self._chart, self._chart_at = (view, version), now
            return True
        return False

    def chart_shows(self, version: int) -> bool:
        return self._chart is not None and self._chart[1] == version

    def tables_due(self, stats_version: int, active: bool, now: float) -> bool:
        """Redraw the weight tables with statistics at `stats_version` (of a run `active`)?"""
        if stats_version == self._tables_version:
            return False
        if now - self._tables_at < TABLE_INTERVAL_S and active:
            return False
        self._tables_version, self._tables_at = stats_version, now
        return True

    def tables_show(self, stats_version: int) -> bool:
        return self._tables_version == stats_version


class ChartPacer:
    """The sweep view's rule: a chart is due once CHART_DUTY × its last frame's cost has
    passed since that frame."""

    def __init__(self, duty: float = CHART_DUTY) -> None:
        self._duty = duty
        self._drawn_at: dict[str, float] = {}

    def due(self, name: str, last_cost_s: float, now: float, force: bool = False) -> bool:
        """Draw chart `name` now? If so (or `force`), it counts as drawn at `now`."""
        if force or now - self._drawn_at.get(name, 0.0) >= last_cost_s * self._duty:
            self._drawn_at[name] = now
            return True
        return False
