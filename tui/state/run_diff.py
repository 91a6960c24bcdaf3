"""How two saved runs' settings differ: the rows of the comparison's settings table.

Pure functions of two config.json records (plain dicts, as saved), no torch and no widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Where a run was written, not what it trained: never a difference worth a row.
NOT_SETTINGS = frozenset({"runs_dir", "save"})
# Read only by an MLP: two linear runs that record other hidden sizes train the same model.
MLP_ONLY = frozenset({"hidden", "activation", "norm", "decay_norm"})
# How the table names a few keys; any other is shown as config.json spells it.
LABELS = {
    "lam": "λ",
    "reg": "mode",
    "lr": "lr",
    "batch_size": "batch size",
    "test_fraction": "test fraction",
    "decay_bias": "decay bias",
    "decay_norm": "decay BN γ, β",
    "train_loss": "train loss",
    "cpu_threads": "CPU threads",
    "resolved_device": "device used",
    "torch_version": "torch",
    "n_train": "train rows",
    "n_test": "test rows",
}

Difference = tuple[str, Any, Any]  # (config.json key, the first run's value, the second's)


def differences(config_a: Mapping[str, Any], config_b: Mapping[str, Any]) -> list[Difference]:
    """Every config.json key whose value differs, in the first record's order then the second's
    own keys (a key one record lacks has None there). The schedule compares as its changes
    (epoch, key, value), so a replay's recorded steps do not count as a difference."""
    mlp = "mlp" in (config_a.get("model"), config_b.get("model"))
    keys = [*config_a, *(k for k in config_b if k not in config_a)]
    found = []
    for key in keys:
        if not _setting(key, mlp):
            continue
        a, b = config_a.get(key), config_b.get(key)
        if _comparable(key, a) != _comparable(key, b):
            found.append((key, a, b))
    return found


def settings(record: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The record's settings worth listing, in its order: the keys `differences` compares."""
    mlp = record.get("model") == "mlp"
    return [(key, value) for key, value in record.items() if _setting(key, mlp)]


def _setting(key: str, mlp: bool) -> bool:
    return key not in NOT_SETTINGS and (mlp or key not in MLP_ONLY)


def only_seed(found: list[Difference]) -> bool:
    """The runs differ in nothing but their seed: the spread is the seed's alone."""
    return [key for key, _, _ in found] == ["seed"]


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def shown(key: str, value: Any) -> str:
    """A setting's value as the table shows it: numbers short, lists joined, a schedule as
    `--at` takes it, None as `—` (not set: the problem's own)."""
    if key == "schedule":
        changes = _schedule(value)
        return ", ".join(f"{e}:{k}={shown('', v)}" for e, k, v in changes) if changes else "none"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(shown("", v) for v in value) if value else "none"
    return str(value)


def _comparable(key: str, value: Any) -> Any:
    if key == "schedule":
        return _schedule(value)
    if isinstance(value, (list, tuple)):
        return tuple(_comparable("", v) for v in value)
    return value


def _schedule(value: Any) -> tuple[tuple[Any, Any, Any], ...]:
    """A saved schedule's changes as (epoch, key, value); anything malformed as it stands."""
    if not isinstance(value, (list, tuple)):
        return ()
    out = []
    for item in value:
        if isinstance(item, Mapping):
            out.append((item.get("epoch"), item.get("key"), item.get("value")))
    return tuple(out)
