"""The weight tables: statistics per parameter, and for a small linear model each weight
beside its closed-form ridge optimum and (for presets that know it) its true value.

Rows are created once per run and then updated in place with `update_cell`: `clear()` would
reset the cursor and scroll position several times a second. Names (a CSV's column names among
them) go in as Text: a DataTable parses a str cell as markup.

Widths: at 120 terminal columns both tables show every column side by side (numbers are at
most NUMBER_WIDTH characters, see `num`). Where the terminal is wider still and the weights do
not all fit the panel's height, the values table puts its rows side by side in groups (down,
then across) instead of scrolling; the row of a weight keeps that weight's key (`weight:0`), the
other groups' columns are `value.1`, `value.2`…
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable

from tui.state.nested import flatten
from tui.state.optimum_gap import OptimumGap, optimum_gap
from tui.theme import WARNING_STYLE

if TYPE_CHECKING:  # used in annotations only
    from engine.events import ParamInfo, ParamStats

NUMBER_WIDTH = 8  # "-0.02843", "-1.051e8", "1.23e-15": every number the tables print
# Fixed widths: live numbers of varying length must not make the columns jitter.
STAT_COLUMNS = {
    "param": 9,
    "shape": 7,
    "‖w‖": NUMBER_WIDTH,
    "mean": NUMBER_WIDTH,
    "std": NUMBER_WIDTH,
    "max|w|": NUMBER_WIDTH,
    "penalized": 9,
}
VALUE_COLUMNS = {"weight": 10, "value": NUMBER_WIDTH, "optimum": NUMBER_WIDTH, "true": NUMBER_WIDTH}
# The weights' labels ("w·x^10/10!", a CSV's "w·rooms") get at least LABEL_MIN columns, up to
# LABEL_MAX where the panel has room; a longer name is cut.
LABEL_MIN, LABEL_MAX = 10, 24
FRAME = 2  # a table's border, left and right
SCROLLBAR = 1  # the values table's vertical scrollbar (explorer.tcss: scrollbar-size 1)
HEADER_ROWS = 1
# The longest gap line ("⚠ not converged: ‖w−w*‖/‖w*‖ = " and a number) in its border
# ("╰─ " … " ─╯"): the narrowest the values table may be.
GAP_LINE_WIDTH = len("⚠ not converged: ‖w−w*‖/‖w*‖ = ") + NUMBER_WIDTH + 6
SEPARATOR = Text("│", style="dim")  # between two groups of the values table
STATS_TITLE = "parameters"
VALUES_TITLE = "weights vs ridge optimum"
# A standardized run's first-layer weights act on (x − mean) / std, with the train split's mean
# and std: each weight is per standardized feature, the target's change per std of its feature.
STANDARDIZED_NOTE = "w per standardized feature (train std)"
# AdamW's decoupled decay (mode wd) does not minimise MSE + λ‖w‖²: no closed form to show.
VALUES_TITLE_NO_OPTIMUM = "weights (AdamW + wd: no closed form)"


def num(value: float | None, width: int = NUMBER_WIDTH) -> str:
    """`value` in at most `width` characters, with as many significant digits as fit (at most
    4), plain or in exponent form, the exponent written short (1.2e+08 → 1.2e8)."""
    if value is None:
        return ""
    text = ""
    for digits in (4, 3, 2, 1):
        for form in (f"{value:.{digits}g}", f"{value:.{digits - 1}e}"):
            text = re.sub(r"e([+-])0*(\d)", _short_exponent, form)
            if len(text) <= width:
                return text
    return text


def _short_exponent(match: re.Match[str]) -> str:
    sign = "" if match.group(1) == "+" else "-"
    return f"e{sign}{match.group(2)}"


def gap_text(gap: OptimumGap | None) -> Text:
    """The values table's bottom line: whether the trained weights w are at the optimum w*
    yet, and how far (tui/state/optimum_gap.py)."""
    text = Text()
    if gap is None:
        return text
    what = "‖w−w*‖/‖w*‖" if gap.relative else "‖w−w*‖"
    if gap.converged:
        text.append(f"converged: {what} = {num(gap.distance)}", style="green")
    else:
        text.append(f"⚠ not converged: {what} = {num(gap.distance)}", style=WARNING_STYLE)
    return text


def _column(name: str, group: int) -> str:
    return name if group == 0 else f"{name}.{group}"


class WeightPanel(Horizontal):
    """Two DataTables; the values table is shown only for small linear models."""

    def compose(self) -> ComposeResult:
        stats: DataTable[str | Text] = DataTable(id="stats", cursor_type="row", zebra_stripes=True)
        stats.border_title = STATS_TITLE
        values: DataTable[str | Text] = DataTable(
            id="values", cursor_type="row", zebra_stripes=True
        )
        values.border_title = VALUES_TITLE
        # Kept, not queried: the explorer's timer can fire while the app shuts down, after these
        # children are gone from the DOM; a kept table takes a last update harmlessly.
        self._stats, self._values = stats, values
        yield stats
        yield values

    def on_mount(self) -> None:
        for key, width in STAT_COLUMNS.items():
            self._stats.add_column(key, key=key, width=width)
        self._values.display = False
        # The values table's contents, kept so that it can be laid out again on a resize.
        self._weights: list[tuple[str, Text]] = []  # (key, label) in parameter order
        self._columns: list[str] = []  # the value columns of this run
        self._cells: dict[str, dict[str, str | Text]] = {}  # key -> column -> cell
        # key -> (the key of the row showing it: its first weight's, the group it is in)
        self._where: dict[str, tuple[str, int]] = {}
        self._layout: tuple[int, int] | None = None  # (groups, label width) on screen
        # What the optimum gap is computed from: the entries' trained and optimal values.
        self._trained: dict[str, float] = {}
        self._optimum: dict[str, float] = {}
        self.gap_line = ""  # the values table's subtitle, as plain text

    def setup(
        self,
        parameters: Sequence[ParamInfo],
        feature_names: Sequence[str],
        show_values: bool,
        show_optimum: bool = True,
        show_truth: bool = True,
        standardized: bool = False,
    ) -> None:
        """New run: one row per parameter (and per weight for a small linear model, beside
        its ridge optimum if `show_optimum`: not for AdamW + wd, see VALUES_TITLE_NO_OPTIMUM;
        and its true value if `show_truth`: presets only, a CSV's are unknown).
        `standardized`: the features are standardized, which the stats table's subtitle says
        (the values table's is the optimum gap's)."""
        stats = self._stats
        stats.clear()
        stats.border_subtitle = STANDARDIZED_NOTE if standardized else ""
        for p in parameters:
            shape = "×".join(map(str, p.shape)) or "scalar"
            pen = "yes" if p.penalized else "no"
            stats.add_row(Text(p.name), shape, "", "", "", "", pen, key=p.name)
        values = self._values
        shown = {"optimum": show_optimum, "true": show_truth}
        self._columns = [key for key in VALUE_COLUMNS if shown.get(key, True)]
        values.border_title = VALUES_TITLE if show_optimum else VALUES_TITLE_NO_OPTIMUM
        values.border_subtitle, self.gap_line = "", ""
        self._weights, self._cells, self._where = [], {}, {}
        self._trained, self._optimum = {}, {}
        self._layout = None
        values.clear(columns=True)
        values.display = show_values
        if not show_values:
            return
        for p in parameters:
            count = math.prod(p.shape)
            for i in range(count):
                if p.name == "weight" and len(feature_names) == count:
                    label = f"w·{feature_names[i]}"
                else:
                    label = p.name if count == 1 else f"{p.name}[{i}]"
                key = f"{p.name}:{i}"
                self._weights.append((key, Text(label)))
                self._cells[key] = {"weight": Text(label), "true": "–"}
        self._arrange()

    def update_stats(self, stats: Sequence[ParamStats]) -> None:
        table = self._stats
        for s in stats:
            if s.name not in table.rows:
                continue
            for column, value in (
                ("‖w‖", s.norm),
                ("mean", s.mean),
                ("std", s.std),
                ("max|w|", s.max_abs),
            ):
                table.update_cell(s.name, column, num(value))
        if not self._values.display:
            return
        for s in stats:
            for i, v in enumerate(s.values or ()):
                key = f"{s.name}:{i}"
                if key in self._cells:
                    self._trained[key] = v
                    self._set(key, "value", num(v))
        self._show_gap()

    def update_truth(self, true_weights: dict[str, list]) -> None:
        """The generating weights, for presets that know them (Started.true_weights)."""
        self._fill("true", true_weights)

    def update_optimum(self, optimum: dict[str, list] | None, lam: float) -> None:
        """The closed-form optimum for λ = `lam`, beside the trained weights."""
        self._optimum = {}
        for name, nested in (optimum or {}).items():
            for i, v in enumerate(flatten(nested)):
                self._optimum[f"{name}:{i}"] = v
        self._fill("optimum", optimum or {})
        self._values.border_title = f"{VALUES_TITLE} (λ={lam:g})"
        self._show_gap()

    def gap(self) -> OptimumGap | None:
        """How far the trained weights are from the optimum shown; None without both."""
        if not self._values.display or "optimum" not in self._columns:
            return None
        return optimum_gap(self._trained, self._optimum)

    def _show_gap(self) -> None:
        text = gap_text(self.gap())
        if text.plain != self.gap_line:  # a new subtitle costs a repaint: only when it changes
            self.gap_line = text.plain
            self._values.border_subtitle = text

    def _fill(self, column: str, by_name: dict[str, list]) -> None:
        if not self._values.display or column not in self._columns:
            return
        for name, nested in by_name.items():
            for i, v in enumerate(flatten(nested)):
                key = f"{name}:{i}"
                if key in self._cells:
                    self._set(key, column, num(v))

    def _set(self, key: str, column: str, cell: str | Text) -> None:
        self._cells[key][column] = cell
        place = self._where.get(key)
        if place is not None:
            row, group = place
            self._values.update_cell(row, _column(column, group), cell)

    # ----- layout of the values table ---------------------------------------------------------

    def on_resize(self) -> None:
        self._arrange()

    def _arrange(self) -> None:
        """Lay the values table out for the panel's size, if that changes its layout."""
        if not self._values.display or not self._weights:
            return
        layout = self._fit()
        if layout == self._layout:
            return
        self._layout = layout
        groups, label_width = layout
        values = self._values
        values.clear(columns=True)
        widths = {**VALUE_COLUMNS, "weight": label_width}
        for group in range(groups):
            if group:
                values.add_column("", key=f"sep.{group}", width=1)
            for name in self._columns:
                values.add_column(name, key=_column(name, group), width=widths[name])
        rows = -(-len(self._weights) // groups)
        self._where = {}
        for row in range(rows):
            row_key = self._weights[row][0]
            cells: list[str | Text] = []
            for group in range(groups):
                if group:
                    cells.append(SEPARATOR)
                index = group * rows + row
                key = self._weights[index][0] if index < len(self._weights) else None
                if key is not None:
                    self._where[key] = (row_key, group)
                shown = self._cells[key] if key is not None else {}
                cells.extend(shown.get(name, "") for name in self._columns)
            values.add_row(*cells, key=row_key)

    def _fit(self) -> tuple[int, int]:
        """(groups, label width): the fewest groups that show every weight without scrolling,
        as many as the panel's width allows beside the stats table."""
        pad = 2 * self._values.cell_padding
        stats_width = sum(width + pad for width in STAT_COLUMNS.values()) + FRAME
        room = self.size.width - stats_width - FRAME - SCROLLBAR
        others = sum(VALUE_COLUMNS[name] + pad for name in self._columns if name != "weight")
        longest = max(len(label) for _, label in self._weights)
        label_width = max(LABEL_MIN, min(longest, LABEL_MAX, room - others - pad))
        # Wide enough for the gap line under it (a border title is cut at the table's width).
        label_width = max(label_width, GAP_LINE_WIDTH - FRAME - others - pad)
        group_width = label_width + pad + others
        separator = 1 + pad
        by_width = max(1, (room + separator) // (group_width + separator))
        needed = -(-len(self._weights) // max(1, self._visible_rows()))
        return max(1, min(by_width, needed)), label_width

    def _visible_rows(self) -> int:
        """Rows the values table shows without scrolling, at its largest (explorer.tcss)."""
        limit = self._values.styles.max_height
        if limit is None or not self.is_mounted:
            return len(self._weights)
        height = int(limit.resolve(self.size, self.app.size))
        return height - FRAME - HEADER_ROWS
