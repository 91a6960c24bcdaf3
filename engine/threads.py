"""How many CPU threads a training loop's torch ops may use.

wdtui trains on one CPU thread by default. Its models are small: torch's OpenMP/MKL splits buy
little there, and when another thread or process holds a core (the explorer's UI, a sweep beside
the live run, a shared machine) every split waits for a time slice. Measured on a 2-core box
under load: an MLP 64-64 on `highdim` ran at 62 epochs/s on two threads and 2,235 on one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def cpu_threads(device: torch.device, count: int) -> Iterator[None]:
    """Use `count` threads for this thread's CPU ops (0 or a GPU device: leave torch's setting).

    torch.set_num_threads sets the calling thread's OpenMP and MKL counts, so other threads (the
    UI, another run) keep theirs; the previous count is restored afterwards.
    """
    if device.type != "cpu" or count <= 0:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
