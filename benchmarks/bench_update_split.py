"""What measuring the update split costs: epochs/s of the same run with and without it.

    .venv/bin/python benchmarks/bench_update_split.py
    .venv/bin/python benchmarks/bench_update_split.py --device cuda --repeats 3

Both sides are the engine's Trainer, from the same settings, in this process, interleaved, best
of --repeats; the only difference is `split_updates` (engine/update_split.py: the decay part
accumulated at every step, a copy of the weights and three norms per epoch). Targets (issue 13):
≥ 0.95× on the MLP 256-256 case of benchmarks/bench_engine.py, ≥ 0.9× on `highdim`. The other
optimizers on `highdim` show what their split costs (momentum and Adam keep a moment of their
own for the decay part).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import write_regression_csv

from engine.config import RunConfig
from engine.trainer import Trainer


def epochs_per_second(config: RunConfig, split: bool) -> float:
    trainer = Trainer(config, lambda e: None, split_updates=split)
    start = time.perf_counter()
    trainer.run()
    assert trainer.status == "completed", trainer.status
    return int(config.epochs or 0) / (time.perf_counter() - start)


def compare(name: str, config: RunConfig, repeats: int, target: float | None) -> None:
    without, with_split = [], []
    for _ in range(repeats):
        without.append(epochs_per_second(config, False))
        with_split.append(epochs_per_second(config, True))
    a, b = max(without), max(with_split)
    goal = (
        ""
        if target is None
        else f"   goal ≥ {target:.2f}×: {'met' if b / a >= target else 'MISSED'}"
    )
    print(f"{name:<44} without {a:>9,.0f} ep/s   with {b:>9,.0f} ep/s   {b / a:.3f}×{goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, device {args.device}, {os.cpu_count()} CPUs; best of "
        f"{args.repeats}, interleaved; ratio = with the split / without"
    )
    common = {"device": args.device, "save": False}
    csv = write_regression_csv(8192, features=32)
    mlp = RunConfig(
        data=csv,
        target="y",
        model="mlp",
        hidden=(256, 256),
        batch_size=0,
        epochs=150,
        lam=0.001,
        **common,
    )
    compare("mlp 256-256, 8192 rows (full batch), sgd", mlp, args.repeats, 0.95)
    highdim = {"preset": "highdim", "epochs": 800, "lam": 3.0, **common}
    compare("highdim (minibatch 5), sgd", RunConfig(**highdim), args.repeats, 0.9)
    for label, extra in (
        ("sgd momentum 0.9", {"momentum": 0.9}),
        ("adam (l2: coupled)", {"optimizer": "adam", "lam": 0.01}),
        ("adamw (wd: decoupled)", {"optimizer": "adamw", "reg": "wd", "lam": 0.01}),
    ):
        config = RunConfig(**{**highdim, **extra})
        compare(f"highdim (minibatch 5), {label}", config, args.repeats, None)


if __name__ == "__main__":
    main()
