"""Will a run fit in memory? Estimated from its size, before anything is allocated.

Each of a huge model's allocations may succeed alone while the process grows until the kernel's
OOM killer ends it (or torch fails deep inside C++): so the trainer and the sweep ask
`check_fits` first, and a model that cannot fit is refused with one line, exit status 2.

The estimate, in float32 (4 bytes a value):

- parameters × (1 for the values + 1 for their gradients + the optimizer's state: 0 for plain
  SGD, 1 for SGD with momentum, 2 for Adam and AdamW), times the sweep's member count;
- activations: a step's batch through every layer after the input, ×2 for what autograd keeps
  for the backward pass, or the evaluation passes over every row, whichever is larger, times the
  member count;
- on an accelerator, the data too (on the CPU the data are loaded already, and counted in what
  the machine reports as available).

This module imports torch only to ask a CUDA device for its free memory.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from engine.config import ConfigError, RunConfig

BYTES_PER_VALUE = 4  # float32
# Beyond any machine, and far below where torch's sizes (int64) could overflow.
MAX_PARAMETERS = 2**40
OPTIMIZER_STATE = {"sgd": 0, "adam": 2, "adamw": 2}  # tensors per parameter (+1: SGD momentum)


def layer_sizes(config: RunConfig, n_features: int, n_outputs: int = 1) -> list[int]:
    """[in, hidden..., out]: the widths of every linear layer, in order (out: the task's)."""
    hidden = list(config.hidden) if config.model == "mlp" else []
    return [n_features, *hidden, n_outputs]


def parameter_count(config: RunConfig, n_features: int, n_outputs: int = 1) -> int:
    """Weights and biases of one model, BatchNorm's γ and β included (Python ints: never
    overflows). A hidden layer before a BatchNorm has no bias, and its BatchNorm two vectors."""
    sizes = layer_sizes(config, n_features, n_outputs)
    per_width = 2 if config.norm == "batch" else 1
    hidden = sum(n_in * n_out + per_width * n_out for n_in, n_out in itertools.pairwise(sizes[:-1]))
    return hidden + sizes[-2] * sizes[-1] + sizes[-1]


def optimizer_state(config: RunConfig) -> int:
    """Tensors the optimizer keeps per parameter."""
    extra = 1 if config.optimizer == "sgd" and config.momentum else 0
    return OPTIMIZER_STATE.get(config.optimizer, 2) + extra


def estimate_bytes(
    config: RunConfig,
    n_features: int,
    n_rows: int,
    *,
    members: int = 1,
    training: bool = True,
    with_data: bool = False,
    n_outputs: int = 1,
) -> int:
    """About how many bytes the run needs (training=False: the parameters' values only)."""
    params = parameter_count(config, n_features, n_outputs)
    if not training:
        return params * members * BYTES_PER_VALUE
    copies = 1 + 1 + optimizer_state(config)
    widths = layer_sizes(config, n_features, n_outputs)[1:]
    if config.norm == "batch":
        # BatchNorm keeps another tensor of each hidden layer's width (its normalized output;
        # its running mean and variance are a few vectors, inside the rounding).
        widths += widths[:-1]
    # A step keeps every layer's output of its batch for the backward pass (×2: autograd's
    # saved tensors); the no-grad evaluation passes over all rows hold about two layers' worth
    # at a time. The two never coexist.
    batch = min(config.batch_size or n_rows, n_rows)
    activations = max(batch * sum(widths) * 2, n_rows * max(widths) * 2)
    data = n_rows * (n_features + 1) if with_data else 0
    return (params * copies * members + activations * members + data) * BYTES_PER_VALUE


def _meminfo_available(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2): no limit


def _cgroup_room(root: Path, own_cgroup: Path) -> int | None:
    """What this process's memory cgroup (a container's limit) still allows, if it has a limit.

    Page cache counts as usage in a cgroup but is given back under pressure, so inactive file
    pages are added back.
    """
    try:
        lines = own_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        if controllers == "":  # cgroup v2
            base = root / rel.lstrip("/")
            files = ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # cgroup v1
            base = root / "memory" / rel.lstrip("/")
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        # Inside a container its own path may be absent from its /sys: the namespace's root.
        top = root if controllers == "" else root / "memory"
        for folder in dict.fromkeys((base, top)):
            limit, usage = _read_int(folder / files[0]), _read_int(folder / files[1])
            if limit is None or usage is None:
                continue
            if limit >= 2**60:  # v1 writes "no limit" as a huge number
                return None
            inactive = 0
            try:
                for stat in (folder / "memory.stat").read_text().splitlines():
                    key, _, value = stat.partition(" ")
                    if key == files[2] and value.strip().isdigit():
                        inactive = int(value)
            except OSError:
                pass
            return max(limit - usage + inactive, 0)
    return None


def cpu_available_bytes(
    meminfo: Path = Path("/proc/meminfo"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    own_cgroup: Path = Path("/proc/self/cgroup"),
) -> int | None:
    """Memory a new allocation can get: MemAvailable (or, without /proc, all physical memory),
    and no more than the process's cgroup limit leaves."""
    available = _meminfo_available(meminfo)
    if available is None:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            available = None
    room = _cgroup_room(cgroup_root, own_cgroup)
    if room is not None:
        available = room if available is None else min(available, room)
    return available


def available_bytes(device: Any) -> tuple[int | None, str]:
    """(bytes free on the device or None if unknown, how a message names it)."""
    kind = getattr(device, "type", str(device).partition(":")[0])
    if kind == "cuda":
        import torch

        try:
            free, _ = torch.cuda.mem_get_info(device)
        except (RuntimeError, AssertionError, ValueError):
            return None, str(device)
        return int(free), f"{device} has"
    # The CPU, and Apple's MPS (its memory is the machine's).
    return cpu_available_bytes(), "the CPU has" if kind == "cpu" else "the machine has"


def format_bytes(n: float) -> str:
    """512 bytes, 8.0 MB, 37 GB, 4.4 TB: decimal units, at least two significant figures."""
    units = ("bytes", "KB", "MB", "GB", "TB", "PB")
    unit = 0
    while n >= 1000 and unit < len(units) - 1:
        n, unit = n / 1000, unit + 1
    if unit == 0:
        return f"{n:.0f} bytes"
    return f"{n:.1f} {units[unit]}" if n < 10 else f"{n:,.0f} {units[unit]}"


def check_fits(
    config: RunConfig,
    n_features: int,
    n_rows: int,
    device: Any,
    *,
    members: int = 1,
    training: bool = True,
    n_outputs: int = 1,
) -> None:
    """Refuse (ConfigError, one line) a run whose model is absurdly large or needs more memory
    than `device` has free.

    n_rows: the rows that go to the device (the train and test splits together); members: the
    sweep's K stacked copies; training=False: only the parameters' values (what build_model
    allocates on the CPU). `device` is a torch.device or its name.
    """
    params = parameter_count(config, n_features, n_outputs)
    if params > MAX_PARAMETERS:
        raise ConfigError(
            f"this model would have {params:.3g} parameters; wdtui allows at most "
            f"{MAX_PARAMETERS:.3g} (2**40): use smaller --hidden sizes"
        )
    on_cpu = getattr(device, "type", str(device).partition(":")[0]) == "cpu"
    need = estimate_bytes(
        config,
        n_features,
        n_rows,
        members=members,
        training=training,
        with_data=not on_cpu,
        n_outputs=n_outputs,
    )
    have, where = available_bytes(device)
    if have is None or need <= have:
        return
    what = (
        f"this model ({params:,} parameters)"
        if members == 1
        else f"this sweep ({members} models of {params:,} parameters)"
    )
    purpose = "to train" if training else "for its parameters alone"
    raise ConfigError(
        f"{what} needs about {format_bytes(need)} {purpose}; {where} {format_bytes(have)} available"
    )


__all__ = [
    "MAX_PARAMETERS",
    "available_bytes",
    "check_fits",
    "cpu_available_bytes",
    "estimate_bytes",
    "format_bytes",
    "layer_sizes",
    "parameter_count",
]
