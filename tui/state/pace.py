"""The explorer's pace: the most epochs per second a run trains at, stepped by `[` and `]`.

A cap, not a target: a run slower than its pace just runs at its own speed. Slow enough to
watch (10/s: `highdim` overfits over a few seconds), up to no cap at all.
"""

from __future__ import annotations

PACES: tuple[float | None, ...] = (1, 3, 10, 30, 100, 300, 1000, None)  # None: no cap
DEFAULT_PACE = 10.0
# Problems whose story takes thousands of epochs start without a cap (grokking: memorised by
# epoch 40, understood around epoch 1,000).
PRESET_PACES: dict[str, float | None] = {"grokking": None}
PACE_NOT_GIVEN = -1.0  # the --pace default: the problem's own


def default_pace(preset: str | None) -> float | None:
    """The pace the explorer starts a problem at, when --pace does not say."""
    return PRESET_PACES.get(preset or "", DEFAULT_PACE)


def faster_pace(pace: float | None) -> float | None:
    """The next step up from `pace` (None, no cap, stays)."""
    if pace is None:
        return None
    return next((p for p in PACES if p is None or p > pace), None)


def slower_pace(pace: float | None) -> float | None:
    """The next step down from `pace`; the slowest stays."""
    caps = [p for p in PACES if p is not None]
    if pace is None:
        return caps[-1]
    lower = [p for p in caps if p < pace]
    return lower[-1] if lower else caps[0]


def pace_text(pace: float | None) -> str:
    return "no cap" if pace is None else f"cap {pace:,g}/s"
