"""Parameters as the events carry them (nested lists, as JSON has them) made flat."""

from __future__ import annotations

from typing import Any


def flatten(value: Any) -> list[float]:
    """Nested lists (a parameter's values, e.g. `Finished.weights["weight"]`) -> a flat list."""
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in flatten(item)]
    return [float(value)]
