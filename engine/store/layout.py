"""A run folder's layout: its name, its files' columns, what config.json holds besides the
settings, and the one error a folder that is not a run gives."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from engine.config import RUN_FACTS, ConfigError
from engine.data import Dataset

METRIC_COLUMNS = (
    "epoch",
    "train_loss",
    "test_loss",
    "penalty",
    "objective",
    "weight_sq_norm",
    "lam",
    "lr",
    "elapsed_s",
    "train_accuracy",  # empty for regression
    "test_accuracy",
    "update_norm",  # ‖Δw‖ of the epoch, and its data and decay parts (engine/update_split.py)
    "data_update_norm",
    "decay_update_norm",
)
# What metrics.csv held before the accuracies, and before the update split: still read.
METRIC_COLUMNS_BEFORE_ACCURACY = METRIC_COLUMNS[:9]
METRIC_COLUMNS_BEFORE_UPDATE_SPLIT = METRIC_COLUMNS[:11]
SWEEP_COLUMNS = (
    "epoch",
    "lam",
    "train_loss",
    "test_loss",
    "weight_sq_norm",
    "train_accuracy",  # classification only: empty cells for regression
    "test_accuracy",
)
# sweep.csv as written before classification, still read back.
SWEEP_COLUMNS_WITHOUT_ACCURACY = SWEEP_COLUMNS[:5]


def config_record(
    settings: dict[str, Any], device: torch.device, dataset: Dataset
) -> dict[str, Any]:
    """What config.json holds: the resolved settings, plus where and on what they ran."""
    classes = None if dataset.classes is None else list(dataset.classes)
    facts = (
        str(device),
        torch.__version__,
        dataset.n_train,
        dataset.n_test,
        dataset.feature_names,
        classes,
    )
    # The task the data resolved ("auto": the problem's own), so that a replay learns the same.
    resolved = {**settings, "task": dataset.task}
    return {**resolved, **dict(zip(RUN_FACTS, facts, strict=True))}


def new_run_dir(runs_dir: str | Path, label: str) -> Path:
    """A fresh, unique folder: <runs_dir>/<yyyymmdd-hhmmss>-<label>[-N]."""
    root = Path(runs_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_label = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)[:90]
    for attempt in range(1000):
        name = f"{stamp}-{safe_label}" + (f"-{attempt}" if attempt else "")
        path = root / name
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_create(root, exc.strerror) from None
    raise RuntimeError(f"cannot create a unique run folder under {root}")


def check_runs_dir(runs_dir: str | Path) -> None:
    """ConfigError unless new_run_dir could make a folder under `runs_dir` (made if missing):
    for a job that makes its folder only once it trains (a sweep on Ray)."""
    root = Path(runs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_create(root, exc.strerror) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise _cannot_create(root, "Permission denied")


def _cannot_create(root: Path, reason: str | None) -> ConfigError:
    return ConfigError(f"cannot create a run folder under {root}: {reason}")
