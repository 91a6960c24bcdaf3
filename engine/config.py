"""The validated description of one training run.

A `RunConfig` holds everything needed to reproduce a run: it is what `config.json` stores.
Preset-dependent defaults (lr, λ, epochs, batch size) are resolved here, once, so the trainer,
the sweep and the UI all see the same concrete numbers.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeGuard

from engine.errors import ConfigError, DataError
from engine.schedule import Change, changes_from_json, check_schedule

PRESETS = ("line", "highdim", "poly", "digits", "cancer", "diabetes", "grokking")
TASKS = ("auto", "regression", "classification")
MODELS = ("linear", "mlp")
ACTIVATIONS = ("relu", "tanh")
INITS = ("default", "zeros")
# A BatchNorm after each hidden layer's Linear (an MLP only): engine/models.py.
NORMS = ("none", "batch")
OPTIMIZERS = ("sgd", "adam", "adamw")
# What an epoch's train loss is: the loss at its final weights (d2l's, free with full batches),
# or the mean of its minibatch losses (free always; the exact one costs a pass over the rows).
TRAIN_LOSSES = ("exact", "batch-mean")
REG_MODES = ("l2", "wd", "none")


# Keys a saved config.json holds besides RunConfig's own fields: written by
# engine/store/layout.py `config_record` (RUN_FACTS: where and on what a run ran) and by the
# sweep (its λ list). `--config` and `RunConfig.from_dict` accept these and refuse any other
# unknown key (a typo such as "lamda" must not be ignored). A writer that adds a key to
# config.json adds it here.
RUN_FACTS = ("resolved_device", "torch_version", "n_train", "n_test", "features", "classes")
RECORD_KEYS = (*RUN_FACTS, "lams")

# Training runs in float32: a λ or lr beyond its range would become inf inside torch (and 2λ is
# what `wd` hands the optimizer); one below its smallest normal number would become 0 (or lose
# its precision), and the run would "complete" without moving.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38  # the smallest positive normal float32

# A fixed cap, not one derived from this machine's cores: a config.json saved on a big machine
# must replay anywhere. 1024 is above any single machine's core count (more threads than cores
# never helps) and far below where thread creation fails (65536 crashed torch's OpenMP pool).
MAX_CPU_THREADS = 1024
# Wider layers than this are a typo; it also keeps every size far from int64 overflow in torch.
MAX_HIDDEN_WIDTH = 2**31


@dataclass(frozen=True)
class PresetDefaults:
    lr: float
    lam: float
    epochs: int
    batch_size: int  # 0 = full batch
    standardize: bool = False
    # The problem's own model and optimizer (grokking's is an MLP trained by AdamW, with
    # decoupled decay); every other preset and a CSV: a linear model and SGD with l2.
    model: str = "linear"
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    optimizer: str = "sgd"
    reg: str = "l2"


PRESET_DEFAULTS: dict[str, PresetDefaults] = {
    "line": PresetDefaults(lr=0.01, lam=0.01, epochs=100, batch_size=0),
    # λ = 0 first: the point of this preset is to watch it overfit, then raise λ.
    "highdim": PresetDefaults(lr=0.003, lam=0.0, epochs=100, batch_size=5),
    # Its features x^k/k! are scaled by design; standardizing would blow the high powers up.
    "poly": PresetDefaults(lr=0.01, lam=0.0, epochs=400, batch_size=5, standardize=False),
    # scikit-learn's bundled sets (engine/sources/bundled.py), in arbitrary units: standardized
    # from the training rows, as a CSV is.
    "digits": PresetDefaults(lr=0.05, lam=0.0, epochs=200, batch_size=32, standardize=True),
    "cancer": PresetDefaults(lr=0.05, lam=0.0, epochs=200, batch_size=32, standardize=True),
    "diabetes": PresetDefaults(lr=0.05, lam=0.0, epochs=300, batch_size=0, standardize=True),
    # (a + b) mod p from one-hot pairs: memorised at once, understood much later, and only
    # with decay (engine/sources/grokking.py; the numbers are measured in the README).
    "grokking": PresetDefaults(
        lr=0.01,
        lam=0.5,  # torch's usual weight_decay=1.0
        epochs=3000,
        batch_size=0,
        model="mlp",
        hidden=(128, 128),
        optimizer="adamw",
        reg="wd",
    ),
}
# Presets are generated on a known scale and reproduce their sources (the seed article, d2l)
# as they are; a user's CSV has columns in arbitrary units, so it is standardized by default.
CSV_TEST_FRACTION = 0.2  # a CSV's held-out share unless --test-fraction says otherwise
CSV_DEFAULTS = PresetDefaults(lr=0.01, lam=0.01, epochs=100, batch_size=0, standardize=True)


@dataclass(frozen=True)
class RunConfig:
    # data: a preset or a CSV (None and no data: the `line` preset)
    preset: str | None = None
    data: str | None = None
    target: str | None = None
    test_fraction: float | None = None  # None: the preset's own split (0.2 for a CSV)
    standardize: bool | None = None  # None: off for presets, on for a CSV
    seed: int = 0
    # what is learned: "auto" is the problem's own (a CSV: classes when its target is not
    # numeric); the data decide it, and config.json records them (engine/data.py)
    task: str = "auto"
    # model ("" and (): the problem's own, PresetDefaults; `resolved` fills them in)
    model: str = ""
    hidden: tuple[int, ...] = ()
    activation: str = ""
    init: str = "default"
    norm: str = "none"  # NORMS
    # optimisation
    optimizer: str = ""
    lr: float | None = None
    momentum: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None
    train_loss: str = "exact"  # TRAIN_LOSSES
    # regularization: objective = data loss + lam * sum of ||w||^2 over the penalized parameters
    reg: str = ""
    lam: float | None = None
    decay_bias: bool = False
    decay_norm: bool = False  # a norm layer's γ and β decay too
    # λ and lr changes at chosen epochs or steps (engine/schedule.py): --at, or a replay's
    schedule: tuple[Change, ...] = ()
    # where
    device: str = "auto"
    cpu_threads: int = 1  # torch threads for a CPU run; 0 = torch's default (engine/job.py)
    runs_dir: str = "runs"
    save: bool = True

    def resolved(self) -> RunConfig:
        """Fill the preset's defaults in and validate everything; raises ConfigError."""
        if self.data is not None:
            if self.preset is not None:
                raise ConfigError(
                    f"--preset {self.preset} and --data {self.data} exclude each other: a run "
                    "trains on a built-in problem or on a CSV file"
                )
            defaults = CSV_DEFAULTS
        else:
            if self.preset is not None and self.preset not in PRESETS:
                raise ConfigError(
                    f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}"
                )
            defaults = PRESET_DEFAULTS[self.preset or "line"]
        lam = defaults.lam if self.lam is None else self.lam
        # `or`: "" (a RunConfig's default) and None (an option not given) both mean the
        # problem's own.
        reg = self.reg or defaults.reg
        hidden = self.hidden or defaults.hidden
        if reg == "none":
            # No penalty: λ is 0, never the preset's default. (The command line refuses a
            # nonzero --lam with `none`; the explorer keeps its live λ while it switches modes.)
            if self.lam is not None:
                check_lam(self.lam)
            lam = 0.0
        cfg = replace(
            self,
            preset=None if self.data is not None else (self.preset or "line"),
            data=None if self.data is None else _absolute_file(self.data),
            lr=defaults.lr if self.lr is None else self.lr,
            lam=lam,
            epochs=defaults.epochs if self.epochs is None else self.epochs,
            batch_size=defaults.batch_size if self.batch_size is None else self.batch_size,
            hidden=tuple(hidden) if isinstance(hidden, (list, tuple)) else hidden,
            model=self.model or defaults.model,
            activation=self.activation or defaults.activation,
            optimizer=self.optimizer or defaults.optimizer,
            reg=reg,
            standardize=defaults.standardize if self.standardize is None else self.standardize,
        )
        cfg._validate()
        return cfg

    def _validate(self) -> None:
        self._validate_types()
        _choice("model", self.model, MODELS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("init", self.init, INITS)
        _choice("norm", self.norm, NORMS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("reg", self.reg, REG_MODES)
        _choice("task", self.task, TASKS)
        check_lam(self.lam)
        check_lr(self.lr)
        check_momentum(self.momentum)
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError("--momentum applies to --optimizer sgd only")
        _whole("epochs", self.epochs)
        _whole("batch size", self.batch_size, "0 = full batch")
        _choice("train loss", self.train_loss, TRAIN_LOSSES)
        _whole("CPU threads", self.cpu_threads, "0 = torch's default")
        if self.cpu_threads > MAX_CPU_THREADS:
            raise ConfigError(
                f"CPU threads must be at most {MAX_CPU_THREADS}, got {self.cpu_threads} "
                f"(this machine has {os.cpu_count() or 1} cores)"
            )
        check_test_fraction(self.test_fraction)
        if self.data is not None and not self.target:
            raise ConfigError("--data needs --target COLUMN (the column to predict)")
        if self.data is None and self.target is not None:
            raise ConfigError("--target applies to --data FILE.csv only")
        if self.model == "mlp" and (not self.hidden or any(h <= 0 for h in self.hidden)):
            raise ConfigError(f"hidden sizes must be positive whole numbers, got {self.hidden}")
        check_init(self.model, self.init)
        check_norm(self.model, self.norm)
        check_schedule(
            self.schedule,
            self.epochs or 0,
            {"lam": check_lam, "lr": check_lr},
            penalized=self.reg != "none",
        )

    def _validate_types(self) -> None:
        """A config.json edited by hand can hold anything: say what is wrong, in one line."""
        for name in (
            "model", "activation", "init", "norm", "optimizer", "reg", "task", "device",
            "runs_dir",
        ):  # fmt: skip
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be text, got {getattr(self, name)!r}")
        for name in ("preset", "data", "target"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be text, got {getattr(self, name)!r}")
        for name in ("decay_bias", "decay_norm", "save"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.standardize is not None and not isinstance(self.standardize, bool):
            raise ConfigError(f"standardize must be true or false, got {self.standardize!r}")
        check_hidden(self.hidden)
        check_seed(self.seed)

    @property
    def effective_lam(self) -> float:
        """The λ the objective uses: mode `none` means no penalty whatever λ says."""
        return 0.0 if self.reg == "none" else float(self.lam or 0.0)

    @property
    def source_name(self) -> str:
        """The preset, or the CSV's file name: what a run folder's name starts with."""
        return (self.preset or "line") if self.data is None else Path(self.data).name

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["hidden"] = list(self.hidden)
        out["schedule"] = [change.to_json() for change in self.schedule]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """A config from a saved config.json's object; an unknown key is a ConfigError."""
        check_keys(data)
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if isinstance(kwargs.get("hidden"), list):
            kwargs["hidden"] = tuple(kwargs["hidden"])
        kwargs["schedule"] = changes_from_json(kwargs.get("schedule", []))
        return cls(**kwargs)


def check_keys(saved: dict[str, Any], where: str = "config.json") -> None:
    """Refuse a key that is neither a setting nor one of RECORD_KEYS (a typo: "lamda")."""
    accepted = [f.name for f in fields(RunConfig)] + list(RECORD_KEYS)
    for key in saved:
        if key not in accepted:
            close = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown setting {key!r}{hint}")


def _absolute_file(data: Any) -> Any:
    """A CSV path made absolute (so a saved config.json works from any folder), or an error
    naming the path as the user wrote it."""
    if not isinstance(data, str):
        return data  # _validate_types says what is wrong
    if not data.strip():
        raise DataError("--data needs a file name, got ''")
    path = os.path.abspath(os.path.expanduser(data))
    if not os.path.exists(path):
        raise DataError(f"no such file: {data}")
    if not os.path.isfile(path):
        raise DataError(f"{data} is not a regular file")
    return path


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def _whole(name: str, value: object, note: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        extra = f" ({note})" if note else ""
        raise ConfigError(f"{name} must be a whole number >= 0{extra}, got {value}")
    return value


def check_lam(lam: object) -> float:
    """λ must be a finite number >= 0 that float32 holds: 2λ finite, a nonzero λ not below the
    smallest normal float32 (it would act as 0)."""
    if not _finite(lam) or lam < 0:
        raise ConfigError(f"λ must be a finite number >= 0, got {lam}")
    if lam > FLOAT32_MAX / 2:
        raise ConfigError(f"λ must be at most {FLOAT32_MAX / 2:.3g} (float32), got {lam}")
    if 0 < lam < FLOAT32_TINY:
        raise ConfigError(
            f"λ must be 0 or at least {FLOAT32_TINY:.3g} (float32's smallest normal number; "
            f"smaller is 0 in training), got {lam}"
        )
    return float(lam)


def check_pace(pace: object) -> float | None:
    """A pace is at most this many epochs per second: a finite number > 0, or None (no cap)."""
    if pace is None:
        return None
    if not _finite(pace) or pace <= 0:
        raise ConfigError(f"pace must be a finite number of epochs per second > 0, got {pace}")
    return float(pace)


def check_lr(lr: object) -> float:
    """The learning rate must be a finite number > 0 that float32 holds as a normal number."""
    if not _finite(lr) or lr <= 0:
        raise ConfigError(f"learning rate must be a finite number > 0, got {lr}")
    if lr > FLOAT32_MAX:
        raise ConfigError(f"learning rate must be at most {FLOAT32_MAX:.3g} (float32), got {lr}")
    if lr < FLOAT32_TINY:
        raise ConfigError(
            f"learning rate must be at least {FLOAT32_TINY:.3g} (float32's smallest normal "
            f"number; smaller is 0 in training), got {lr}"
        )
    return float(lr)


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


# One check per setting, shared by RunConfig's validation and the explorer's fields, so both
# refuse the same values in the same words.


def parse_whole(text: str, what: str, note: str = "") -> int:
    """Parse user text into a whole number >= 0, in the words RunConfig uses for `what`."""
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None:
        extra = f" ({note})" if note else ""
        raise ConfigError(f"{what} must be a whole number >= 0{extra}, got {text.strip()!r}")
    return _whole(what, value, note)


def check_hidden(hidden: object) -> tuple[int, ...]:
    """An MLP's hidden widths: a tuple of whole numbers in [1, MAX_HIDDEN_WIDTH]."""
    if not isinstance(hidden, tuple) or not all(
        isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden
    ):
        raise ConfigError(f"hidden sizes must be positive whole numbers, got {hidden!r}")
    if any(h > MAX_HIDDEN_WIDTH for h in hidden):
        raise ConfigError(
            f"hidden sizes must be at most {MAX_HIDDEN_WIDTH} (2**31), got {max(hidden)}"
        )
    return hidden


def check_seed(seed: object) -> int:
    """A seed: a whole number >= 0 that torch's generators take (below 2**63)."""
    value = _whole("seed", seed)
    if value >= 2**63:
        raise ConfigError(f"seed must be below 2**63, got {value}")
    return value


def check_momentum(momentum: object) -> float:
    """SGD's momentum: a finite number in [0, 1)."""
    if not _finite(momentum) or not 0 <= momentum < 1:
        raise ConfigError(f"momentum must be in [0, 1), got {momentum}")
    return float(momentum)


def check_test_fraction(fraction: object) -> float | None:
    """The held-out share: in [0, 1), or None (the problem's own split)."""
    if fraction is None:
        return None
    if not _finite(fraction) or not 0 <= fraction < 1:
        raise ConfigError(f"test fraction must be in [0, 1), got {fraction}")
    return float(fraction)


def check_init(model: str, init: str) -> None:
    """Zeros suit a linear model only: an MLP started at zero never breaks its symmetry."""
    if model == "mlp" and init == "zeros":
        raise ConfigError(
            "--init zeros applies to --model linear only (an MLP started at zero never "
            "breaks its symmetry)"
        )


def check_norm(model: str, norm: str) -> None:
    """BatchNorm normalizes hidden layers: a linear model has none."""
    if norm != "none" and model != "mlp":
        raise ConfigError(
            f"--norm {norm} needs --model mlp: a linear model has no hidden layer to normalize"
        )


__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MODELS",
    "NORMS",
    "OPTIMIZERS",
    "PRESETS",
    "PRESET_DEFAULTS",
    "RECORD_KEYS",
    "REG_MODES",
    "RUN_FACTS",
    "ConfigError",
    "DataError",
    "RunConfig",
    "check_keys",
    "check_lam",
    "check_lr",
    "check_pace",
    "parse_hidden",
    "parse_number",
]


# ----- the next run's settings (the explorer's r and n keys) ----------------------------------

CSV_PRESET = "csv"  # the problem's name for a run on a CSV file (the explorer's preset choice)
DEFAULT_PRESET = "line"  # what `resolved` trains on without a preset or a CSV


def preset_of(config: RunConfig) -> str:
    """The problem `config` trains on: a preset's name, or CSV_PRESET for its CSV file."""
    if config.data is not None:
        return CSV_PRESET
    return config.preset or DEFAULT_PRESET


# The settings each problem brings its own default for (PRESET_DEFAULTS, CSV_DEFAULTS; a test
# fraction of None is the problem's own split): another problem starts from its own unless they
# are chosen for it.
PROBLEM_SETTINGS = (
    "lr",
    "lam",
    "epochs",
    "batch_size",
    "standardize",
    "test_fraction",
    "model",
    "hidden",
    "activation",
    "optimizer",
    "reg",
)
# What the next run takes otherwise than as a chosen setting: the problem (its `preset`), and
# λ and lr, the live ones.
_NOT_CHOSEN = ("preset", "data", "target", "lam", "lr", "schedule")


def problem_default(problem: str, setting: str) -> Any:
    """`setting`'s default on `problem` (a preset's name, or CSV_PRESET); raises ConfigError
    for an unknown problem."""
    if setting not in PROBLEM_SETTINGS:
        raise ValueError(f"{setting!r} is not one of PROBLEM_SETTINGS")
    if problem == CSV_PRESET:
        defaults = CSV_DEFAULTS
    elif problem in PRESET_DEFAULTS:
        defaults = PRESET_DEFAULTS[problem]
    else:
        raise ConfigError(f"unknown preset {problem!r}; choose one of {', '.join(PRESETS)}")
    return None if setting == "test_fraction" else getattr(defaults, setting)


def next_run_config(
    base: RunConfig, initial: RunConfig, *, preset: str, lam: float, lr: float, **chosen: Any
) -> RunConfig:
    """The run after `base`, resolved; raises ConfigError.

    `chosen` holds the settings picked for it by RunConfig field (reg="wd", model="mlp",
    hidden=(32, 32), batch_size=0, …), each used as given; any other is `base`'s. Another
    problem (`preset`; CSV_PRESET is `initial`'s CSV file) starts from its own defaults for the
    PROBLEM_SETTINGS not chosen. `lam` and `lr` are the ones in use: the same problem keeps
    them, another brings its own. Mode 'none' trains at λ = 0, and momentum, an SGD-only
    setting, is 0 for the other optimizers.
    """
    settings = {f.name for f in fields(RunConfig)} - set(_NOT_CHOSEN)
    unknown = sorted(set(chosen) - settings)
    if unknown:
        raise TypeError(f"next_run_config does not take {', '.join(unknown)} as a chosen setting")
    if preset == preset_of(base):
        config = replace(base, lam=lam, lr=lr)
    else:
        data = initial.data if preset == CSV_PRESET else None
        own: dict[str, Any] = {name: None for name in PROBLEM_SETTINGS}
        config = replace(
            base,
            preset=None if preset == CSV_PRESET else preset,
            data=data,
            target=initial.target if data else None,
            **own,
        )
    # The explorer's changes are live ones, recorded as the run gets them: none is scripted.
    config = replace(config, schedule=(), **chosen)
    # The problem's own where none was chosen (None, "": resolved below).
    if (config.optimizer or problem_default(preset, "optimizer")) != "sgd":
        config = replace(config, momentum=0.0)
    if (config.reg or problem_default(preset, "reg")) == "none":
        config = replace(config, lam=0.0)
    # BatchNorm is an MLP's: a linear model trains without it, as momentum is 0 off SGD.
    if (config.model or problem_default(preset, "model")) != "mlp":
        config = replace(config, norm="none")
    return config.resolved()


__all__ += [
    "CSV_PRESET",
    "DEFAULT_PRESET",
    "PROBLEM_SETTINGS",
    "check_hidden",
    "check_init",
    "check_momentum",
    "check_norm",
    "check_seed",
    "check_test_fraction",
    "next_run_config",
    "parse_whole",
    "preset_of",
    "problem_default",
]
