"""A local Ray instance for the tests: 2 CPUs (this machine's), so at most 2 one-CPU workers at
a time. Starting one costs ~3 s and stopping it ~1.5 s, so a test module starts one for all its
tests (the `ray_instance` fixture)."""

from __future__ import annotations

import os
from collections.abc import Iterator

# No token file written into $HOME, nothing sent anywhere: set before Ray is imported.
RAY_TEST_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
RAY_TEST_CPUS = 2


def local_ray() -> Iterator[None]:
    """Connect to a local instance for the tests that follow; shut it down afterwards."""
    from engine.sweep import ray_cluster

    saved = {key: os.environ.get(key) for key in RAY_TEST_ENV}
    os.environ.update(RAY_TEST_ENV)
    ray_cluster.connect(ray_cluster.LOCAL, num_cpus=RAY_TEST_CPUS)
    try:
        yield
    finally:
        ray_cluster.disconnect()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ray_env() -> dict[str, str]:
    """The environment for a `wdtui` subprocess that starts Ray."""
    return {**os.environ, **RAY_TEST_ENV}
