"""The controls panel: λ and lr (applied live on Enter), then every setting of the next run
(applied by r and n), marked where it differs from the current run's.

Validation reuses the engine's own checks (`parse_number`, `check_lam`, `check_lr`, and those of
tui/state/run_settings.py) so the UI and `wdtui run` reject the same values with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Rule, Select, Static

from engine.config import (
    CSV_PRESET,
    PRESETS,
    PROBLEM_SETTINGS,
    ConfigError,
    RunConfig,
    check_init,
    check_lam,
    check_lr,
    parse_number,
    preset_of,
    problem_default,
)
from tui.state.run_settings import SETTINGS, ChoiceSetting, Setting, TypedSetting, applies, shown


def parse_lam(text: str) -> float:
    return check_lam(parse_number(text, "λ"))


def parse_lr(text: str) -> float:
    return check_lr(parse_number(text, "learning rate"))


# The settings another preset brings its own of, unless changed here: not epochs, the
# explorer's run length is its own (10,000 by default, or --epochs), kept across problems.
FOLLOWS_PROBLEM = tuple(name for name in PROBLEM_SETTINGS if name != "epochs")


class EngineCheck(Validator):
    """A Textual validator around one of the engine's parse-and-check functions."""

    def __init__(self, parse: Callable[[str], object]) -> None:
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


@dataclass(frozen=True)
class NextRunSettings:
    """What the controls hold for the next run: `next_run_config`'s `preset` and chosen
    settings, or, while a field is invalid, `refusal`: one line naming it."""

    preset: str
    chosen: dict[str, Any] = field(default_factory=dict)
    refusal: str = ""


class Controls(VerticalScroll):
    """Posts `ValueSubmitted` for a valid λ or lr entered; shows errors for the rest, and which
    next-run settings differ from the current run's."""

    BORDER_TITLE = "controls"

    DEFAULT_CSS = """
    Controls Rule.-horizontal {
        margin: 1 0 0 0;
        color: $primary 50%;
    }
    Controls .section {
        color: $text-accent;
        text-style: bold;
    }
    /* A setting that differs from the current run's: r or n will change it. */
    Controls .row.-changed > Label {
        text-style: bold;
        background: $warning 30%;
    }
    """

    @dataclass
    class ValueSubmitted(Message):
        """Enter in the λ or the lr field (`which`), holding a valid `value`. (Not named
        `control`: Message.control is the widget a message is about.)"""

        which: Literal["lam", "lr"]
        value: float

    def __init__(self, config: RunConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._config = config
        self._current = config  # what the next-run settings are compared with
        self._problem = preset_of(config)  # the problem the fields' defaults belong to
        # What the panel itself put in each next-run field (the current run's value, or another
        # problem's default): a field holding something else was changed by the user.
        self._auto = {setting.field: getattr(config, setting.field) for setting in SETTINGS}
        self._pending = ""  # what the pending line says

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
        yield Rule()
        yield Static("next run: r restarts, n adds one", classes="section")
        presets: list[tuple[str | Text, str]] = [(p, p) for p in PRESETS]
        if c.data is not None:  # a path is shown as it is, brackets and all (Text: no markup)
            # The file's name, not its path: the field is 20 columns wide (the status line and
            # the run's config.json give the whole path).
            presets.append((Text(f"csv: {Path(c.data).name}"), CSV_PRESET))
        yield from _choice("preset", "preset", presets, preset_of(c), "the problem (--preset)")
        for setting in SETTINGS:
            if isinstance(setting, TypedSetting):
                yield from _field(
                    setting.label,
                    setting.id,
                    shown(setting, c),
                    setting.parse,
                    setting.tooltip,
                    setting.placeholder,
                )
            else:
                yield from _choice(
                    setting.label, setting.id, setting.options, shown(setting, c), setting.tooltip
                )
                if setting.field == "init":  # refused with an MLP: said here, in the engine's words
                    yield Static("", id="init-error", classes="error")
        yield Static("", id="pending", classes="hint")

    # ----- reading and showing values -------------------------------------------------------

    def show_running(self, lam: float, lr: float) -> None:
        """Show the trainer's values (after a step key or a new run), without re-validating."""
        for input_id, value in (("#lam", lam), ("#lr", lr)):
            box = self.query_one(input_id, Input)
            with self.prevent(Input.Changed):
                box.value = fmt(value)
            box.remove_class("-invalid")
        self.show_error("lam", "")
        self.show_error("lr", "")

    def show_error(self, which: str, text: str) -> None:
        error = self.query_one(f"#{which}-error", Static)
        error.update(Text(text))  # it quotes what was typed: never parsed as markup
        error.display = bool(text)

    def show_config(self, config: RunConfig) -> None:
        """Show `config`'s settings in every next-run field and compare with it from now on:
        the run r or n starts (λ and lr excepted: `show_running` shows the trainer's)."""
        self._current = config
        self._problem = preset_of(config)
        self._auto = {setting.field: getattr(config, setting.field) for setting in SETTINGS}
        with self.prevent(Input.Changed, Select.Changed):
            self.query_one("#preset", Select).value = self._problem
            for setting in SETTINGS:
                self._show(setting, getattr(config, setting.field))
        self._update()

    def next_settings(self) -> NextRunSettings:
        """The settings r and n start the next run with: every one that applies to the chosen
        model and optimizer, or the refusal while one of them is invalid. On another problem,
        the problem's settings left as the panel showed them are not chosen: the engine gives
        that problem's own, which is what they show."""
        self._follow_problem()  # a preset chosen a moment ago, its Changed not handled yet
        preset = self._problem
        another_problem = preset != preset_of(self._current)
        model, optimizer = self._choice("model"), self._choice("optim")
        chosen: dict[str, Any] = {}
        for setting in SETTINGS:
            if not applies(setting, model, optimizer):
                continue  # dimmed, and not the next run's: never blocks r or n
            try:
                value = self._value(setting)
            except ConfigError as exc:
                return NextRunSettings(preset, refusal=_refusal(setting.label, exc))
            untouched = value == self._auto[setting.field]
            if another_problem and setting.field in FOLLOWS_PROBLEM and untouched:
                continue
            chosen[setting.field] = value
        try:
            check_init(model, chosen["init"])
        except ConfigError as exc:
            return NextRunSettings(preset, refusal=_refusal("init", exc))
        return NextRunSettings(preset, chosen)

    # ----- events ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        for box in self.query(Input):
            self.show_error(box.id or "", "")
        self.show_error("init", "")
        self._update()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        which = event.input.id or ""
        result = event.validation_result
        self.show_error(which, "" if result is None or result.is_valid else _first(result))
        self._update()

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        if event.select.id == "preset":
            self._follow_problem()
        self._update()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Submitted is posted for invalid values too: only a valid one is applied.
        event.stop()
        which = event.input.id or ""
        result = event.validation_result
        live = which in ("lam", "lr")
        if result is not None and not result.is_valid:
            self.show_error(which, _first(result) + " (not applied)")
            if not live:  # leave it all the same: r and n then say which field to fix
                self.screen.set_focus(None)
            return
        if which == "lam":
            self.post_message(self.ValueSubmitted("lam", parse_lam(event.value)))
        elif which == "lr":
            self.post_message(self.ValueSubmitted("lr", parse_lr(event.value)))
        else:  # a next-run setting, kept for r and n: leave the field, so r and n work at once
            self.screen.set_focus(None)

    # ----- the next run's settings ----------------------------------------------------------

    def _choice(self, widget_id: str) -> Any:
        return self.query_one(f"#{widget_id}", Select).value

    def _value(self, setting: Setting) -> Any:
        """The setting's value as the field holds it; raises ConfigError if it is invalid."""
        if isinstance(setting, TypedSetting):
            return setting.parse(self.query_one(f"#{setting.id}", Input).value)
        return self._choice(setting.id)

    def _show(self, setting: Setting, value: Any) -> None:
        if isinstance(setting, ChoiceSetting):
            self.query_one(f"#{setting.id}", Select).value = value
            return
        box = self.query_one(f"#{setting.id}", Input)
        box.value = setting.show(value)
        box.remove_class("-invalid")
        self.show_error(setting.id, "")

    def _follow_problem(self) -> None:
        """Another problem chosen: each of its settings the user has not changed shows what
        the next run will use: the current run's value on its own problem, the problem's
        default on another (next_run_config's rule). A value typed stays, as does an invalid
        one."""
        new = str(self._choice("preset"))
        if new == self._problem:
            return
        self._problem = new
        own = new == preset_of(self._current)
        with self.prevent(Input.Changed, Select.Changed):
            for setting in SETTINGS:
                name = setting.field
                if name not in FOLLOWS_PROBLEM:
                    continue
                try:
                    if self._value(setting) != self._auto[name]:
                        continue  # changed by the user: kept
                except ConfigError:
                    continue
                value = getattr(self._current, name) if own else problem_default(new, name)
                self._auto[name] = value
                self._show(setting, value)

    def _update(self) -> None:
        """Dim what does not apply, check init against the model, mark what differs from the
        current run's settings, and say what r and n will change."""
        model, optimizer = self._choice("model"), self._choice("optim")
        try:
            check_init(model, self._choice("init"))
            self.show_error("init", "")
        except ConfigError as exc:
            self.show_error("init", str(exc))
        changed = []
        if self._problem != preset_of(self._current):
            changed.append("preset")
        self.query_one("#preset-row").set_class(bool(changed), "-changed")
        for setting in SETTINGS:
            row = self.query_one(f"#{setting.id}-row")
            row.disabled = not applies(setting, model, optimizer)
            differs = not row.disabled and self._differs(setting)
            row.set_class(differs, "-changed")
            if differs:
                changed.append(setting.label)
        text = self._pending_text(changed)
        if text != self._pending:  # its height may change: no layout pass when it does not
            self._pending = text
            self.query_one("#pending", Static).update(text)

    def _differs(self, setting: Setting) -> bool:
        try:
            value = self._value(setting)
        except ConfigError:
            return False  # its error says what is wrong
        return bool(value != getattr(self._current, setting.field))

    def _pending_text(self, changed: list[str]) -> str:
        if not changed:
            return "the current run's settings: r or n runs them again"
        text = f"changed (applies on r or n): {', '.join(changed)}"
        if "preset" in changed:
            lam, lr = problem_default(self._problem, "lam"), problem_default(self._problem, "lr")
            text += f"; {self._problem} brings its own λ {lam:g} and lr {lr:g}"
        return text


def _field(
    label: str,
    id: str,
    value: str,
    parse: Callable[[str], object],
    tooltip: str | None = None,
    placeholder: str = "",
) -> ComposeResult:
    """A named Input checked as typed by the engine's own rule, with its error line below."""
    with Horizontal(classes="row", id=f"{id}-row"):
        yield Label(label, classes="name")
        yield Input(
            value,
            id=id,
            compact=True,
            placeholder=placeholder,
            validators=[EngineCheck(parse)],
            validate_on=["changed", "submitted"],
            tooltip=tooltip,
        )
    yield Static("", id=f"{id}-error", classes="error")


def _choice(
    label: str, id: str, options: Any, value: Any, tooltip: str | None = None
) -> ComposeResult:
    """A named Select in a row (the command palette finds it by its id, label and options)."""
    with Horizontal(classes="row", id=f"{id}-row"):
        yield Label(label, classes="name")
        yield Select(
            list(options), value=value, allow_blank=False, compact=True, id=id, tooltip=tooltip
        )


def _refusal(label: str, exc: ConfigError) -> str:
    return f"fix {label} to start a run: {exc}"


def _first(result: ValidationResult) -> str:
    return result.failure_descriptions[0] if result.failure_descriptions else "invalid value"
