"""Which settings a sweep's results belong to, and how the live run's differ from them.

A sweep answers one question: which λ gives the lowest test loss *with these settings*. So its
settings are every field of its resolved `RunConfig` that can change that answer: the data (the
preset or CSV, its target, split, standardization and seed), the model and its shape, the
optimizer with its lr and momentum, the reg mode and whether biases are penalized, the epochs,
the batch size and how the train loss is measured. Not λ (the sweep varies it), and not where
or how it runs (device, CPU threads, the runs folder, saving), which changes none of the numbers
it reports. A linear model has no hidden layers: its unused `hidden` and `activation` are
not settings of it.

`settings_change(results, current)` compares two resolved configs (the sweep's, the live run's)
on those fields and, where they differ, says how in words, for the sweep view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from engine.config import RunConfig

# What does not change a sweep's best λ: λ itself, a run's λ/lr changes (a sweep has none:
# engine/sweep/runner.py drops them), and where and how the training runs.
NOT_SETTINGS = frozenset({"lam", "schedule", "device", "cpu_threads", "runs_dir", "save"})
MLP_ONLY = frozenset({"hidden", "activation"})


def sweep_settings(config: RunConfig) -> dict[str, object]:
    """The fields of a resolved `config` that decide its best λ, by name."""
    unused = MLP_ONLY if config.model != "mlp" else frozenset()
    settings = {
        f.name: getattr(config, f.name)
        for f in fields(config)
        if f.name not in NOT_SETTINGS and f.name not in unused
    }
    if config.norm != "batch":  # no norm layer: decaying its γ and β changes nothing
        settings["decay_norm"] = False
    return settings


def changed_fields(results: RunConfig, current: RunConfig) -> list[str]:
    """The settings in which `current` differs from `results` (RunConfig's field order);
    [] when the best λ of one is the best λ of the other."""
    then, now = sweep_settings(results), sweep_settings(current)
    names = [f.name for f in fields(RunConfig) if f.name in then or f.name in now]
    return [name for name in names if then.get(name, _ABSENT) != now.get(name, _ABSENT)]


def same_settings(results: RunConfig, current: RunConfig) -> bool:
    return not changed_fields(results, current)


_ABSENT = object()


def _num(x: float) -> str:
    """Short, and exact: 0.003, but 0.0030000001 where `g` would round it to 0.003."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


def _source(c: RunConfig) -> str:
    return c.source_name if c.data is None else f"{c.source_name} → {c.target}"


def _split(c: RunConfig) -> str:
    split = "default split" if c.test_fraction is None else f"test {_num(c.test_fraction)}"
    return f"{split}, {'standardized' if c.standardize else 'raw'}"


def _model(c: RunConfig) -> str:
    model = c.model
    if c.model == "mlp":
        model = f"mlp {'-'.join(str(h) for h in c.hidden)} {c.activation}"
        if c.norm == "batch":
            model += " batchnorm"
    return model if c.init == "default" else f"{model} init {c.init}"


def _optimizer(c: RunConfig) -> str:
    optimizer = c.optimizer if not c.momentum else f"{c.optimizer} momentum {_num(c.momentum)}"
    too = [what for what, on in (("biases", c.decay_bias), ("BN γ, β", c.decay_norm)) if on]
    bias = f" ({' and '.join(too)} too)" if too else ""
    return f"{optimizer} + {c.reg}{bias}"


def _batch(c: RunConfig) -> str:
    return f"batch {c.batch_size}" if c.batch_size else "full batch"


# The settings in words, in the order of the sweep view's title: each part, and the fields it
# shows (a part is said when any of its fields differs).
PARTS: tuple[tuple[frozenset[str], Callable[[RunConfig], str]], ...] = (
    (frozenset({"preset", "data", "target"}), _source),
    (frozenset({"test_fraction", "standardize"}), _split),
    (frozenset({"model", "hidden", "activation", "init", "norm"}), _model),
    (frozenset({"optimizer", "momentum", "reg", "decay_bias", "decay_norm"}), _optimizer),
    (frozenset({"lr"}), lambda c: f"lr {_num(float(c.lr or 0))}"),
    (frozenset({"epochs"}), lambda c: f"{c.epochs or 0:,} epochs"),
    (frozenset({"batch_size"}), _batch),
    (frozenset({"train_loss"}), lambda c: f"{c.train_loss} train loss"),
    (frozenset({"seed"}), lambda c: f"seed {c.seed}"),
    (frozenset({"task"}), lambda c: f"task {c.task}"),
)


@dataclass(frozen=True)
class SettingsChange:
    """How the live run's settings differ from a sweep's: the parts that differ, in words,
    as the sweep had them (`then`) and as the live run has them (`now`)."""

    fields: tuple[str, ...]
    then: str
    now: str


def settings_change(results: RunConfig, current: RunConfig) -> SettingsChange | None:
    """None when a sweep of `results` answers for `current` too (both resolved); else what
    differs, e.g. then = "highdim · lr 0.003 · 200 epochs", now = "poly · lr 0.01 · 400 epochs"."""
    changed = changed_fields(results, current)
    if not changed:
        return None
    parts = [describe for names, describe in PARTS if names.intersection(changed)]
    return SettingsChange(
        tuple(changed),
        " · ".join(describe(results) for describe in parts),
        " · ".join(describe(current) for describe in parts),
    )


__all__ = [
    "NOT_SETTINGS",
    "SettingsChange",
    "changed_fields",
    "same_settings",
    "settings_change",
    "sweep_settings",
]
