"""Time a batched λ sweep against the same λ values trained one run at a time.

    .venv/bin/python benchmarks/bench_sweep.py                       # CPU: highdim and an MLP
    .venv/bin/python benchmarks/bench_sweep.py --device cuda --hidden 512,512 --cases mlp

Both sides run in this process, on the same device, from the same settings; each side's time
includes building the model and loading the data (a sweep does that once, runs K times). The
members are checked against the runs: the largest absolute weight difference is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import RunConfig, parse_hidden
from engine.events import TensorWeights
from engine.sweep.lams import log_grid
from engine.sweep.runner import Sweep
from engine.trainer import Trainer


def lam_grid(members: int) -> list[float]:
    """λ = 0 plus members − 1 log-spaced values from 1e-4 to 1e2."""
    return [0.0, *log_grid(1e-4, 1e2, members - 1)] if members > 2 else [0.0, 1.0][:members]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def tensor_weights(weights: Mapping[str, Any]) -> TensorWeights:
    """A run's or a member's final weights, which the engine hands over as TensorWeights."""
    if not isinstance(weights, TensorWeights):
        raise TypeError(f"expected TensorWeights, got {type(weights).__name__}")
    return weights


def time_sweep(config: RunConfig, lams: list[float]) -> tuple[float, list[TensorWeights]]:
    sync(config.device)
    started = time.perf_counter()
    done = Sweep(config, lams, lambda e: None).run()
    sync(config.device)
    elapsed = time.perf_counter() - started
    if done.status != "completed":
        raise SystemExit(f"the sweep ended {done.status}: {done.message}")
    return elapsed, [tensor_weights(r.weights) for r in done.results]


def time_runs(config: RunConfig, lams: list[float]) -> tuple[float, list[TensorWeights]]:
    weights: list[TensorWeights] = []
    sync(config.device)
    started = time.perf_counter()
    for lam in lams:
        done = Trainer(RunConfig.from_dict({**config.to_dict(), "lam": lam}), lambda e: None).run()
        weights.append(tensor_weights(done.weights))
    sync(config.device)
    return time.perf_counter() - started, weights


def max_difference(a: list[TensorWeights], b: list[TensorWeights]) -> float:
    return max(
        (x.tensor(name) - y.tensor(name)).abs().max().item()  # TensorWeights: no list detour
        for x, y in zip(a, b, strict=True)
        for name in x
    )


def bench(name: str, config: RunConfig, lams: list[float], repeats: int) -> float:
    # Warm both paths up (kernels, cuBLAS heuristics, allocator) at the timed shapes: a sweep's
    # batched products have K in their shape, so a smaller warm-up sweep would not do.
    short = RunConfig.from_dict({**config.to_dict(), "epochs": 2})
    time_sweep(short, lams)
    time_runs(short, lams[:2])
    sweep_s = runs_s = float("inf")
    for _ in range(repeats):
        s, sweep_weights = time_sweep(config, lams)
        r, run_weights = time_runs(config, lams)
        sweep_s, runs_s = min(sweep_s, s), min(runs_s, r)
    diff = max_difference(sweep_weights, run_weights)
    epochs = config.epochs
    assert epochs is not None, "bench() takes a resolved config"
    print(
        f"{name:<44} {len(lams)} runs {runs_s:8.3f} s   sweep {sweep_s:8.3f} s   "
        f"speed-up {runs_s / sweep_s:6.1f}×   max |Δw| {diff:.1e}   "
        f"({len(lams) * epochs / runs_s:,.0f} vs {len(lams) * epochs / sweep_s:,.0f} "
        "member-epochs/s)"
    )
    return runs_s / sweep_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--members", type=int, default=32, help="λ values (default 32)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--hidden", default="64,64", help="the MLP's hidden widths")
    parser.add_argument("--mlp-preset", default="highdim", choices=("line", "highdim", "poly"))
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam", "adamw"))
    parser.add_argument("--reg", default="l2", choices=("l2", "wd"))
    parser.add_argument("--cases", default="linear,mlp", help="linear, mlp or both")
    parser.add_argument("--repeats", type=int, default=1, help="best of N timings")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for both sides (the engine's default 1; 0 = torch's default)",
    )
    args = parser.parse_args()
    lams = lam_grid(args.members)
    common = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "reg": args.reg,
        "device": args.device,
        "save": False,
        "cpu_threads": args.threads,
    }
    print(
        f"torch {torch.__version__}, device {args.device}, {args.threads or 'default'} CPU "
        "thread(s) on both sides, "
        f"{args.epochs} epochs, batch {args.batch_size}, {args.optimizer}/{args.reg}"
    )
    cases = {c.strip() for c in args.cases.split(",")}
    if "linear" in cases:
        config = RunConfig(preset="highdim", **common).resolved()
        bench("highdim, linear (200 features)", config, lams, args.repeats)
    if "mlp" in cases:
        hidden = parse_hidden(args.hidden)
        config = RunConfig(
            preset=args.mlp_preset,
            model="mlp",
            hidden=hidden,
            **common,
        ).resolved()
        bench(f"{args.mlp_preset}, mlp {args.hidden}", config, lams, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
