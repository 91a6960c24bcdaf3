"""The λ values of a sweep, in one grammar for the command line and the explorer's field.

Entries are separated by commas; each is a λ (a number >= 0) or a log-spaced grid START:STOP:N.
"0, 1e-4:1e2:13" is λ = 0 plus 13 values half a decade apart (the default grid); "0, 0.001, 0.1"
a plain list. `wdtui sweep --lams` and the sweep view's λ field read the same text the same way;
`--lam-grid` is one grid entry. Messages name the text the way its caller calls it (a flag, or
nothing for a field that has none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.config import ConfigError, check_lam, parse_number

DEFAULT_GRID_START, DEFAULT_GRID_STOP, DEFAULT_GRID_N = 1e-4, 1e2, 13
DEFAULT_TEXT = "0, 1e-4:1e2:13"  # default_grid(), as a person types it (tested equal)
MAX_MEMBERS = 4096  # a typo such as N=1e9 should be refused, not allocated


def parse_lams(text: str) -> list[float]:
    """The λ values `text` names, in its order (duplicates kept); raises ConfigError."""
    if not text.strip():
        raise ConfigError(f"give λ values, e.g. {DEFAULT_TEXT}")
    values: list[float] = []
    for part in (part.strip() for part in text.split(",")):
        if not part:
            raise ConfigError(f"an empty entry between commas in {text.strip()!r}")
        if ":" in part:
            values.extend(parse_lam_grid(part))
        else:
            values.append(check_lam(parse_number(part, "λ")))
        _check_size(len(values))
    return values


def log_grid(start: float, stop: float, n: int, name: str = "grid") -> list[float]:
    """n log-spaced values from start to stop, both ends included exactly."""
    if not (math.isfinite(start) and start > 0):
        raise ConfigError(f"{name} START must be a finite number > 0, got {start:g}")
    if not math.isfinite(stop) or stop < start:
        raise ConfigError(f"{name} STOP must be finite and >= START ({start:g}), got {stop:g}")
    if n < 2:
        raise ConfigError(f"{name} N must be a whole number >= 2, got {n}")
    _check_size(n)
    lo, hi = math.log10(start), math.log10(stop)
    inner = [10 ** (lo + (hi - lo) * i / (n - 1)) for i in range(1, n - 1)]
    return [start, *inner, stop]


def parse_lam_grid(text: str, name: str = "grid") -> list[float]:
    """'1e-4:1e2:13' -> 13 log-spaced values from 1e-4 to 1e2."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ConfigError(f"{name} must be START:STOP:N (e.g. 1e-4:1e2:13), got {text!r}")
    start = parse_number(parts[0], f"{name} START")
    stop = parse_number(parts[1], f"{name} STOP")
    try:
        n = int(parts[2].strip())
    except ValueError:
        raise ConfigError(f"{name} N must be a whole number >= 2, got {parts[2]!r}") from None
    return log_grid(start, stop, n, name)


def default_grid() -> list[float]:
    """λ = 0 plus 13 values from 1e-4 to 1e2: half a decade apart."""
    return [0.0, *log_grid(DEFAULT_GRID_START, DEFAULT_GRID_STOP, DEFAULT_GRID_N)]


def resolve_lams(lams: str | None, lam_grid: str | None, with_zero: bool) -> list[float]:
    """The sweep's λ list from the command-line options; raises ConfigError."""
    if lams is not None and lam_grid is not None:
        raise ConfigError("give either --lams or --lam-grid, not both")
    if lams is not None:
        try:
            values = parse_lams(lams)
        except ConfigError as exc:
            raise ConfigError(f"--lams: {exc}") from None
    elif lam_grid is not None:
        values = parse_lam_grid(lam_grid, "--lam-grid")
    else:
        values = default_grid()
    if with_zero and 0.0 not in values:
        values = [0.0, *values]
    return values


def _check_size(n: int) -> None:
    if n > MAX_MEMBERS:
        raise ConfigError(f"a sweep trains at most {MAX_MEMBERS} λ values at once, got {n}")


def parse_sweep_lams(text: str) -> list[float]:
    """The explorer's λ field: the same grammar, sorted, duplicates dropped (its charts put λ
    on an axis)."""
    return sorted(set(parse_lams(text)))


def edge_note(lams: Sequence[float], best: float | None) -> str | None:
    """When the best λ sits at an edge of the grid, so that the optimum may lie outside it:
    what to say, with a grid (in this module's grammar, to type into the field or --lams) that
    extends it; None when the best λ is inside the grid, or nothing can be said.

    - the largest λ tried (> 0): the optimum may be beyond it;
    - the smallest λ tried, with no λ = 0 in the grid: the optimum may be below it, or 0;
    - the smallest λ > 0 with λ = 0 in the grid (so 0 did worse): the optimum may lie between
      0 and it.
    λ = 0 itself gets none: no λ lies below it, and the λ between it and the smallest λ > 0
    tried act less than that one.
    """
    values = sorted(set(lams))
    if best is None or best not in values or len(values) < 2 or best <= 0:
        return None
    if best == values[-1]:
        where, grid = "is the largest tried: the optimum may be beyond it", _grid(best, 100 * best)
    elif best == values[0]:
        where, grid = "is the smallest tried: the optimum may be below it", _grid(best / 100, best)
        grid = f"0, {grid}"
    elif values[0] == 0 and best == values[1]:
        where = "is the smallest λ > 0 tried and λ = 0 did worse: the optimum may lie between them"
        grid = _grid(best / 100, best)
    else:
        return None
    return f"best λ = {best:g} {where}; extend the grid (e.g. {grid})"


def _grid(start: float, stop: float) -> str:
    """START:STOP:5, half a decade apart over two decades, numbers written short (1e-06 → 1e-6)."""
    return f"{_short(start)}:{_short(stop)}:5"


def _short(value: float) -> str:
    mantissa, _, exponent = f"{value:g}".partition("e")
    return mantissa if not exponent else f"{mantissa}e{int(exponent)}"
