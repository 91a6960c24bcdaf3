"""Writing a run's or a sweep's files while it trains (engine/store/durable.py keeps them whole)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from engine.events import Epoch, Finished
from engine.schedule import Change
from engine.store.durable import CsvLog, save_tensors, write_json
from engine.store.layout import METRIC_COLUMNS, SWEEP_COLUMNS
from engine.store.summary import RunSummary, SweepSummary
from engine.sweep.events import SweepEpoch, SweepFinished


def _summary(finished: Finished | SweepFinished) -> dict[str, Any]:
    """results.json: the finished event without its weights (those are weights.pt)."""
    summary = finished.to_json()
    del summary["event"]
    if isinstance(finished, SweepFinished):
        summary["results"] = [{**r, "weights": None} for r in summary["results"]]
    else:
        del summary["weights"]
    return summary


class RunRecorder:
    """Writes one run's files as it trains."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        self.run_dir = run_dir
        write_json(run_dir / "config.json", config)
        self.summary = RunSummary(run_dir / "summary.json", config)
        self._metrics = CsvLog(run_dir / "metrics.csv", METRIC_COLUMNS, sidecar=self.summary)

    def log_change(self, change: Change) -> None:
        """A λ or lr change, with its step: summary.json's `changes`, which a replay applies."""
        self.summary.change(change)

    def log_epoch(self, e: Epoch) -> None:
        self._metrics.append(
            (
                e.epoch,
                e.train_loss,
                e.test_loss,
                e.penalty,
                e.objective,
                e.weight_sq_norm,
                e.lam,
                e.lr,
                round(e.elapsed_s, 6),
                e.train_accuracy,
                e.test_accuracy,
                e.update_norm,
                e.data_update_norm,
                e.decay_update_norm,
            )
        )
        self.summary.epoch(e)  # after the row: the summary never runs ahead of metrics.csv

    def flush(self) -> None:
        self._metrics.flush()

    def close_log(self) -> None:
        self._metrics.close()

    def save_weights(self, state_dict: dict[str, torch.Tensor]) -> None:
        weights = {k: v.detach().cpu() for k, v in state_dict.items()}
        save_tensors(self.run_dir / "weights.pt", weights)

    def save_summary(self, finished: Finished) -> None:
        self.summary.finish(finished)

    def save_results(self, finished: Finished) -> None:
        """How the run ended: written last, from the final event (failed saves included)."""
        write_json(self.run_dir / "results.json", _summary(finished))


class SweepRecorder:
    """Writes one sweep's files as it trains."""

    def __init__(self, run_dir: Path, config: dict[str, Any], lams: Sequence[float]) -> None:
        self.run_dir = run_dir
        self.lams = list(lams)
        write_json(run_dir / "config.json", config)
        self.summary = SweepSummary(run_dir / "summary.json", self.lams)
        self._rows = CsvLog(run_dir / "sweep.csv", SWEEP_COLUMNS, sidecar=self.summary)

    def log_epoch(self, e: SweepEpoch, trained: Sequence[bool]) -> None:
        """One row per member that trained this epoch, all in one unit: a kill or a full disk
        leaves an epoch with all its members in sweep.csv or none. A diverged member's last row
        is the epoch it diverged at (it is frozen afterwards: later rows would repeat it)."""
        rows = [
            (
                e.epoch,
                lam,
                e.train_loss[k],
                None if e.test_loss is None else e.test_loss[k],
                e.weight_sq_norm[k],
                None if e.train_accuracy is None else e.train_accuracy[k],
                None if e.test_accuracy is None else e.test_accuracy[k],
            )
            for k, lam in enumerate(self.lams)
            if trained[k]
        ]
        self._rows.append(*rows)
        self.summary.epoch(e)

    def close_log(self) -> None:
        self._rows.close()

    def save_weights(self, state_dict: dict[str, torch.Tensor]) -> None:
        save_tensors(self.run_dir / "weights.pt", {"lams": self.lams, "state_dict": state_dict})

    def save_summary(self, finished: SweepFinished) -> None:
        self.summary.finish(finished)

    def save_results(self, finished: SweepFinished) -> None:
        """How the sweep ended: written last, from the final event (failed saves included)."""
        write_json(self.run_dir / "results.json", _summary(finished))
