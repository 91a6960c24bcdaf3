"""Turning `--device auto|cpu|cuda|cuda:N|mps` into a torch.device, or a one-line error."""

from __future__ import annotations

import torch

from engine.config import ConfigError


def auto_device() -> torch.device:
    """CUDA when present, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(spec: str) -> torch.device:
    spec = spec.strip().lower()
    if spec == "auto":
        return auto_device()
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps' is not available on this machine")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {spec!r} is not available: this machine has no CUDA GPU")
        index_text = spec.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise ConfigError(f"bad device {spec!r}; use cuda or cuda:N")
        index, count = int(index_text), torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"device {spec!r} does not exist: this machine has {count} GPU(s)")
        return torch.device("cuda", index)
    raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps")
