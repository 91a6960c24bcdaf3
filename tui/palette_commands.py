"""The command palette's commands: the keys of the screen it was opened from, and the settings
of the next run.

- Every key the screen declares is a command, titled with its description and key
  (`Restart (r)`); its help is the binding's tooltip, which says what the key does.
- Every choice of every Select in the explorer's Controls panel is a command
  (`Set mode: wd`), found at runtime: a Select added to the panel is offered with no code
  here. Choosing one sets the Select, so the panel shows it and `r` / `n` use it.
- Every field of the panel is one too: `Set epochs…` focuses it, and a query that ends in a
  value (`epochs 500`, `lambda 0.1`) offers `Set epochs: 500`, checked by the field's own
  validators and entered as if typed (λ and lr then apply to the running trainer).

A query is found in a command's title (fuzzy, as Textual's palette does), or word by word in
its help and in a few synonyms (`lambda` for λ, `decay`, `learning rate`), ranked below title
matches. Titles and help are shown as plain text, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import actions
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from tui.widgets.controls import Controls

# Not offered: Textual's palette has its own Quit (the app's, which saves first), and leaving
# a field is for the field's Escape.
NOT_IN_PALETTE = ("app.quit", "leave_input")
# A query found only in a command's help ranks below one found in its title; one found in a
# synonym of its title (`lambda` for λ) in between: the command is about it, not just near it.
HELP_WEIGHT = 0.5
SYNONYM_WEIGHT = 0.75
# The words a command is also found by, for words in its title or a control's name.
SYNONYMS = {
    "λ": "lambda weight decay penalty strength",
    "lr": "learning rate",
    "optim": "optimizer",
    "wd": "weight decay",
    "l2": "penalty ridge",
}
# Full names for the Controls panel's short labels, in the commands' titles.
FULL_NAMES = {"optim": "optimizer"}
# What a choice means, by the Select's id and the choice (another choice: its name alone).
CHOICE_HELP = {
    ("mode", "l2"): "the penalty λ·Σ‖w‖² is added to the loss",
    ("mode", "wd"): "the optimizer's own weight_decay = 2λ (weight decay)",
    ("mode", "none"): "no penalty at all (λ = 0)",
    ("optim", "sgd"): "plain stochastic gradient descent",
    ("optim", "adam"): "Adam: in wd mode the decay is coupled into its moment estimates",
    ("optim", "adamw"): "AdamW: in wd mode the decay is decoupled (w ← w − lr·2λ·w)",
    ("preset", "line"): "y = 3x + 2 + noise, 100 training rows",
    ("preset", "highdim"): "d2l's weight-decay demo: 200 features, 20 training rows",
    ("preset", "poly"): "d2l's cubic through 20 scaled monomials x^k/k!, 20 training rows",
    ("preset", "csv"): "the CSV file the explorer was started with",
}
# The fields whose Enter applies the value to the running trainer; the others wait for r or n.
LIVE_FIELDS = ("lam", "lr")
NEXT_RUN = "for the next run (r restarts, n starts a new run beside this one)"
WORD = re.compile(r"\d+(?:\.\d*)?(?:e[-+]?\d+)?|[^\W_]+")


@dataclass(frozen=True)
class Command:
    name: str  # what the query is matched against, fuzzily
    help: str
    run: Callable[[], Any]
    key: str = ""  # the key that does it, shown after the name
    words: str = ""  # more words it is found by, never shown
    current: bool = False  # a choice already made: offered, marked, not discovered

    @property
    def title(self) -> str:
        """The name, then the key (`Restart (r)`) or the mark of the current choice."""
        return (
            self.name
            + (f" ({self.key})" if self.key else "")
            + (" (current)" if self.current else "")
        )


# ----- finding a query in a command ---------------------------------------------------------


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


def query_words(query: str) -> list[str]:
    return [word for word in re.split(r"[\s=:]+", query.lower()) if word]


def _found_in(word: str, words: Iterable[str]) -> bool:
    return any(candidate.startswith(word) for candidate in words)


def word_score(query: str, command: Command) -> float:
    """Each word of the query starts a word of the title, of the title's synonyms (`lambda`
    for λ: SYNONYM_WEIGHT) or of the help (HELP_WEIGHT); 0 unless every one does. On the scale
    of Textual's fuzzy scores, where a word found at the start of a title word scores
    3 × (its length + 1)."""
    title = words_of(command.title)
    synonyms = words_of(synonyms_for(command.title))
    rest = words_of(f"{command.help} {command.words}")
    score = 0.0
    for word in query_words(query):
        found = 3 * (len(word) + 1)
        if word in title:  # a whole word: above a longer one it starts (mode, model)
            score += 4 * (len(word) + 1)
        elif _found_in(word, title):
            score += found
        elif _found_in(word, synonyms):
            score += SYNONYM_WEIGHT * found
        elif _found_in(word, rest):
            score += HELP_WEIGHT * found
        else:
            return 0.0
    return score


def synonyms_for(text: str) -> str:
    return " ".join(SYNONYMS[word] for word in words_of(text) if word in SYNONYMS)


def literal_markup(text: str) -> str:
    """`text` as Textual markup that shows it as it is: the palette parses a command's help
    as markup, and a help can quote what was typed or a CSV's path."""
    return text.replace("[", "\\[")


def highlighted(title: str, offsets: Iterable[int], style: Style) -> Content:
    content = Content(title)  # plain text: a title holds keys such as [ and ]
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(style, offset, offset + 1)
    return content


def title_offsets(query: str, title: str) -> list[int]:
    """Where each query word starts a word of the title (to highlight it)."""
    lower = title.lower()
    offsets: list[int] = []
    for word in query_words(query):
        for match in WORD.finditer(lower):
            if match.group().startswith(word):
                offsets.extend(range(match.start(), match.start() + len(word)))
                break
    return offsets


# ----- the commands -------------------------------------------------------------------------


def binding_commands(screen: Screen[Any]) -> Iterator[Command]:
    """The keys `screen` declares, in its order; a key its check_action turns off is left
    out (y has two bindings: only the one for the other axis is offered)."""
    app = screen.app
    for binding in type(screen).BINDINGS:
        if not isinstance(binding, Binding) or binding.action in NOT_IN_PALETTE:
            continue
        if not _enabled(screen, binding.action):
            continue
        key = binding.key_display or app.get_key_display(binding)
        yield Command(
            binding.description,
            binding.tooltip,
            partial(app.run_action, binding.action, screen),
            key=key,
        )


def _enabled(screen: Screen[Any], action: str) -> bool:
    namespace, name, parameters = actions.parse(action)
    target = {"": screen, "screen": screen, "app": screen.app}.get(namespace)
    return target is None or bool(target.check_action(name, parameters))


def control_commands(screen: Screen[Any], query: str = "") -> Iterator[Command]:
    """The choices of the Controls panel's Selects, its fields, and (for a query that ends
    in a value) the value for a field."""
    panel = next(iter(screen.query(Controls)), None)
    if panel is None:
        return
    for select in panel.query(Select):
        yield from _choice_commands(select)
    edited = {binding.action for binding in type(screen).BINDINGS if isinstance(binding, Binding)}
    for field in panel.query(Input):
        name = control_name(field)
        if f"edit('{field.id}')" not in edited:  # λ and lr have their keys, l and L
            yield Command(
                f"Set {name}…",
                "; ".join(
                    filter(
                        None, [tooltip_of(field), f"go to its field, or type “{name} VALUE” here"]
                    )
                ),
                field.focus,
                words=field.id or "",
            )
        value = _value_in(query, field, name)
        if value is not None:
            yield _value_command(screen, field, name, value)


def _choice_commands(select: Select[Any]) -> Iterator[Command]:
    name = control_name(select)
    current = select.value
    # Select keeps its choices in _options (prompt, value); Textual has no public reader.
    for prompt, value in select._options:
        if value is Select.BLANK:
            continue
        # What this choice means, else what the control is (its tooltip).
        meaning = CHOICE_HELP.get((select.id or "", str(value))) or tooltip_of(select)
        shown = str(prompt)  # a Text prompt (a CSV's path) as its plain text
        yield Command(
            f"Set {name}: {shown}",
            f"{meaning}; {NEXT_RUN}" if meaning else f"Used {NEXT_RUN}",
            partial(_choose, select, value),
            words=f"{select.id or ''} {tooltip_of(select)}",
            current=value == current,
        )


def _choose(select: Select[Any], value: object) -> None:
    select.value = value
    select.notify(f"{control_name(select)}: {select.value} {NEXT_RUN}", markup=False)


def control_name(widget: Widget) -> str:
    """The control's name as the panel labels it (the Label in its row), in full: the panel's
    short labels (`mom`, `batch`) are the start of their ids (`momentum`, `batch-size`)."""
    parent = widget.parent
    labels = list(parent.query_children(Label)) if parent is not None else []
    label = str(labels[0].render()).strip() if labels else ""
    full = (widget.id or "").replace("-", " ")
    if not label or (full.startswith(label) and not label.startswith(full)):
        label = full
    return FULL_NAMES.get(label, label)


def tooltip_of(widget: Widget) -> str:
    return str(widget.tooltip or "")


def _value_in(query: str, field: Input, name: str) -> str | None:
    """The value a query gives the field: its last word, when the words before it name the
    field (`epochs 500`, `set lambda 0.1`)."""
    words = query_words(query)
    naming = [word for word in words[:-1] if word != "set"]  # `set wd` names no field
    names = words_of(f"{name} {field.id or ''} {synonyms_for(name)}")
    if not naming or not all(_found_in(word, names) for word in naming):
        return None
    return query.strip().split()[-1].split("=")[-1].split(":")[-1]


def _value_command(screen: Screen[Any], field: Input, name: str, value: str) -> Command:
    result = field.validate(value)
    if result is not None and not result.is_valid:
        reason = result.failure_descriptions[0] if result.failure_descriptions else "invalid"
        return Command(
            f"Set {name}: {value}",
            f"Not valid: {reason}",
            lambda: screen.notify(f"{name} {value}: {reason}", severity="error", markup=False),
        )

    async def enter() -> None:
        field.value = value
        await field.action_submit()  # as Enter in the field: λ and lr apply at once

    live = field.id in LIVE_FIELDS
    return Command(
        f"Set {name}: {value}",
        f"{name} = {value} for the running trainer, from its next step"
        if live
        else f"{name} = {value} {NEXT_RUN}",
        enter,
    )


def screen_commands(screen: Screen[Any], query: str = "") -> list[Command]:
    return [*binding_commands(screen), *control_commands(screen, query)]


class ScreenCommands(Provider):
    """The palette's provider for the screen it was opened from (see the module's doc)."""

    async def search(self, query: str) -> Hits:
        fuzzy = FuzzySearch()
        style = self.matcher(query).match_style
        for command in screen_commands(self.screen, query):
            # The name only: the key's "(space)" must not match "pace".
            title_score, offsets = fuzzy.match(query, command.name)
            by_words = word_score(query, command)
            if by_words > title_score:
                title_score, offsets = by_words, title_offsets(query, command.title)
            if title_score > 0:
                yield Hit(
                    title_score,
                    highlighted(command.title, offsets, style),
                    command.run,
                    text=command.title,
                    help=literal_markup(command.help) or None,
                )

    async def discover(self) -> Hits:
        for command in screen_commands(self.screen):
            if command.current:
                continue  # choosing it would change nothing
            yield DiscoveryHit(
                Content(command.title),
                command.run,
                text=command.title,
                help=literal_markup(command.help) or None,
            )


__all__ = ["NOT_IN_PALETTE", "Command", "ScreenCommands", "screen_commands", "word_score"]
