"""Early stopping walks the ridge path: how close full-batch GD at step t is to ridge at
λ_t = 1/(2·lr·t), on the linear presets (engine/early_stopping.py).

    .venv/bin/python benchmarks/ridge_walk.py                  # highdim and poly
    .venv/bin/python benchmarks/ridge_walk.py --presets line --steps 1,10,100

Each row is its own run (`wdtui run --preset P --lam 0 --batch-size 0 --init zeros --epochs t`,
the preset's lr), compared with the closed-form ridge path whose bias is penalized too (GD trains
the bias from 0 like a weight). Columns: the relative distance ‖θ_t − θ*(λ)‖/‖θ*(λ)‖ over the
weights and the bias at λ_t (`dist`), the most it can be (`bound`: the largest gap in one
eigen-direction, `walk_bound`), at half of λ_t (1/(4·lr·t)) and at twice it (1/(lr·t)); the
multiple c of lr·t in λ = 1/(c·lr·t) that is closest (scanned from 0.5 to 16); the distance to
the other ridge path (bias unpenalized) at λ_t; GD's test loss and ridge's at λ_t.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import RunConfig
from engine.early_stopping import lam_at_step, walk_bound, walk_gap, walk_path
from engine.ridge import RidgePath
from engine.trainer import Trainer

SCAN = [2 ** (k / 8) for k in range(-8, 33)]  # c from 0.5 to 16


def trained(preset: str, steps: int) -> tuple[Trainer, torch.Tensor, float]:
    config = RunConfig(
        preset=preset, lam=0.0, reg="l2", batch_size=0, init="zeros", epochs=steps, save=False
    )
    trainer = Trainer(config, lambda event: None)
    trainer.run()
    state = trainer.model.state_dict()
    return trainer, state["weight"].reshape(-1), float(state["bias"])


def distance(path: RidgePath, weight: torch.Tensor, bias: float, lam: float) -> float:
    ridge_weight, ridge_bias = path.solve(lam)
    theta = torch.cat([weight.double(), torch.tensor([bias], dtype=torch.float64)])
    optimum = torch.cat([ridge_weight, torch.tensor([ridge_bias], dtype=torch.float64)])
    return float((theta - optimum).norm() / optimum.norm())


def table(preset: str, all_steps: list[int]) -> None:
    print(f"\n{preset}")
    print(
        f"{'t':>6} {'λ_t':>8} {'dist':>6} {'bound':>6} {'@λ_t/2':>6} {'@2λ_t':>6}"
        f" {'best c':>6} {'bias free':>9} {'GD test':>8} {'ridge test':>10}"
    )
    for steps in all_steps:
        trainer, weight, bias = trained(preset, steps)
        data, lr = trainer.dataset, trainer.lr
        path = walk_path(data.x_train, data.y_train)
        gap = walk_gap(path, weight, bias, lr, steps, data.x_test, data.y_test)
        half, double = (distance(path, weight, bias, gap.lam * k) for k in (0.5, 2.0))
        best = min(SCAN, key=lambda c: distance(path, weight, bias, 1 / (c * lr * steps)))
        free = distance(RidgePath(data.x_train, data.y_train), weight, bias, gap.lam)
        assert math.isclose(gap.lam, lam_at_step(lr, steps))
        bound = walk_bound(path, lr, steps)
        best_text = f"≥{best:.0f}" if best == SCAN[-1] else f"{best:.2f}"
        print(
            f"{steps:>6} {gap.lam:>8.3g} {gap.distance:>6.3f} {bound:>6.3f} {half:>6.3f}"
            f" {double:>6.3f} {best_text:>6} {free:>9.3f} {gap.gd_test_loss:>8.4g}"
            f" {gap.ridge_test_loss:>10.4g}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="highdim,poly")
    parser.add_argument("--steps", default="1,10,100,1000,10000")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for preset in args.presets.split(","):
        table(preset, [int(s) for s in args.steps.split(",")])


if __name__ == "__main__":
    main()
