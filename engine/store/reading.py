"""Reading runs and sweeps back: a saved one replays as the events it emitted."""

from __future__ import annotations

import contextlib
import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import torch

from engine.config import ConfigError, RunConfig
from engine.data import Dataset, load_dataset, true_parameters
from engine.errors import StoreError
from engine.events import UNFINISHED, Epoch, Event, Finished, ParamInfo, Started, TensorWeights
from engine.json_file import JsonFileError, one_line, read_json_object
from engine.models import build_model, parameter_stats
from engine.regularization import decayed_names
from engine.ridge import member_optima
from engine.store.layout import (
    METRIC_COLUMNS,
    METRIC_COLUMNS_BEFORE_ACCURACY,
    METRIC_COLUMNS_BEFORE_UPDATE_SPLIT,
    RUN_FACTS,
    SWEEP_COLUMNS,
    SWEEP_COLUMNS_WITHOUT_ACCURACY,
)
from engine.sweep.best import BEST_BY_WORDS, best_by
from engine.sweep.events import (
    MemberResult,
    SweepEpoch,
    SweepEvent,
    SweepFinished,
    SweepStarted,
)
from engine.tasks import task_for


def read_metrics(run_dir: str | Path, name: str = "metrics.csv") -> list[dict[str, float | None]]:
    """A run's CSV back as dicts of floats (None for an empty cell)."""
    with (Path(run_dir) / name).open(newline="") as handle:
        return [
            {k: (float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class RunEntry:
    """One saved run or sweep, as a list of them shows it."""

    path: Path
    kind: str  # "run" | "sweep"
    status: str  # how it ended (results.json), or "unfinished"
    epochs: int | None  # epochs trained, when it finished
    config: dict[str, Any]  # config.json as saved


@dataclass(frozen=True)
class SavedRun:
    path: Path
    config: RunConfig  # the settings it ran with, as saved (not resolved again)
    started: Started
    epochs: tuple[Epoch, ...]
    finished: Finished | None  # None: the process ended before the run did

    def events(self) -> Iterator[Event]:
        """The run's events in the order the trainer emitted them (λ and lr changes included:
        each epoch carries the values it trained with)."""
        yield self.started
        yield from self.epochs
        if self.finished is not None:
            yield self.finished


@dataclass(frozen=True)
class SavedSweep:
    path: Path
    config: RunConfig
    lams: tuple[float, ...]
    started: SweepStarted
    epochs: tuple[SweepEpoch, ...]  # elapsed_s is 0: sweep.csv does not keep the time
    finished: SweepFinished | None

    def events(self) -> Iterator[SweepEvent]:
        yield self.started
        yield from self.epochs
        if self.finished is not None:
            yield self.finished


def list_runs(runs_dir: str | Path) -> list[RunEntry]:
    """Every run and sweep folder under `runs_dir`, newest first. A folder whose config.json
    cannot be read is left out (it is not a run)."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    try:
        folders = [path for path in root.iterdir() if path.is_dir()]
    except OSError as exc:
        raise StoreError(f"cannot list {root}: {one_line(exc)}") from None
    entries = []
    for path in folders:
        try:
            record = _read_json(path / "config.json")
        except StoreError:
            continue
        try:
            results: dict[str, Any] = _read_json(path / "results.json")
        except StoreError:
            results = {}
        status = str(results.get("status", UNFINISHED))
        epochs = results.get("epochs")
        if not isinstance(epochs, int) or isinstance(epochs, bool):
            epochs = None
        kind = "sweep" if "lams" in record else "run"
        entries.append(RunEntry(path, kind, status, epochs, record))
    # config.json is written when a run starts: its time orders runs made within one second too
    # (folder names start with the second only).
    return sorted(entries, key=_started_at, reverse=True)


def _started_at(entry: RunEntry) -> tuple[int, str]:
    try:
        return (entry.path.joinpath("config.json").stat().st_mtime_ns, entry.path.name)
    except OSError:
        return (0, entry.path.name)


def load_run(run_dir: str | Path) -> SavedRun:
    """A saved run, to replay; raises StoreError (one line) for a folder that is not one. The
    data are loaded again (presets are regenerated) for the true weights, when they can be."""
    path = Path(run_dir)
    with _readable(path, "run"):
        return _load_run(path)


def _load_run(path: Path) -> SavedRun:
    record, config = _read_config(path)
    if "lams" in record:
        raise StoreError(f"{path.name} is a sweep: load it with load_sweep")
    weights = _read_weights(path)
    state = weights if isinstance(weights, dict) and "state_dict" not in weights else None
    parameters = _parameters(config, record, state)
    if state is not None:  # the parameters alone, as a live run's Finished holds them
        state = {p.name: state[p.name] for p in parameters}
    rows = _read_rows(
        path / "metrics.csv",
        METRIC_COLUMNS,
        METRIC_COLUMNS_BEFORE_ACCURACY,
        METRIC_COLUMNS_BEFORE_UPDATE_SPLIT,
    )
    epochs = tuple(_epoch(row) for row in rows)
    finished = None
    results = _read_results(path)
    if results is not None:
        finished = Finished(
            status=str(results["status"]),
            epochs=int(results["epochs"]),
            message=str(results.get("message", "")),
            weights=TensorWeights(state or {}),
            run_dir=str(path),
            partial_epoch_steps=int(results.get("partial_epoch_steps", 0)),
        )
        if state and epochs and not finished.partial_epoch_steps:
            # The last epoch's statistics, from the weights it ended with, as a live run's
            # last epoch carries them.
            penalized = {p.name for p in parameters if p.penalized}
            last = epochs[-1]
            epochs = (*epochs[:-1], _with_stats(last, parameter_stats(state.items(), penalized)))
    dataset = _dataset_of(config)
    started = Started(
        config=record_settings(record),
        device=str(record.get("resolved_device", "")),
        parameters=parameters,
        run_dir=str(path),
        n_train=int(record.get("n_train", 0)),
        n_test=int(record.get("n_test", 0)),
        feature_names=tuple(record.get("features", ())),
        classes=_classes(record),
        true_weights=None if dataset is None else true_parameters(config, dataset),
        baseline_test_loss=None
        if dataset is None
        else task_for(dataset).baseline_test_loss(dataset),
        test_target_variance=(
            None if dataset is None else task_for(dataset).test_target_variance(dataset)
        ),
    )
    return SavedRun(path, config, started, epochs, finished)


def load_sweep(run_dir: str | Path) -> SavedSweep:
    """A saved sweep, to replay; raises StoreError (one line) for a folder that is not one. The
    data are loaded again for the ridge optimum, where there is one and they can be."""
    path = Path(run_dir)
    with _readable(path, "sweep"):
        return _load_sweep(path)


def _load_sweep(path: Path) -> SavedSweep:
    record, config = _read_config(path)
    lams = record.get("lams")
    if not isinstance(lams, list) or not lams:
        raise StoreError(f"{path.name} is not a sweep: its config.json has no λ list")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lams):
        raise StoreError(f"{path.name}/config.json's lams must be a list of numbers")
    lams_t = tuple(float(v) for v in lams)
    saved = _read_weights(path)
    stacked = saved.get("state_dict") if isinstance(saved, dict) else None
    single = None if stacked is None else {k: v[0] for k, v in stacked.items()}
    dataset = _dataset_of(config)
    has_test = int(record.get("n_test", 0)) > 0
    started = SweepStarted(
        config=record_settings(record),
        device=str(record.get("resolved_device", "")),
        lams=lams_t,
        parameters=_parameters(config, record, single),
        run_dir=str(path),
        n_train=int(record.get("n_train", 0)),
        n_test=int(record.get("n_test", 0)),
        feature_names=tuple(record.get("features", ())),
        ridge=None if dataset is None else member_optima(config, dataset, lams_t),
        baseline_test_loss=None
        if dataset is None
        else task_for(dataset).baseline_test_loss(dataset),
    )
    results = _read_results(path)
    epochs = _sweep_epochs(path, lams_t, _failed_after(results))
    finished = None
    if results is not None:
        members = []
        saved_members = results.get("results", [])
        if not isinstance(saved_members, list) or len(saved_members) != len(lams_t):
            raise StoreError(f"{path.name}/results.json does not list one result per λ")
        for k, r in enumerate(saved_members):
            weights = {} if stacked is None else {name: t[k] for name, t in stacked.items()}
            measured = int(r["epochs"]) > 0  # JSON's null is a non-finite number once measured
            members.append(
                MemberResult(
                    lam=float(r["lam"]),
                    status=str(r["status"]),
                    epochs=int(r["epochs"]),
                    train_loss=_nan_for_none(r.get("train_loss")) if measured else None,
                    test_loss=_nan_for_none(r.get("test_loss")) if measured and has_test else None,
                    weight_sq_norm=_nan_for_none(r.get("weight_sq_norm")) if measured else None,
                    weights=TensorWeights(weights),
                    train_accuracy=_number_or_none(r.get("train_accuracy")),
                    test_accuracy=_number_or_none(r.get("test_accuracy")),
                )
            )
        best = results.get("best_by")
        if not isinstance(best, str) or best not in BEST_BY_WORDS:  # saved before it was
            classified = any(m.train_accuracy is not None for m in members)
            best = best_by(classified, has_test)
        finished = SweepFinished(
            status=str(results["status"]),
            epochs=int(results["epochs"]),
            message=str(results.get("message", "")),
            best_lam=results.get("best_lam"),
            results=tuple(members),
            run_dir=str(path),
            partial_epoch_steps=int(results.get("partial_epoch_steps", 0)),
            best_by=best,
        )
    return SavedSweep(path, config, lams_t, started, epochs, finished)


def record_settings(record: dict[str, Any]) -> dict[str, Any]:
    """config.json's settings as a Started event's `config` carries them (a sweep's `lam` is
    null, its λ list `lams`)."""
    return {k: v for k, v in record.items() if k not in RUN_FACTS}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return read_json_object(path)
    except FileNotFoundError:
        raise StoreError(f"{path.parent.name} has no {path.name}") from None
    except JsonFileError as exc:
        raise StoreError(f"cannot read {path.parent.name}/{path.name}: {exc}") from None


def _read_config(path: Path) -> tuple[dict[str, Any], RunConfig]:
    record = _read_json(path / "config.json")
    if not isinstance(record, dict):
        raise StoreError(f"{path.name}/config.json does not hold a run's settings")
    try:
        config = RunConfig.from_dict(record)
    except (ConfigError, TypeError) as exc:
        raise StoreError(f"{path.name}/config.json: {exc}") from None
    return record, config


def _read_results(path: Path) -> dict[str, Any] | None:
    if not (path / "results.json").exists():
        return None
    results = _read_json(path / "results.json")
    if not isinstance(results, dict) or "status" not in results or "epochs" not in results:
        raise StoreError(f"{path.name}/results.json does not say how the run ended")
    return results


def _read_weights(path: Path) -> Any:
    if not (path / "weights.pt").exists():
        return None
    try:
        return torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn or foreign file: the numbers are still worth showing
        raise StoreError(f"cannot read {path.name}/weights.pt: {one_line(exc)}") from None


def _read_rows(
    path: Path, columns: Sequence[str], *older: Sequence[str]
) -> list[dict[str, float | None]]:
    """The rows of a CSV with `columns`, or with one of the `older` layouts a previous
    version wrote (their missing columns then read as empty)."""
    if not path.exists():
        return []
    try:
        rows = read_metrics(path.parent, path.name)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StoreError(f"cannot read {path.parent.name}/{path.name}: {one_line(exc)}") from None
    if rows and tuple(rows[0]) not in (tuple(columns), *map(tuple, older)):
        raise StoreError(f"{path.parent.name}/{path.name} has other columns than {columns}")
    return [{name: row.get(name) for name in columns} for row in rows]


def _parameters(
    config: RunConfig, record: dict[str, Any], state: dict[str, torch.Tensor] | None
) -> tuple[ParamInfo, ...]:
    """One model's parameters: from its saved weights, or (none saved: a kill) from its
    settings. Which decay is decided on the model its settings build, on the meta device
    (shapes only, nothing allocated); its buffers (BatchNorm's running statistics, in
    weights.pt) are not parameters."""
    with torch.device("meta"):
        classes = record.get("classes")
        outputs = len(classes) if isinstance(classes, list) and classes else 1
        model = build_model(config, len(record.get("features", ())), outputs)
    if state is None:
        state = dict(model.named_parameters())
    decayed = decayed_names(model, config)
    buffers = {name for name, _ in model.named_buffers()}
    return tuple(
        ParamInfo(name, tuple(t.shape), name in decayed)
        for name, t in state.items()
        if name not in buffers
    )


def _classes(record: dict[str, Any]) -> tuple[str, ...] | None:
    """The class labels config.json records (None: regression, or a run saved before)."""
    classes = record.get("classes")
    if not isinstance(classes, list):
        return None
    return tuple(str(label) for label in classes)


def _epoch(row: dict[str, float | None]) -> Epoch:
    def number(name: str) -> float:
        value = row[name]
        return math.nan if value is None else value  # JSON-less CSV: an empty cell is unknown

    return Epoch(
        epoch=int(number("epoch")),
        train_loss=number("train_loss"),
        test_loss=row["test_loss"],
        penalty=number("penalty"),
        objective=number("objective"),
        weight_sq_norm=number("weight_sq_norm"),
        lam=number("lam"),
        lr=number("lr"),
        elapsed_s=number("elapsed_s"),
        train_accuracy=row["train_accuracy"],
        test_accuracy=row["test_accuracy"],
        update_norm=row["update_norm"],
        data_update_norm=row["data_update_norm"],
        decay_update_norm=row["decay_update_norm"],
    )


def _with_stats(epoch: Epoch, stats: Any) -> Epoch:
    return replace(epoch, param_stats=stats)


def _failed_after(results: dict[str, Any] | None) -> dict[int, int]:
    """The members that failed (a sweep on Ray whose worker was lost), each with the last epoch
    it trained: its rows in sweep.csv end there."""
    members = None if results is None else results.get("results")
    if not isinstance(members, list):
        return {}
    return {
        k: int(r.get("epochs") or 0)
        for k, r in enumerate(members)
        if isinstance(r, dict) and r.get("status") == "failed"
    }


def _sweep_epochs(
    path: Path, lams: tuple[float, ...], failed_after: dict[int, int] | None = None
) -> tuple[SweepEpoch, ...]:
    """sweep.csv's rows back as one event per epoch. A member has rows up to the epoch it
    diverged at (a non-finite train or test loss, as live); later events repeat its last
    numbers, as the frozen member's live ones do. A member that failed (`failed_after`: its
    worker was lost) has rows up to its last epoch, and is `failed`, with no numbers, after it,
    as live."""
    rows = _read_sweep_rows(path / "sweep.csv")
    k = len(lams)
    status = ["running"] * k
    nothing = _SweepRow(math.nan, None, math.nan, None, None)
    last: list[_SweepRow] = [nothing] * k
    events: list[SweepEpoch] = []
    i = 0
    while i < len(rows):
        epoch = int(rows[i]["epoch"] or 0)
        for m, after in (failed_after or {}).items():
            if m < k and status[m] == "running" and epoch > after:
                status[m], last[m] = "failed", nothing
        members = [m for m in range(k) if status[m] == "running"]
        if not members:  # every member had diverged: nothing may follow
            raise StoreError(f"{path.name}/sweep.csv has rows after every member diverged")
        unit = rows[i : i + len(members)]
        if len(unit) < len(members) or any(
            int(r["epoch"] or 0) != epoch or r["lam"] != lams[m]
            for r, m in zip(unit, members, strict=False)
        ):
            raise StoreError(f"{path.name}/sweep.csv does not match its config.json's λ list")
        for r, m in zip(unit, members, strict=True):
            last[m] = _SweepRow(
                _nan_for_none(r["train_loss"]),
                r["test_loss"],
                _nan_for_none(r["weight_sq_norm"]),
                r.get("train_accuracy"),
                r.get("test_accuracy"),
            )
            test = last[m].test
            if not math.isfinite(last[m].train) or (test is not None and not math.isfinite(test)):
                status[m] = "diverged"
        i += len(members)
        first = last[members[0]]
        events.append(
            SweepEpoch(
                epoch=epoch,
                train_loss=tuple(r.train for r in last),
                test_loss=_column([r.test for r in last]) if first.test is not None else None,
                weight_sq_norm=tuple(r.sq_norm for r in last),
                elapsed_s=0.0,
                statuses=tuple(status),
                train_accuracy=_column([r.train_accuracy for r in last])
                if first.train_accuracy is not None
                else None,
                test_accuracy=_column([r.test_accuracy for r in last])
                if first.test_accuracy is not None
                else None,
            )
        )
    return tuple(events)


class _SweepRow(NamedTuple):
    """One member's numbers in sweep.csv (accuracies: classification only)."""

    train: float
    test: float | None
    sq_norm: float
    train_accuracy: float | None
    test_accuracy: float | None


def _column(values: list[float | None]) -> tuple[float, ...]:
    """One number per member; a member with no row yet (none measured) is unknown: nan."""
    return tuple(math.nan if v is None else v for v in values)


def _read_sweep_rows(path: Path) -> list[dict[str, float | None]]:
    """sweep.csv's rows; a file written before the accuracy columns reads with them empty."""
    try:
        return _read_rows(path, SWEEP_COLUMNS)
    except StoreError as current:
        try:
            rows = _read_rows(path, SWEEP_COLUMNS_WITHOUT_ACCURACY)
        except StoreError:
            raise current from None
    return [{**row, "train_accuracy": None, "test_accuracy": None} for row in rows]


# What malformed contents raise on the way to numbers. RuntimeError: torch's, and RecursionError
# (JSON nested too deeply).
_MALFORMED = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError)


@contextlib.contextmanager
def _readable(path: Path, what: str) -> Iterator[None]:
    """Whatever a hand-edited or torn file holds becomes one line, never a traceback."""
    try:
        yield
    except StoreError:
        raise
    # RuntimeError: torch's, and RecursionError (JSON nested too deeply).
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RuntimeError,
    ) as exc:
        raise StoreError(f"{path.name} is not a readable {what}: {one_line(exc)}") from None


def _dataset_of(config: RunConfig) -> Dataset | None:
    """The run's data again (a preset regenerated, a CSV read), or None: the file has gone."""
    try:
        return load_dataset(config)
    except (ConfigError, OSError, ValueError, RuntimeError):
        return None


def _number_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _nan_for_none(value: Any) -> float:
    return math.nan if value is None else float(value)
