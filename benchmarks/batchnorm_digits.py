"""BatchNorm and weight decay on digits: the figures of the README's BatchNorm section.

    .venv/bin/python benchmarks/batchnorm_digits.py

Each run is `wdtui run --preset digits --model mlp --hidden 64,64 [--norm batch] --lam λ`
(digits' own lr 0.05, batch 32, 200 epochs, seed 0), trained by the engine itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import RunConfig
from engine.events import Epoch, Started, effective_lrs
from engine.trainer import Trainer

LAMS = (0.0, 1e-4, 1e-3, 1e-2, 5e-2)
CHECKPOINTS = (1, 50, 100, 200)


def run(norm: str, lam: float) -> None:
    events: list[object] = []
    config = RunConfig(
        preset="digits", model="mlp", hidden=(64, 64), norm=norm, lam=lam, save=False
    )
    trainer = Trainer(config, events.append)
    t0 = time.perf_counter()
    done = trainer.run()
    seconds = time.perf_counter() - t0
    started = next(e for e in events if isinstance(e, Started))
    epochs = [e for e in events if isinstance(e, Epoch)]
    last = epochs[-1]
    norms = dict(zip(started.layer_names, last.layer_sq_norms, strict=True))
    hidden = [n for n in started.layer_names if n != started.layer_names[-1]]
    sq = "  ".join(f"‖{n}‖² {norms[n]:8.3f}" for n in hidden)
    line = (
        f"{norm:5s} λ={lam:<6g} {done.status}  test acc {last.test_accuracy:.4f}  "
        f"test loss {last.test_loss:.4f}  train loss {last.train_loss:.5f}  {sq}"
    )
    if started.scale_invariant:
        path = "  ".join(
            f"{n}: "
            + " ".join(f"{effective_lrs(started, epochs[c - 1])[n]:.4g}" for c in CHECKPOINTS)
            for n in started.scale_invariant
        )
        line += f"\n      effective lr lr/‖W‖² at epochs {CHECKPOINTS}: {path}"
    print(line + f"  ({seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    for norm in ("batch", "none"):
        for lam in LAMS:
            run(norm, lam)
