"""What a run leaves on disk: config.json, metrics.csv (flushed at least every second), weights.pt.

A run killed with SIGKILL keeps every row flushed before the kill: flush() hands the rows to the
kernel, which keeps them whatever happens to the process.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import torch

from engine.config import ConfigError
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
)
FLUSH_EVERY_S = 1.0


def config_record(
    settings: dict[str, Any], device: torch.device, dataset: Dataset
) -> dict[str, Any]:
    """What config.json holds: the resolved settings, plus where and on what they ran."""
    return {
        **settings,
        "resolved_device": str(device),
        "torch_version": torch.__version__,
        "n_train": dataset.n_train,
        "n_test": dataset.n_test,
        "features": dataset.feature_names,
    }


def new_run_dir(runs_dir: str | Path, label: str) -> Path:
    """A fresh, unique folder: <runs_dir>/<yyyymmdd-hhmmss>-<label>[-N]."""
    root = Path(runs_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_label = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)[:40]
    for attempt in range(1000):
        name = f"{stamp}-{safe_label}" + (f"-{attempt}" if attempt else "")
        path = root / name
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot create a run folder under {root}: {exc.strerror}") from None
    raise RuntimeError(f"cannot create a unique run folder under {root}")


class CsvLog:
    """Rows of numbers appended to a CSV, handed to the kernel at least every FLUSH_EVERY_S and
    on close.

    Rows wait in a list and go out whole, in one write: a file buffer that filled up mid-row
    would leave a torn last line behind a SIGKILL. Cells are numbers (repr: the shortest text
    that reads back as the same float) or None (an empty cell).
    """

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self._file: IO[str] = path.open("w", newline="")
        self._pending: list[str] = [",".join(columns) + "\n"]
        self.flush()

    def append(self, row: Sequence[Any]) -> None:
        self._pending.append(",".join(["" if v is None else repr(v) for v in row]) + "\n")
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._file.write("".join(self._pending))
        self._file.flush()
        self._pending.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()


class RunRecorder:
    """Writes one run's files as it trains."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        (run_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        self._metrics = CsvLog(run_dir / "metrics.csv", METRIC_COLUMNS)

    def log_epoch(self, row: Sequence[Any]) -> None:
        self._metrics.append(row)

    def flush(self) -> None:
        self._metrics.flush()

    def close(self, state_dict: dict[str, torch.Tensor] | None) -> None:
        self._metrics.close()
        if state_dict is not None:
            torch.save(
                {k: v.detach().cpu() for k, v in state_dict.items()}, self.run_dir / "weights.pt"
            )


def read_metrics(run_dir: str | Path) -> list[dict[str, float | None]]:
    """metrics.csv back as dicts of floats (None for an empty cell)."""
    with (Path(run_dir) / "metrics.csv").open(newline="") as handle:
        return [
            {k: (float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]
