"""The sweep view's λ field: a comma list of λ values and START:STOP:N grids, mixed.

"0, 1e-4:1e2:13" is λ = 0 plus 13 log-spaced values; "0, 0.001, 0.1" a plain list;
"1e-3:10:5, +0" the same grid with zero added. The engine's own parsers do the checking, so
the field and `wdtui sweep` refuse the same values; their messages name the CLI flags, which
are reworded here for a field that has none.
"""

from __future__ import annotations

from textual.validation import ValidationResult, Validator

from engine.config import ConfigError, check_lam, parse_number
from engine.sweep.lams import MAX_MEMBERS, parse_lam_grid

# The engine's default grid (`default_grid()`, tested equal), written the way a person types it.
DEFAULT_TEXT = "0, 1e-4:1e2:13"
_FLAG_WORDS = (("--lam-grid ", "grid "), ("--lam-grid", "a grid"), ("--lams", "the λ list"))


def _reworded(exc: ConfigError) -> ConfigError:
    text = str(exc)
    for flag, words in _FLAG_WORDS:
        text = text.replace(flag, words)
    return ConfigError(text)


def parse_sweep_lams(text: str) -> list[float]:
    """The λ values `text` names, sorted, duplicates dropped; raises ConfigError (one line)."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip():
        raise ConfigError(f"give λ values, e.g. {DEFAULT_TEXT}")
    values: list[float] = []
    for part in parts:
        if not part:
            raise ConfigError("an empty entry between commas")
        try:
            if ":" in part:
                values.extend(parse_lam_grid(part))
            else:
                values.append(check_lam(parse_number(part, "λ")))
        except ConfigError as exc:
            raise _reworded(exc) from None
        if len(values) > MAX_MEMBERS:
            raise ConfigError(f"a sweep trains at most {MAX_MEMBERS} λ values at once")
    return sorted(set(values))


def compact(lams: list[float]) -> str:
    """A short description for a title: '14 λ, 0 … 100'."""
    if len(lams) == 1:
        return f"λ = {lams[0]:g}"
    return f"{len(lams)} λ, {min(lams):g} … {max(lams):g}"


class LamsCheck(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            parse_sweep_lams(value)
        except ConfigError as exc:
            return self.failure(str(exc))
        return self.success()
