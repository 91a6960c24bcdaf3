"""Fixtures for every test. Helpers live in tests/support/ (imported, never copied)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from support.engine import EventQueue
from support.ray import local_ray


@pytest.fixture
def events() -> EventQueue:
    return EventQueue()


@pytest.fixture(autouse=True)
def auto_means_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--device auto` picks the CPU in this process, on any machine.

    The suite compares numbers with CPU references to ~1e-6; on a GPU machine `auto` would move
    every run onto the GPU, whose rounding differs. tests/test_devices.py names each accelerator
    present explicitly and checks it against the CPU with a tolerance fit for that.
    """
    monkeypatch.setattr("engine.device.auto_device", lambda: torch.device("cpu"))


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """A local Ray instance (2 CPUs), started once for each test module that asks for it and
    stopped after it, so that its processes do not share the CPUs with the modules that follow
    (tests/support/ray.py). The dev extra installs Ray: without it these tests fail."""
    yield from local_ray()
