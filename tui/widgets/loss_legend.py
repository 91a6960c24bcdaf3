"""The loss chart's legend, under it: the current run's key, each earlier run's (its dimmed
colour, name, problem and final numbers), the key to the λ/lr marks, and the axes' scales. It
follows the chart's view (`v`): the final numbers and the scale tag are the view's (accuracy
is always on a linear y), and the tag says `log x` when the epoch axis is (`x`).

It is fitted to its box (`ChartLegend`: as wide as the chart, as many rows as explorer.tcss's
`#legend` max-height allows): a line breaks only between two entries, never inside one, so no
entry is ever half shown, and the scale tag is always there, whole. What gives way, in order:

1. the earlier runs listed, newest first, as many as fit in full, then `+N more` (the older
   ones, still drawn on the chart);
2. if not even one fits in full: each earlier run shorter (`EARLIER_FORMS`), the problem left
   out where it is the current run's and the note on a longer run cut to `(N epochs)`, then the
   final numbers too;
3. last, no earlier run by name: `earlier +N more`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.widgets import Static

from tui.state.live_run import MAX_OVERLAYS
from tui.state.run_state import RunState
from tui.theme import MARK_COLOR, NORM_COLOR, OVERLAY_COLORS, TEST_COLOR, TRAIN_COLOR, swatch
from tui.widgets.loss_chart import ChartView, short_number, x_extent

EARLIER_FORMS = 3  # full; problem left out where it is the current run's; name only
DEFAULT_ROWS = 2  # without a max-height in cells on the widget
GROUP_GAP, ENTRY_GAP = "  ", " "  # between the legend's groups; between two earlier runs
CUT_NOTE = ", cut to this run's"


def earlier_entry(
    run: RunState,
    end: int,
    form: int = 0,
    current_problem: str = "",
    view: ChartView = "loss",
) -> str:
    """'λ=0 sgd highdim: final test 0.307 train 3e-14', plus '(1,378 epochs, cut to this
    run's)' when the run trained past the x axis (the current run's `end` epochs). The final
    numbers are the `view`'s: the losses, the accuracies ('test 95.6% train 98.9%', the
    losses for a run without them), or '‖w‖² 1.23'.

    Shorter `form`s: 1 leaves the problem out where it is `current_problem` and says
    '(1,378 epochs)' for the cut; 2 leaves the final numbers out too. Nothing in it changes
    while the current run trains, so the legend is not laid out again on every frame."""
    problem = run.config.source_name
    text = run.label if form and problem == current_problem else f"{run.label} {problem}"
    last = run.last
    if last is not None and form < 2:
        text += ": final"
        if view == "norm":
            text += f" ‖w‖² {short_number(last.weight_sq_norm)}"
        elif view == "accuracy" and last.train_accuracy is not None:
            if last.test_accuracy is not None:
                text += f" test {last.test_accuracy:.1%}"
            text += f" train {last.train_accuracy:.1%}"
        else:
            if last.test_loss is not None:
                text += f" test {short_number(last.test_loss)}"
            text += f" train {short_number(last.train_loss, 2)}"
    if run.epochs_seen > end:
        text += f" ({run.epochs_seen:,} epochs{'' if form else CUT_NOTE})"
    return text


@dataclass
class Earlier:
    """One earlier run's entry, in each of its forms (the fullest first), in its colour."""

    forms: tuple[str, ...]
    style: str


@dataclass
class Legend:
    """The legend's parts, laid out by `fit` for a box of a given width and rows. As a Rich
    renderable (`__rich__`), it is the whole legend on one line."""

    head: Text  # 'now ━━ λ=3 sgd highdim', or empty before the first run
    earlier: list[Earlier]  # newest first
    marks: bool  # the current run has λ/lr marks on the chart
    tag: str  # the axes' scales: 'log y', 'linear y', either with ', log x'

    @property
    def plain(self) -> str:
        return self.__rich__().plain

    def __rich__(self) -> Text:
        return self._laid_out(0, len(self.earlier), None)[0]

    def fit(self, width: int | None, rows: int = DEFAULT_ROWS) -> Text:
        """The legend in at most `rows` lines of `width` columns (one line without a width),
        with as much in it as fits, in the order the module's docstring gives."""
        if width is None:
            return self.__rich__()
        count = len(self.earlier)
        tries = [(form, n) for form in range(EARLIER_FORMS) for n in range(count, 0, -1)]
        tries.append((EARLIER_FORMS - 1, 0))
        text = Text()
        for form, shown in tries:
            text, used = self._laid_out(form, shown, width)
            if used <= rows:
                break
        return text  # in a box too narrow for even the last try, the box crops it

    def _laid_out(self, form: int, shown: int, width: int | None) -> tuple[Text, int]:
        """The legend with the `shown` newest earlier runs in their `form`, its lines broken
        between entries to fit `width`, and the rows it takes there."""
        units: list[tuple[Text, str]] = []  # each never broken, and the gap before it
        if self.head:
            units.append((self.head, GROUP_GAP))
        if self.earlier:
            parts = [
                Text.assemble(("• ", f"bold {entry.style}"), (entry.forms[form], entry.style))
                for entry in self.earlier[:shown]
            ]
            hidden = len(self.earlier) - shown
            if hidden:
                parts.append(Text(f"+{hidden} more", style="dim"))
            # "earlier" starts its first entry: never left alone at the end of a line.
            parts[0] = Text.assemble(Text("earlier ", style="dim"), parts[0])
            units += [(part, GROUP_GAP if i == 0 else ENTRY_GAP) for i, part in enumerate(parts)]
        if self.marks:
            units.append((Text("│ λ/lr changed", style=swatch(MARK_COLOR)), GROUP_GAP))
        lines = _packed(units, width)
        tag = Text(self.tag, style="dim italic")
        # The tag ends the last line, or the first line with room for it, or a line of its own.
        room = [i for i, line in enumerate(lines) if _fits(line, GROUP_GAP, tag, width)]
        at = len(lines) - 1 if len(lines) - 1 in room else (room[0] if room else None)
        if at is None:
            lines.append(Text())
            at = len(lines) - 1
        lines[at].append((GROUP_GAP if lines[at] else "") + self.tag, style=tag.style)
        used = sum(_rows(line, width) for line in lines)
        return Text("\n").join(lines), used


def _fits(line: Text, gap: str, unit: Text, width: int | None) -> bool:
    return width is None or not line or line.cell_len + len(gap) + unit.cell_len <= width


def _packed(units: Sequence[tuple[Text, str]], width: int | None) -> list[Text]:
    """The units in lines of `width` columns, a line breaking only between two of them."""
    lines = [Text()]
    for unit, gap in units:
        if not _fits(lines[-1], gap, unit, width):
            lines.append(Text())
        if lines[-1]:
            lines[-1].append(gap)
        lines[-1].append_text(unit)
    return lines


def _rows(line: Text, width: int | None) -> int:
    """The rows a line takes (one wider than the box, a unit too long for any line, wraps)."""
    return 1 if width is None else max(1, -(-line.cell_len // max(1, width)))


def scale_tag(
    log_y: bool, view: ChartView = "loss", log_x: bool = False, smoothing: float = 0.0
) -> str:
    """The axes' scales as the chart draws them: accuracy (a share of 0–100%) is always on a
    linear y; the losses and ‖w‖² follow `y`; the epoch axis is named only when it is log;
    then the curves' smoothing, when on ('smoothed 0.9')."""
    tag = "log y" if log_y and view != "accuracy" else "linear y"
    if log_x:
        tag += ", log x"
    return f"{tag}, smoothed {smoothing:g}" if smoothing else tag


def legend_text(
    current: RunState | None,
    earlier: Sequence[RunState],
    log_y: bool,
    view: ChartView = "loss",
    log_x: bool = False,
    smoothing: float = 0.0,
) -> Legend:
    """'now ━━ λ=3 sgd highdim  earlier • λ=0 sgd highdim: final test 0.307 train 3e-14
    log y' in the plot's colours: the current run's lines (test and train; ‖w‖²'s one in the
    `view` "norm"), then each earlier run's name, problem and final numbers, newest first,
    then the axes' scales (`scale_tag`)."""
    head = Text()
    problem = ""
    if current is not None:
        problem = current.config.source_name
        head.append("now ", style="dim")
        if view == "norm":
            head.append("━", style=f"bold {swatch(NORM_COLOR)}")
        else:
            head.append("━", style=f"bold {swatch(TEST_COLOR)}")
            head.append("━", style=f"bold {swatch(TRAIN_COLOR)}")
        head.append(f" {current.label} {problem}")
    end = x_extent(current, earlier)
    overlays = list(earlier)[-MAX_OVERLAYS:]
    entries = [
        Earlier(
            tuple(earlier_entry(run, end, form, problem, view) for form in range(EARLIER_FORMS)),
            swatch(OVERLAY_COLORS[i % len(OVERLAY_COLORS)]),  # the colour it is drawn in
        )
        for i, run in enumerate(overlays)
    ]
    marks = current is not None and bool(current.marks)
    return Legend(head, entries[::-1], marks, scale_tag(log_y, view, log_x, smoothing))


class ChartLegend(Static):
    """Shows a `Legend` (given to `update`) laid out for its own width on every render, so a
    resize lays it out again, and in as many rows as its max-height allows."""

    def render(self) -> RenderResult:
        legend = self.content
        if isinstance(legend, Legend):
            return legend.fit(self.content_size.width or None, self.rows)
        return super().render()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        legend = self.content
        if isinstance(legend, Legend):  # for the width being laid out, not the last one
            # A terminal narrower than the chart's frame leaves the legend no column: wrapping
            # to width 0 would raise (rich).
            width = max(1, width)
            return len(legend.fit(width, self.rows).wrap(self.app.console, width))
        return super().get_content_height(container, viewport, width)

    @property
    def rows(self) -> int:
        max_height = self.styles.max_height
        if max_height is not None and max_height.is_cells:
            return max(1, int(max_height.value))
        return DEFAULT_ROWS
