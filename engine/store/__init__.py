"""Where runs live: one folder per run or sweep, written while it trains and read back after.

A run's folder holds `config.json` (its settings, where and on what it ran), `metrics.csv` (one
row per epoch), `weights.pt` (the final state_dict) and `results.json` (how it ended). A sweep's
holds `config.json` (with `lams`), `sweep.csv` (one row per member per epoch), `weights.pt`
(`{"lams", "state_dict"}`, tensors stacked on a leading member axis) and `results.json`. How the
files stay whole through a kill or a full disk is `durable.py`'s job.

Reading gives the events back: `load_run(dir).events()` replays a run as the trainer emitted
it, `load_sweep(dir).events()` a sweep, so whatever renders a live run renders a saved one.
"""

from engine.errors import StoreError
from engine.events import UNFINISHED
from engine.store.durable import FLUSH_EVERY_S, RecordingError, save_tensors, write_json
from engine.store.layout import (
    METRIC_COLUMNS,
    SWEEP_COLUMNS,
    check_runs_dir,
    config_record,
    new_run_dir,
)
from engine.store.reading import (
    RunEntry,
    SavedRun,
    SavedSweep,
    list_runs,
    load_run,
    load_sweep,
    read_metrics,
    record_settings,
)
from engine.store.writing import RunRecorder, SweepRecorder

__all__ = [
    "FLUSH_EVERY_S",
    "METRIC_COLUMNS",
    "SWEEP_COLUMNS",
    "UNFINISHED",
    "RecordingError",
    "RunEntry",
    "RunRecorder",
    "SavedRun",
    "SavedSweep",
    "StoreError",
    "SweepRecorder",
    "check_runs_dir",
    "config_record",
    "list_runs",
    "load_run",
    "load_sweep",
    "new_run_dir",
    "read_metrics",
    "record_settings",
    "save_tensors",
    "write_json",
]
