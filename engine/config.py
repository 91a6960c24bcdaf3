"""The validated description of one training run.

A `RunConfig` holds everything needed to reproduce a run: it is what `config.json` stores.
Preset-dependent defaults (lr, λ, epochs, batch size) are resolved here, once, so the trainer,
the sweep and the UI all see the same concrete numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

PRESETS = ("line", "highdim", "poly")
MODELS = ("linear", "mlp")
ACTIVATIONS = ("relu", "tanh")
INITS = ("default", "zeros")
OPTIMIZERS = ("sgd", "adam", "adamw")
REG_MODES = ("l2", "wd", "none")


class ConfigError(ValueError):
    """A setting a user gave is not valid. The message is one line, fit to show as is."""


@dataclass(frozen=True)
class PresetDefaults:
    lr: float
    lam: float
    epochs: int
    batch_size: int  # 0 = full batch
    standardize: bool = False


PRESET_DEFAULTS: dict[str, PresetDefaults] = {
    "line": PresetDefaults(lr=0.01, lam=0.01, epochs=100, batch_size=0),
    # λ = 0 first: the point of this preset is to watch it overfit, then raise λ.
    "highdim": PresetDefaults(lr=0.003, lam=0.0, epochs=100, batch_size=5),
    # Its features x^k/k! are scaled by design; standardizing would blow the high powers up.
    "poly": PresetDefaults(lr=0.01, lam=0.0, epochs=400, batch_size=5, standardize=False),
}
# Presets are generated on a known scale and reproduce their sources (the seed article, d2l)
# as they are; a user's CSV has columns in arbitrary units, so it is standardized by default.
CSV_DEFAULTS = PresetDefaults(lr=0.01, lam=0.01, epochs=100, batch_size=0, standardize=True)


@dataclass(frozen=True)
class RunConfig:
    # data
    preset: str | None = "line"
    data: str | None = None
    target: str | None = None
    test_fraction: float | None = None  # None: the preset's own split (0.2 for a CSV)
    standardize: bool | None = None  # None: off for presets, on for a CSV
    seed: int = 0
    # model
    model: str = "linear"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    init: str = "default"
    # optimisation
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None
    # regularization: objective = MSE + lam * sum of ||w||^2 over the penalized parameters
    reg: str = "l2"
    lam: float | None = None
    decay_bias: bool = False
    # where
    device: str = "auto"
    cpu_threads: int = 1  # torch threads for a CPU run; 0 = torch's default (engine/threads.py)
    runs_dir: str = "runs"
    save: bool = True

    def resolved(self) -> RunConfig:
        """Fill the preset's defaults in and validate everything; raises ConfigError."""
        if self.data is not None:
            defaults = CSV_DEFAULTS
        else:
            if self.preset not in PRESETS:
                raise ConfigError(
                    f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}"
                )
            defaults = PRESET_DEFAULTS[self.preset]
        cfg = replace(
            self,
            preset=None if self.data is not None else self.preset,
            lr=defaults.lr if self.lr is None else self.lr,
            lam=defaults.lam if self.lam is None else self.lam,
            epochs=defaults.epochs if self.epochs is None else self.epochs,
            batch_size=defaults.batch_size if self.batch_size is None else self.batch_size,
            hidden=tuple(self.hidden),
            standardize=defaults.standardize if self.standardize is None else self.standardize,
        )
        cfg._validate()
        return cfg

    def _validate(self) -> None:
        _choice("model", self.model, MODELS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("init", self.init, INITS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("reg", self.reg, REG_MODES)
        check_lam(self.lam)
        check_lr(self.lr)
        if not _finite(self.momentum) or not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError("--momentum applies to --optimizer sgd only")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 0:
            raise ConfigError(f"epochs must be a whole number >= 0, got {self.epochs}")
        if (
            isinstance(self.batch_size, bool)
            or not isinstance(self.batch_size, int)
            or self.batch_size < 0
        ):
            raise ConfigError(
                f"batch size must be a whole number >= 0 (0 = full batch), got {self.batch_size}"
            )
        if (
            isinstance(self.cpu_threads, bool)
            or not isinstance(self.cpu_threads, int)
            or (self.cpu_threads < 0)
        ):
            raise ConfigError(
                f"CPU threads must be a whole number >= 0 (0 = torch's default), "
                f"got {self.cpu_threads}"
            )
        if self.test_fraction is not None and (
            not _finite(self.test_fraction) or not 0 <= self.test_fraction < 1
        ):
            raise ConfigError(f"test fraction must be in [0, 1), got {self.test_fraction}")
        if self.data is not None and not self.target:
            raise ConfigError("--data needs --target COLUMN (the column to predict)")
        if self.data is None and self.target is not None:
            raise ConfigError("--target applies to --data FILE.csv only")
        if self.model == "mlp" and (not self.hidden or any(h <= 0 for h in self.hidden)):
            raise ConfigError(f"hidden sizes must be positive whole numbers, got {self.hidden}")
        if self.model == "mlp" and self.init == "zeros":
            raise ConfigError(
                "--init zeros applies to --model linear only (an MLP started at zero never "
                "breaks its symmetry)"
            )

    @property
    def effective_lam(self) -> float:
        """The λ the objective uses: mode `none` means no penalty whatever λ says."""
        return 0.0 if self.reg == "none" else float(self.lam or 0.0)

    @property
    def source_name(self) -> str:
        return self.preset if self.data is None else str(self.data)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "hidden" in kwargs:
            kwargs["hidden"] = tuple(kwargs["hidden"])
        return cls(**kwargs)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def check_lam(lam: object) -> float:
    """λ must be a finite number >= 0."""
    if not _finite(lam) or lam < 0:  # type: ignore[operator]
        raise ConfigError(f"λ must be a finite number >= 0, got {lam}")
    return float(lam)  # type: ignore[arg-type]


def check_lr(lr: object) -> float:
    """The learning rate must be a finite number > 0."""
    if not _finite(lr) or lr <= 0:  # type: ignore[operator]
        raise ConfigError(f"learning rate must be a finite number > 0, got {lr}")
    return float(lr)  # type: ignore[arg-type]


def parse_number(text: str, what: str) -> float:
    """Parse user text into a finite float, with a one-line error naming `what`."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(f"{what} must be a number, got {text.strip()!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {text.strip()!r}")
    return value


def parse_hidden(text: str) -> tuple[int, ...]:
    """'64,64' -> (64, 64)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--hidden must be positive whole numbers separated by commas, got {text!r}"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise ConfigError(
            f"--hidden must be positive whole numbers separated by commas, got {text!r}"
        )
    return sizes


__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MODELS",
    "OPTIMIZERS",
    "PRESETS",
    "PRESET_DEFAULTS",
    "REG_MODES",
    "ConfigError",
    "RunConfig",
    "check_lam",
    "check_lr",
    "parse_hidden",
    "parse_number",
]
