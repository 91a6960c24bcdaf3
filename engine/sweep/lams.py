"""The λ values of a sweep: an explicit list, a log-spaced grid, or the default grid."""

from __future__ import annotations

import math

from engine.config import ConfigError, check_lam, parse_number

DEFAULT_GRID_START, DEFAULT_GRID_STOP, DEFAULT_GRID_N = 1e-4, 1e2, 13
MAX_MEMBERS = 4096  # a typo such as N=1e9 should be refused, not allocated


def parse_lams(text: str) -> list[float]:
    """'0,0.001,0.01' -> [0.0, 0.001, 0.01]; every value a finite number >= 0."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise ConfigError(f"--lams must be numbers separated by commas, got {text!r}")
    lams = [check_lam(parse_number(part, "every λ in --lams")) for part in parts]
    _check_size(len(lams))
    return lams


def log_grid(start: float, stop: float, n: int) -> list[float]:
    """n log-spaced values from start to stop, both ends included exactly."""
    if not (math.isfinite(start) and start > 0):
        raise ConfigError(f"--lam-grid START must be a finite number > 0, got {start:g}")
    if not math.isfinite(stop) or stop < start:
        raise ConfigError(f"--lam-grid STOP must be finite and >= START ({start:g}), got {stop:g}")
    if n < 2:
        raise ConfigError(f"--lam-grid N must be a whole number >= 2, got {n}")
    _check_size(n)
    lo, hi = math.log10(start), math.log10(stop)
    inner = [10 ** (lo + (hi - lo) * i / (n - 1)) for i in range(1, n - 1)]
    return [start, *inner, stop]


def parse_lam_grid(text: str) -> list[float]:
    """'1e-4:1e2:13' -> 13 log-spaced values from 1e-4 to 1e2."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ConfigError(f"--lam-grid must be START:STOP:N (e.g. 1e-4:1e2:13), got {text!r}")
    start = parse_number(parts[0], "--lam-grid START")
    stop = parse_number(parts[1], "--lam-grid STOP")
    try:
        n = int(parts[2].strip())
    except ValueError:
        raise ConfigError(f"--lam-grid N must be a whole number >= 2, got {parts[2]!r}") from None
    return log_grid(start, stop, n)


def default_grid() -> list[float]:
    """λ = 0 plus 13 values from 1e-4 to 1e2: half a decade apart."""
    return [0.0, *log_grid(DEFAULT_GRID_START, DEFAULT_GRID_STOP, DEFAULT_GRID_N)]


def resolve_lams(lams: str | None, lam_grid: str | None, with_zero: bool) -> list[float]:
    """The sweep's λ list from the command-line options; raises ConfigError."""
    if lams is not None and lam_grid is not None:
        raise ConfigError("give either --lams or --lam-grid, not both")
    if lams is not None:
        values = parse_lams(lams)
    elif lam_grid is not None:
        values = parse_lam_grid(lam_grid)
    else:
        values = default_grid()
    if with_zero and 0.0 not in values:
        values = [0.0, *values]
    return values


def _check_size(n: int) -> None:
    if n > MAX_MEMBERS:
        raise ConfigError(f"a sweep trains at most {MAX_MEMBERS} λ values at once, got {n}")
