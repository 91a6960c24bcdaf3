"""The weight tables: statistics per parameter, and for a small linear model each weight
beside its closed-form ridge optimum and (for presets that know it) its true value.

Rows are created once per run and then updated in place with `update_cell`: `clear()` would
reset the cursor and scroll position several times a second. Names (a CSV's column names among
them) go in as Text: a DataTable parses a str cell as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable

from tui.state.nested import flatten

if TYPE_CHECKING:  # used in annotations only
    from engine.events import ParamInfo, ParamStats

# Fixed widths: live numbers of varying length must not make the columns jitter.
STAT_COLUMNS = {
    "param": 14,
    "shape": 9,
    "‖w‖": 10,
    "mean": 10,
    "std": 10,
    "max|w|": 10,
    "penalized": 9,
}
VALUE_COLUMNS = {"weight": 12, "value": 10, "optimum": 10, "true": 8}
STATS_TITLE = "parameters"
VALUES_TITLE = "weights vs ridge optimum"
# A standardized run's first-layer weights act on (x − mean) / std, with the train split's mean
# and std: each weight is per standardized feature, the target's change per std of its feature.
STANDARDIZED_NOTE = "w per standardized feature (train std)"
# AdamW's decoupled decay (mode wd) does not minimise MSE + λ‖w‖²: no closed form to show.
VALUES_TITLE_NO_OPTIMUM = "weights (AdamW + wd: no closed form)"


def num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


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
        for key, width in VALUE_COLUMNS.items():
            self._values.add_column(key, key=key, width=width)
        self._values.display = False
        self._value_rows: list[str] = []

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
        `standardized`: the features are standardized, which a subtitle says (the values
        table's when it is shown, else the stats table's)."""
        stats = self._stats
        stats.clear()
        note = STANDARDIZED_NOTE if standardized else ""
        stats.border_subtitle = "" if show_values else note
        for p in parameters:
            shape = "×".join(map(str, p.shape)) or "scalar"
            pen = "yes" if p.penalized else "no"
            stats.add_row(Text(p.name), shape, "", "", "", "", pen, key=p.name)
        values = self._values
        values.clear(columns=True)
        shown = {"optimum": show_optimum, "true": show_truth}
        columns = [key for key in VALUE_COLUMNS if shown.get(key, True)]
        for key in columns:
            values.add_column(key, key=key, width=VALUE_COLUMNS[key])
        values.border_title = VALUES_TITLE if show_optimum else VALUES_TITLE_NO_OPTIMUM
        values.border_subtitle = note
        self._value_rows = []
        values.display = show_values
        if not show_values:
            return
        for p in parameters:
            count = 1
            for size in p.shape:
                count *= size
            for i in range(count):
                if p.name == "weight" and len(feature_names) == count:
                    label = f"w·{feature_names[i]}"
                else:
                    label = p.name if count == 1 else f"{p.name}[{i}]"
                key = f"{p.name}:{i}"
                cells: dict[str, str | Text] = {"weight": Text(label), "true": "–"}
                values.add_row(*(cells.get(column, "") for column in columns), key=key)
                self._value_rows.append(key)

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
        values = self._values
        if not values.display:
            return
        for s in stats:
            for i, v in enumerate(s.values or ()):
                key = f"{s.name}:{i}"
                if key in values.rows:
                    values.update_cell(key, "value", num(v))

    def update_truth(self, true_weights: dict[str, list]) -> None:
        """The generating weights, for presets that know them (Started.true_weights)."""
        self._fill("true", true_weights)

    def update_optimum(self, optimum: dict[str, list] | None, lam: float) -> None:
        """The closed-form optimum for λ = `lam`, beside the trained weights."""
        self._fill("optimum", optimum or {})
        self._values.border_title = f"{VALUES_TITLE} (λ={lam:g})"

    def _fill(self, column: str, by_name: dict[str, list]) -> None:
        values = self._values
        if not values.display or column not in values.columns:
            return
        for name, nested in by_name.items():
            for i, v in enumerate(flatten(nested)):
                key = f"{name}:{i}"
                if key in values.rows:
                    values.update_cell(key, column, num(v))
