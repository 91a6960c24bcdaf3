"""The controls panel: λ and lr (applied live on Enter), and the settings applied on restart.

Validation reuses the engine's own checks (`parse_number`, `check_lam`, `check_lr`) so the UI
and `wdtui run` reject the same values with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, Static

from engine.config import (
    CSV_PRESET,
    OPTIMIZERS,
    PRESETS,
    REG_MODES,
    ConfigError,
    RunConfig,
    check_lam,
    check_lr,
    parse_number,
    preset_of,
)


def parse_lam(text: str) -> float:
    return check_lam(parse_number(text, "λ"))


def parse_lr(text: str) -> float:
    return check_lr(parse_number(text, "learning rate"))


def parse_epochs(text: str) -> int:
    try:
        epochs = int(text.strip())
    except ValueError:
        raise ConfigError(f"epochs must be a whole number, got {text.strip()!r}") from None
    if epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {epochs}")
    return epochs


class EngineCheck(Validator):
    """A Textual validator around one of the engine's parse-and-check functions."""

    def __init__(self, parse: Callable[[str], float]) -> None:
        super().__init__()
        self._parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self._parse(value)
        except ConfigError as exc:
            return self.failure(str(exc))
        return self.success()


def fmt(value: float) -> str:
    return f"{value:g}"


class Controls(VerticalScroll):
    """Posts `ValueSubmitted` for a valid λ or lr entered; shows errors for the rest."""

    BORDER_TITLE = "controls"

    @dataclass
    class ValueSubmitted(Message):
        """Enter in the λ or the lr field (`which`), holding a valid `value`. (Not named
        `control`: Message.control is the widget a message is about.)"""

        which: Literal["lam", "lr"]
        value: float

    def __init__(self, config: RunConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._config = config

    def compose(self) -> ComposeResult:
        c = self._config
        yield from _field(
            "λ", "lam", fmt(c.effective_lam), parse_lam,
            "penalty strength; Enter applies it to the running trainer",
        )  # fmt: skip
        yield from _field(
            "lr", "lr", fmt(float(c.lr or 0)), parse_lr,
            "learning rate; Enter applies it to the running trainer",
        )  # fmt: skip
        yield Static("Enter applies λ, lr now; + - * / step them", classes="hint")
        presets: list[tuple[str | Text, str]] = [(p, p) for p in PRESETS]
        if c.data is not None:  # a path is shown as it is, brackets and all (Text: no markup)
            presets.append((Text(f"csv: {c.data}"), CSV_PRESET))
        for name, options, value in (
            ("mode", REG_MODES, c.reg),
            ("optim", OPTIMIZERS, c.optimizer),
        ):
            with Horizontal(classes="row"):
                yield Label(name, classes="name")
                yield Select(
                    [(o, o) for o in options],
                    value=value,
                    allow_blank=False,
                    compact=True,
                    id=name,
                )
        with Horizontal(classes="row"):
            yield Label("preset", classes="name")
            yield Select(
                presets,
                value=preset_of(c),
                allow_blank=False,
                compact=True,
                id="preset",
            )
        yield from _field("epochs", "epochs", str(c.epochs), parse_epochs)
        yield Static("r: restart, n: new run with these", id="pending", classes="hint")

    # ----- reading and showing values -------------------------------------------------------

    def show_running(self, lam: float, lr: float) -> None:
        """Show the trainer's values (after a step key or a new run), without re-validating."""
        for input_id, value in (("#lam", lam), ("#lr", lr)):
            field = self.query_one(input_id, Input)
            with self.prevent(Input.Changed):
                field.value = fmt(value)
            field.remove_class("-invalid")
        self.show_error("lam", "")
        self.show_error("lr", "")

    def show_error(self, which: str, text: str) -> None:
        error = self.query_one(f"#{which}-error", Static)
        error.update(Text(text))  # it quotes what was typed: never parsed as markup
        error.display = bool(text)

    def restart_settings(self) -> tuple[str, str, str, int | None]:
        """(mode, optimizer, preset, epochs or None if that field is invalid)."""
        epochs_text = self.query_one("#epochs", Input).value
        try:
            epochs: int | None = parse_epochs(epochs_text)
        except ConfigError:
            epochs = None
        return (
            str(self.query_one("#mode", Select).value),
            str(self.query_one("#optim", Select).value),
            str(self.query_one("#preset", Select).value),
            epochs,
        )

    def set_epochs(self, epochs: int) -> None:
        field = self.query_one("#epochs", Input)
        with self.prevent(Input.Changed):
            field.value = str(epochs)

    # ----- events ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        for which in ("lam", "lr", "epochs"):
            self.show_error(which, "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        which = event.input.id or ""
        result = event.validation_result
        self.show_error(which, "" if result is None or result.is_valid else _first(result))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Submitted is posted for invalid values too: only a valid one is applied.
        event.stop()
        which = event.input.id or ""
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.show_error(which, _first(result) + " (not applied)")
            return
        if which == "lam":
            self.post_message(self.ValueSubmitted("lam", parse_lam(event.value)))
        elif which == "lr":
            self.post_message(self.ValueSubmitted("lr", parse_lr(event.value)))


def _field(
    label: str, id: str, value: str, parse: Callable[[str], float], tooltip: str | None = None
) -> ComposeResult:
    """A named Input checked as typed by the engine's own rule, with its error line below."""
    with Horizontal(classes="row"):
        yield Label(label, classes="name")
        yield Input(
            value,
            id=id,
            compact=True,
            validators=[EngineCheck(parse)],
            validate_on=["changed", "submitted"],
            tooltip=tooltip,
        )
    yield Static("", id=f"{id}-error", classes="error")


def _first(result: ValidationResult) -> str:
    return result.failure_descriptions[0] if result.failure_descriptions else "invalid value"
