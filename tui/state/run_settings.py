"""The next run's settings the explorer's controls offer, and how each is read and shown.

Every setting of `wdtui run` that changes what a run learns is here, except λ and lr (live
fields, applied to the running trainer) and the problem (the preset choice, which names the
session's CSV too). Where and how fast a run trains stays on the command line: the device and
the CPU threads change no number a run reports, and the runs folder and saving are the
session's. The CSV file and its target column are the session's too: the data are loaded once.

Each typed setting is parsed by the engine's own checks, so a field refuses exactly what
`wdtui run` refuses, in the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config import (
    ACTIVATIONS,
    INITS,
    MODELS,
    NORMS,
    OPTIMIZERS,
    REG_MODES,
    TRAIN_LOSSES,
    RunConfig,
    check_hidden,
    check_momentum,
    check_seed,
    check_test_fraction,
    parse_hidden,
    parse_number,
    parse_whole,
)


def parse_epochs(text: str) -> int:
    return parse_whole(text, "epochs")


def parse_batch_size(text: str) -> int:
    return parse_whole(text, "batch size", "0 = full batch")


def parse_momentum(text: str) -> float:
    return check_momentum(parse_number(text, "momentum"))


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    return check_hidden(parse_hidden(text))


def parse_seed(text: str) -> int:
    return check_seed(parse_whole(text, "seed"))


def parse_test_fraction(text: str) -> float | None:
    """Empty: the problem's own split (the command line's default)."""
    if not text.strip():
        return None
    return check_test_fraction(parse_number(text, "test fraction"))


def number_text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def hidden_text(hidden: tuple[int, ...]) -> str:
    return ",".join(str(width) for width in hidden)


@dataclass(frozen=True)
class TypedSetting:
    """A setting typed into a field: `parse` is the engine's check (raises ConfigError)."""

    id: str  # the widget's id
    field: str  # the RunConfig field it sets
    label: str  # at most 7 characters: the panel's name column
    parse: Callable[[str], Any]
    show: Callable[[Any], str]
    tooltip: str
    placeholder: str = ""


@dataclass(frozen=True)
class ChoiceSetting:
    """A setting chosen from a list (a Select: the command palette finds it too)."""

    id: str
    field: str
    label: str
    options: tuple[tuple[str, Any], ...]  # (what the list shows, the value)
    tooltip: str


Setting = TypedSetting | ChoiceSetting


def _same(names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, name) for name in names)


# In the panel's order: the most used first (80×24 shows only the first few without scrolling).
SETTINGS: tuple[Setting, ...] = (
    ChoiceSetting("mode", "reg", "mode", _same(REG_MODES), "l2: penalty in the loss; wd: the "
                  "optimizer's weight_decay = 2λ; none: no penalty (--reg)"),
    ChoiceSetting("optim", "optimizer", "optim", _same(OPTIMIZERS), "the torch optimizer; its "
                  "other hyper-parameters are torch's defaults (--optimizer)"),
    TypedSetting("momentum", "momentum", "mom", parse_momentum, number_text,
                 "SGD momentum, in [0, 1); sgd only (--momentum)"),
    TypedSetting("epochs", "epochs", "epochs", parse_epochs, number_text,
                 "epochs to train (--epochs); kept when the preset changes"),
    TypedSetting("batch-size", "batch_size", "batch", parse_batch_size, number_text,
                 "rows per step, 0 = full batch (--batch-size); a new preset brings its own "
                 "unless changed"),
    ChoiceSetting("train-loss", "train_loss", "loss", _same(TRAIN_LOSSES), "an epoch's train "
                  "loss: exact (at its final weights) or batch-mean (free) (--train-loss)"),
    ChoiceSetting("model", "model", "model", _same(MODELS), "linear or an MLP (--model)"),
    TypedSetting("hidden", "hidden", "hidden", parse_hidden_sizes, hidden_text,
                 "an MLP's hidden widths, comma-separated: 64,64 (--hidden); mlp only"),
    ChoiceSetting("activation", "activation", "act", _same(ACTIVATIONS),
                  "an MLP's activation between layers (--activation); mlp only"),
    ChoiceSetting("init", "init", "init", _same(INITS), "initial weights: torch's seeded "
                  "default, or zeros (a linear model only) (--init)"),
    ChoiceSetting("norm", "norm", "norm", _same(NORMS), "batch: a BatchNorm after each hidden "
                  "layer, its weights then scale-invariant (--norm); mlp only"),
    ChoiceSetting("decay-bias", "decay_bias", "decay", (("weights only", False),
                  ("biases too", True)), "what λ penalizes: the weights, or the biases too "
                  "(--decay-bias)"),
    ChoiceSetting("decay-norm", "decay_norm", "BN γβ", (("free", False), ("decayed", True)),
                  "whether λ penalizes BatchNorm's scale and shift, γ and β (--decay-norm); "
                  "mlp only"),
    TypedSetting("seed", "seed", "seed", parse_seed, number_text,
                 "seeds the data, the initial weights and the minibatch order (--seed)"),
    TypedSetting("test-fraction", "test_fraction", "test", parse_test_fraction, number_text,
                 "held-out share in [0, 1); empty: the problem's own split (--test-fraction)",
                 placeholder="own split"),
    ChoiceSetting("standardize", "standardize", "scale", (("as is", False),
                  ("standardize", True)), "scale features by the train split's mean and std "
                  "(--standardize); a new preset brings its own unless changed"),
)  # fmt: skip
BY_ID = {setting.id: setting for setting in SETTINGS}


def applies(setting: Setting, model: object, optimizer: object) -> bool:
    """Whether `setting` means anything with this model and optimizer."""
    if setting.field in ("hidden", "activation", "norm", "decay_norm"):
        return model == "mlp"
    if setting.field == "momentum":
        return optimizer == "sgd"
    return True


def shown(setting: Setting, config: RunConfig) -> Any:
    """What `setting`'s widget holds for `config`: its text, or its Select value."""
    value = getattr(config, setting.field)
    return setting.show(value) if isinstance(setting, TypedSetting) else value


__all__ = ["BY_ID", "SETTINGS", "ChoiceSetting", "Setting", "TypedSetting", "applies", "shown"]
