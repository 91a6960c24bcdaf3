"""Snapshots of the explorer's weight tables at 120×40 and 200×50 (pytest-textual-snapshot):
`poly`'s 21 weights beside their ridge optimum, every column shown at 120, side by side in two
groups at 200. (The sweep view at 80×24: test_tui_sweep.py.)

Deterministic by construction: fixed seed, a short run that has completed and settled on screen
before the snapshot, nothing saved. Regenerate with:
.venv/bin/pytest tests/test_tui_layout_snapshots.py --snapshot-update
"""

from __future__ import annotations

from engine.config import RunConfig
from support.tui import settle
from tui.app import WeightDecayApp


def poly_app() -> WeightDecayApp:
    return WeightDecayApp(RunConfig(preset="poly", epochs=30, seed=0, save=False))


def test_weight_tables_at_120x40(snap_compare) -> None:
    assert snap_compare(poly_app(), terminal_size=(120, 40), run_before=settle)


def test_weight_tables_at_200x50(snap_compare) -> None:
    assert snap_compare(poly_app(), terminal_size=(200, 50), run_before=settle)
