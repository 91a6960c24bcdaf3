"""Each dataset the explorer trains on, loaded once per session.

Every restart, new run and sweep used to reload its data on the UI thread: 3.4 s frozen per
restart with a 50 MB CSV. The app loads the first run's dataset on its loader thread (see
`_load_engine` in tui/app.py) and hands the cached one to every Trainer and Sweep after that.
Trainer and Sweep only read a dataset's tensors, so two jobs can share one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # engine.data imports torch, loaded after the first paint
    from engine.config import RunConfig
    from engine.data import Dataset

# The settings load_dataset reads; runs that agree on these train on the same rows.
DATA_FIELDS = ("preset", "data", "target", "task", "test_fraction", "standardize", "seed")
# The explorer can switch between the presets and the CSV it was started with; a few
# more entries leave room without keeping every dataset of a long session alive.
MAX_DATASETS = 6
DataKey = tuple[object, ...]


class DatasetCache:
    """`get(config)`: the dataset for `config`, loaded on the first request for its data
    settings. Safe from any thread; two threads asking for a new key at once both load it
    (the loader thread asks first, before any run can start, so that does not happen)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datasets: OrderedDict[DataKey, Dataset] = OrderedDict()

    def get(self, config: RunConfig) -> Dataset:
        config = config.resolved()  # the defaults filled in (a CSV's path made absolute)
        key = tuple(getattr(config, name) for name in DATA_FIELDS)
        with self._lock:
            if key in self._datasets:
                self._datasets.move_to_end(key)
                return self._datasets[key]
        # Looked up at call time, not imported by name: tests count the loads by patching it.
        import engine.data

        dataset = engine.data.load_dataset(config)  # not under the lock: it may take seconds
        with self._lock:
            self._datasets[key] = dataset
            while len(self._datasets) > MAX_DATASETS:
                self._datasets.popitem(last=False)
        return dataset
