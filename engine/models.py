"""The models: a linear regressor and a small MLP (optionally with BatchNorm after each hidden
layer), initialised from a seeded generator.

Initialisation draws from its own `torch.Generator`, never the global RNG, so a run is
reproducible even while another run or a sweep trains on a second thread.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import torch
from torch import nn

from engine.config import ConfigError, RunConfig
from engine.events import ParamStats
from engine.limits import check_fits, layer_sizes

__all__ = [
    "ACTIVATION_MODULES",
    "LINEAR_CLASSIFIER_WEIGHTS",
    "SMALL_MODEL_WEIGHTS",
    "STATS_INTERVAL_S",
    "build_model",
    "check_batch_norm_rows",
    "evaluating",
    "has_batch_norm",
    "layer_sizes",
    "parameter_stats",
]

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
SMALL_MODEL_WEIGHTS = 32  # statistics carry the weights themselves up to this many
# ... and a linear classifier's up to this many: the explorer draws each class's weights as an
# image (digits: 10 classes × 64 pixels). A 650-float copy 4 times a second costs nothing.
LINEAR_CLASSIFIER_WEIGHTS = 1024
# Statistics (and a small sweep's live weights) at most 4 times a second: the explorer's weight
# tables redraw at that rate, and on a slow epoch (a wide MLP) computing them every epoch costs
# a few percent.
STATS_INTERVAL_S = 0.25


def build_model(config: RunConfig, n_features: int, n_outputs: int = 1) -> nn.Module:
    """A freshly initialised model on the CPU; the same config always gives the same weights.
    `n_outputs`: the task's output width (engine/tasks.py).

    A model whose parameters alone cannot fit in the CPU's memory is refused (ConfigError)
    before any layer is allocated; the trainer and the sweep check the whole run first
    (engine/limits.py `check_fits`).
    """
    check_fits(config, n_features, 0, "cpu", training=False, n_outputs=n_outputs)
    sizes = layer_sizes(config, n_features, n_outputs)
    batch_norm = config.norm == "batch"
    last = len(sizes) - 2
    # With BatchNorm a hidden layer has no bias: BN subtracts the batch mean, which removes
    # any bias, and without one the weight is exactly scale-invariant in training mode.
    layers = [
        nn.Linear(n_in, n_out, bias=not (batch_norm and i < last))
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes))
    ]
    generator = torch.Generator().manual_seed(config.seed + 1)
    with torch.no_grad():
        for layer in layers:
            if config.init == "zeros":
                layer.weight.zero_()
                if layer.bias is not None:
                    layer.bias.zero_()
            else:
                # torch's own nn.Linear default, U(±1/√fan_in) for both, but from our generator.
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=generator)
    if config.model == "linear":
        return layers[0]
    activation = ACTIVATION_MODULES[config.activation]
    modules: list[nn.Module] = []
    for i, layer in enumerate(layers):
        modules.append(layer)
        if i < last:
            if batch_norm:  # γ = 1, β = 0: torch's own initialisation, nothing drawn
                modules.append(nn.BatchNorm1d(layer.out_features))
            modules.append(activation())
    return nn.Sequential(*modules)


def has_batch_norm(model: nn.Module) -> bool:
    """Whether `model` behaves differently in training and eval mode (a BatchNorm)."""
    batch_norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    return any(isinstance(m, batch_norms) for m in model.modules())


class evaluating:
    """Eval mode inside (BatchNorm normalizes with its running statistics and leaves them as
    they are), training mode again after. `switch` False: nothing changes (a model without
    BatchNorm computes the same either way, and skips the mode flips). A class, not a
    generator: every epoch of the fastest runs enters it."""

    __slots__ = ("model", "switch")

    def __init__(self, model: nn.Module, switch: bool = True) -> None:
        self.model, self.switch = model, switch

    def __enter__(self) -> None:
        if self.switch:
            self.model.eval()

    def __exit__(self, *exc: object) -> None:
        if self.switch:
            self.model.train()


def check_batch_norm_rows(config: RunConfig, n_train: int) -> None:
    """BatchNorm needs two rows or more in every training batch (one row has no variance):
    refuse a batch size that leaves a batch of one (ConfigError, one line)."""
    if config.norm != "batch":
        return
    size = config.batch_size or n_train
    last = n_train % size if size < n_train else n_train
    if min(size, n_train) < 2 or last == 1:
        raise ConfigError(
            f"--norm batch needs 2 rows or more in every batch: {n_train} training rows in "
            f"batches of {min(size, n_train)} leave a batch of 1 (choose another --batch-size)"
        )


@torch.no_grad()
def parameter_stats(
    named: Iterable[tuple[str, torch.Tensor]],
    penalized: set[str],
    values_up_to: int = SMALL_MODEL_WEIGHTS,
) -> tuple[ParamStats, ...]:
    """Each parameter summarised (one host sync for all of them); the values themselves too
    when the whole model has at most `values_up_to` of them."""
    named = list(named)
    rows = torch.stack(
        [torch.stack([p.norm(), p.mean(), p.std(unbiased=False), p.abs().max()]) for _, p in named]
    ).tolist()
    show_values = sum(p.numel() for _, p in named) <= values_up_to
    return tuple(
        ParamStats(
            name=name,
            shape=tuple(p.shape),
            penalized=name in penalized,
            norm=row[0],
            mean=row[1],
            std=row[2],
            max_abs=row[3],
            values=tuple(p.reshape(-1).tolist()) if show_values else None,
        )
        for (name, p), row in zip(named, rows, strict=True)
    )
