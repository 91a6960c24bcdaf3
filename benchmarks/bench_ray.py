"""Time a λ sweep trained here against the same sweep on a local Ray instance: Ray's fixed cost,
the per-epoch slope of each, and the per-slice times a worked estimate for N workers needs.

    RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/bench_ray.py
    RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/bench_ray.py --device cuda --members 64

Both sides run in this process, from the same settings, each twice (E1 and E2 epochs), so that
the slope (seconds per epoch) and the intercept (the fixed cost) separate. The Ray side also
times connecting (starting the local instance), placing the workers (each imports torch and
builds its slice) and shutting down. Then one slice is timed alone for K, K/2, K/4 … members
(what one of N workers trains), which is the input to the estimate in the README.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import RunConfig, parse_hidden
from engine.sweep import ray_cluster
from engine.sweep.events import SweepEvent
from engine.sweep.lams import log_grid
from engine.sweep.ray_sweep import RaySweep
from engine.sweep.runner import Sweep


def lam_grid(members: int) -> list[float]:
    return [0.0, *log_grid(1e-4, 1e1, members - 1)]


def timed_local(config: RunConfig, lams: list[float]) -> tuple[float, float]:
    """(building the sweep: data, model; training it to the end)."""
    started = time.perf_counter()
    sweep = Sweep(config, lams, lambda e: None)
    built = time.perf_counter()
    done = sweep.run()
    if done.status != "completed":
        raise SystemExit(f"the local sweep ended {done.status}: {done.message}")
    return built - started, time.perf_counter() - built


def timed_ray(config: RunConfig, lams: list[float], workers: int) -> tuple[float, float]:
    """(placing the workers, training to the end), on the connected instance."""
    started = time.perf_counter()
    events: list[SweepEvent] = []
    sweep = RaySweep(config, lams, events.append, workers=workers)
    sweep.launch()
    placed = time.perf_counter()
    done = sweep.run()
    if done.status != "completed":
        raise SystemExit(f"the Ray sweep ended {done.status}: {done.message}")
    return placed - started, time.perf_counter() - placed


def slope(e1: int, t1: float, e2: int, t2: float) -> tuple[float, float]:
    """(seconds per epoch, intercept) of the line through two timings."""
    per_epoch = (t2 - t1) / (e2 - e1)
    return per_epoch, t1 - per_epoch * e1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="highdim")
    parser.add_argument("--hidden", default="", help="an MLP's widths, e.g. 256,256")
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", default="200,1000", help="E1,E2")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    e1, e2 = (int(v) for v in args.epochs.split(","))
    hidden = parse_hidden(args.hidden) if args.hidden else ()
    model = {"model": "mlp", "hidden": hidden} if hidden else {}
    lams = lam_grid(args.members)

    def config(epochs: int) -> RunConfig:
        return RunConfig(preset=args.preset, epochs=epochs, device=args.device, save=False, **model)  # type: ignore[arg-type]

    what = f"{args.preset} {'MLP ' + args.hidden if hidden else 'linear'}, {len(lams)} λ"
    print(f"{what}, {args.device}, {os.cpu_count()} CPU cores, Ray {args.workers} workers")

    local = [timed_local(config(e), lams) for e in (e1, e2)]
    started = time.perf_counter()
    ray_cluster.connect(ray_cluster.LOCAL)
    connect_s = time.perf_counter() - started
    ray_times = [timed_ray(config(e), lams, args.workers) for e in (e1, e2)]
    started = time.perf_counter()
    ray_cluster.disconnect()
    shutdown_s = time.perf_counter() - started

    local_slope, local_fixed = slope(e1, local[0][1], e2, local[1][1])
    build_s = sum(t[0] for t in local) / 2
    ray_slope, ray_fixed = slope(e1, ray_times[0][1], e2, ray_times[1][1])
    place_s = sum(t[0] for t in ray_times) / 2
    print(
        f"local:  build {build_s:.2f} s; training {e1} epochs {local[0][1]:.2f} s, "
        f"{e2} epochs {local[1][1]:.2f} s"
    )
    print(f"        {1e3 * local_slope:.3f} ms/epoch, fixed in training {local_fixed:.2f} s")
    print(
        f"ray:    connect {connect_s:.2f} s, place workers {place_s:.2f} s, "
        f"shutdown {shutdown_s:.2f} s"
    )
    print(
        f"        training {e1} epochs {ray_times[0][1]:.2f} s, {e2} epochs {ray_times[1][1]:.2f} s"
    )
    print(f"        {1e3 * ray_slope:.3f} ms/epoch, fixed in training {ray_fixed:.2f} s")
    fixed = connect_s + place_s + shutdown_s + ray_fixed
    print(
        f"Ray's fixed cost ≈ {fixed:.1f} s; slope ratio ray/local = {ray_slope / local_slope:.2f}"
    )

    # One slice alone, as one of N workers trains it: the input to the estimate.
    print("one slice alone (what each of N workers trains), local, per epoch:")
    members = len(lams)
    while members >= 1:
        times = [timed_local(config(e), lams[:members])[1] for e in (e1, e2)]
        per_epoch, _ = slope(e1, times[0], e2, times[1])
        print(f"  {members:4d} members: {1e3 * per_epoch:.3f} ms/epoch")
        if members == 1:
            break
        members = max(1, members // 2)


if __name__ == "__main__":
    main()
