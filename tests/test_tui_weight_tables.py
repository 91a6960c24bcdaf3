"""The explorer's weight tables at the sizes people use: every column of both tables at 120
columns, no table scrolling at 200, and whether the trained weights have reached the ridge
optimum shown beside them (checked against scikit-learn's Ridge).

Every wait polls a condition with a timeout. Snapshots of these sizes: test_tui_layout_snapshots.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from textual.widgets import DataTable

from support.tui import make_app, shown_text, squash, sync, wait_for
from tui.app import WeightDecayApp
from tui.state.optimum_gap import CONVERGED_BELOW
from tui.widgets.weight_table import STAT_COLUMNS, WeightPanel, gap_text, num

POLY_LABELS = [f"w·x^{i}/{i}!" for i in range(1, 21)] + ["bias"]


def tables(app: WeightDecayApp) -> tuple[DataTable, DataTable]:
    return app.query_one("#stats", DataTable), app.query_one("#values", DataTable)


def trained_weights(app: WeightDecayApp) -> list[float]:
    """The run's final weights, then its bias, from the model itself."""
    trainer = app.explorer.live.trainer
    assert trainer is not None
    model = trainer.model
    return [*model.weight.detach().double().reshape(-1).tolist(), float(model.bias.detach())]


@sync
async def test_at_120_columns_both_tables_show_every_column_in_full() -> None:
    app = make_app(preset="poly", epochs=30)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        stats, values = tables(app)
        assert stats.display and values.display
        for table in (stats, values):
            assert table.max_scroll_x == 0, f"#{table.id} scrolls sideways"
        drawn_stats = shown_text(app.explorer, "#stats")
        for column in STAT_COLUMNS:  # max|w| and penalized among them
            assert squash(column) in drawn_stats
        for row in stats.ordered_rows:  # every cell in full, in its row
            cells = stats.get_row(row.key)
            assert squash("".join(str(cell) for cell in cells)) in drawn_stats
        drawn_values = shown_text(app.explorer, "#values")
        assert squash("weight value optimum true") in drawn_values
        first = values.get_row("weight:0")
        assert str(first[0]) == "w·x^1/1!" and first[1] and first[2] and first[3] == "1.2"
        assert squash("".join(str(cell) for cell in first)) in drawn_values


@sync
async def test_at_200_columns_no_table_scrolls_and_the_weights_sit_side_by_side() -> None:
    app = make_app(preset="poly", epochs=30)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        stats, values = tables(app)
        for table in (stats, values):
            assert table.max_scroll_x == 0 and table.max_scroll_y == 0, f"#{table.id} scrolls"
        # 21 rows do not fit the panel's 14 at 50 rows: two groups of 11, down then across.
        assert values.row_count == 11
        trained = trained_weights(app)
        drawn = shown_text(app.explorer, "#values")
        for index, label in enumerate(POLY_LABELS):
            group, row = divmod(index, 11)
            row_key = "weight:0" if row == 0 else f"weight:{row}"
            suffix = "" if group == 0 else f".{group}"
            assert str(values.get_cell(row_key, f"weight{suffix}")) == label
            value = values.get_cell(row_key, f"value{suffix}")
            assert value == num(trained[index])
            # On screen: each label with its own value and optimum just after it.
            optimum = values.get_cell(row_key, f"optimum{suffix}")
            assert squash(f"{label}{value}{optimum}") in drawn


@sync
async def test_the_tables_lay_out_again_when_the_terminal_widens() -> None:
    app = make_app(preset="poly", epochs=30)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        _, values = tables(app)
        assert values.row_count == 21 and values.max_scroll_y > 0  # one group: it scrolls
        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: values.row_count == 11, "two groups of weights")
        await wait_for(pilot, lambda: values.max_scroll_y == 0, "no scrolling")
        assert values.get_cell("weight:0", "value") == num(trained_weights(app)[0])


def ridge_gap(app: WeightDecayApp) -> float:
    """‖w − w*‖ / ‖w*‖ of the live run, w* from scikit-learn: Ridge(alpha = n·λ)."""
    trainer = app.explorer.live.trainer
    assert trainer is not None
    x = trainer.dataset.x_train.double().numpy()
    y = trainer.dataset.y_train.double().numpy().ravel()
    reference = Ridge(alpha=x.shape[0] * trainer.lam).fit(x, y)
    optimum = np.array([*reference.coef_, reference.intercept_])
    return float(np.linalg.norm(np.array(trained_weights(app)) - optimum) / np.linalg.norm(optimum))


@pytest.mark.parametrize(
    ("epochs", "converged"),
    [(10, False), (400, True)],  # line at lr 0.01: 0.77 after 10 epochs, 1.4e-4 after 400
)
@sync
async def test_the_values_table_says_whether_the_weights_are_at_the_optimum(
    epochs: int, converged: bool
) -> None:
    app = make_app(preset="line", epochs=epochs)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.explorer.settled, "the run to finish and settle")
        gap = app.query_one(WeightPanel).gap()
        assert gap is not None and gap.relative
        expected = ridge_gap(app)
        assert gap.distance == pytest.approx(expected, rel=1e-3)
        assert gap.converged is converged and (expected < CONVERGED_BELOW) is converged
        line = gap_text(gap).plain
        assert app.query_one(WeightPanel).gap_line == line
        assert line.startswith("converged: " if converged else "⚠ not converged: ")
        assert line.endswith(f"‖w−w*‖/‖w*‖ = {num(gap.distance)}")
        assert squash(line) in shown_text(app.explorer, "#values")
