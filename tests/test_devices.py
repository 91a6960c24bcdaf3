"""Every device this machine has gives the CPU's numbers (to that device's rounding).

On a CPU-only machine the list is just the CPU, and these tests check that naming the device
explicitly changes nothing; on a GPU machine they are the CUDA path's check.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import torch

from engine.config import RunConfig
from engine.sweep.runner import Sweep
from engine.trainer import Trainer
from support.engine import ROOT, WDTUI

DEVICES = ["cpu"]
if torch.cuda.is_available():
    DEVICES.append("cuda")
if torch.backends.mps.is_available():
    DEVICES.append("mps")


def final_run(**settings: object) -> dict[str, torch.Tensor]:
    done = Trainer(RunConfig(save=False, **settings), lambda e: None).run()  # type: ignore[arg-type]
    assert done.status == "completed"
    return {k: torch.tensor(v) for k, v in done.weights.items()}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "settings",
    [
        {"preset": "highdim", "lam": 3.0, "reg": "l2"},
        {"preset": "highdim", "lam": 0.5, "reg": "wd", "optimizer": "adamw", "lr": 0.01},
        {
            "preset": "line",
            "model": "mlp",
            "hidden": (16, 16),
            "lam": 0.01,
            "reg": "wd",
            "optimizer": "adam",
            "epochs": 50,
        },
    ],
)
def test_a_run_on_each_device_matches_the_cpu(device: str, settings: dict) -> None:
    on_cpu = final_run(device="cpu", **settings)
    on_device = final_run(device=device, **settings)
    for name, expected in on_cpu.items():
        torch.testing.assert_close(on_device[name], expected, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_a_sweep_on_each_device_matches_its_runs(device: str) -> None:
    lams = [0.0, 0.1, 3.0]
    done = Sweep(RunConfig(preset="highdim", device=device, save=False), lams, lambda e: None).run()
    assert done.status == "completed"
    for member in done.results:
        run = final_run(preset="highdim", device=device, lam=member.lam)
        for name, expected in run.items():
            torch.testing.assert_close(
                torch.tensor(member.weights[name]), expected, atol=1e-5, rtol=1e-4
            )


@pytest.mark.parametrize("device", DEVICES)
def test_the_cli_reports_the_device_it_trained_on(device: str) -> None:
    result = subprocess.run(
        [*WDTUI, "run", "--device", device, "--no-save", "--jsonl", "--epochs", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout.splitlines()[0])
    assert started["device"].startswith(device)
