"""The sweep view's λ field: the engine's λ grammar (engine/sweep/lams.py), checked as typed.

"0, 1e-4:1e2:13" is λ = 0 plus 13 log-spaced values; "0, 0.001, 0.1" a plain list;
"1e-3:10:5, +0" the same grid with zero added. `wdtui sweep --lams` reads the same text.
"""

from __future__ import annotations

from textual.validation import ValidationResult, Validator

from engine.config import ConfigError
from engine.sweep.lams import DEFAULT_TEXT, parse_sweep_lams

__all__ = ["DEFAULT_TEXT", "LamsCheck", "parse_sweep_lams"]


class LamsCheck(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            parse_sweep_lams(value)
        except ConfigError as exc:
            return self.failure(str(exc))
        return self.success()
