"""The models: a linear regressor and a small MLP, initialised from a seeded generator.

Initialisation draws from its own `torch.Generator`, never the global RNG, so a run is
reproducible even while another run or a sweep trains on a second thread.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from engine.config import RunConfig
from engine.limits import check_fits, layer_sizes

__all__ = ["ACTIVATION_MODULES", "build_model", "layer_sizes"]

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


def build_model(config: RunConfig, n_features: int) -> nn.Module:
    """A freshly initialised model on the CPU; the same config always gives the same weights.

    A model whose parameters alone cannot fit in the CPU's memory is refused (ConfigError)
    before any layer is allocated; the trainer and the sweep check the whole run first
    (engine/limits.py `check_fits`).
    """
    check_fits(config, n_features, 0, "cpu", training=False)
    sizes = layer_sizes(config, n_features)
    layers = [nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)]
    generator = torch.Generator().manual_seed(config.seed + 1)
    with torch.no_grad():
        for layer in layers:
            if config.init == "zeros":
                layer.weight.zero_()
                layer.bias.zero_()
            else:
                # torch's own nn.Linear default, U(±1/√fan_in) for both, but from our generator.
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
    if config.model == "linear":
        return layers[0]
    activation = ACTIVATION_MODULES[config.activation]
    modules: list[nn.Module] = []
    for i, layer in enumerate(layers):
        modules.append(layer)
        if i < len(layers) - 1:
            modules.append(activation())
    return nn.Sequential(*modules)
