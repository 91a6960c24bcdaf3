"""The loop a person writes by hand, as a whole program: the reference for the benchmarks.

Full batch or minibatches of SGD on MSE + λ‖w‖² over the weights; each epoch, the step's own
loss as the train loss, then the test loss and ‖w‖², with one host sync. The data are the
preset's, built by the engine, so both sides train on the same rows.

    python benchmarks/person_loop.py --preset line --epochs 20000
"""

from __future__ import annotations

import argparse
import time
from typing import cast

import torch
import torch.nn.functional as F

from engine.config import RunConfig
from engine.data import load_dataset
from engine.models import build_model


def train(config: RunConfig) -> float:
    """Train as a person would; returns epochs/s."""
    config = config.resolved()
    data = load_dataset(config)
    x, y, xt, yt = data.x_train, data.y_train, data.x_test, data.y_test
    assert xt is not None and yt is not None, f"{data.name} has no test set"
    n, batch_size, lam = x.shape[0], config.batch_size, config.lam
    lr, epochs = config.lr, config.epochs
    assert lam is not None and lr is not None and epochs is not None  # resolved() sets them
    model = build_model(config, data.n_features)
    weights = [p for p in model.parameters() if p.ndim >= 2]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(config.seed + 2)
    start = time.perf_counter()
    for _ in range(epochs):
        full = not batch_size or batch_size >= n
        batches = [None] if full else torch.randperm(n, generator=generator).split(batch_size)
        for idx in batches:
            xb, yb = (x, y) if idx is None else (x[idx], y[idx])
            data_loss = F.mse_loss(model(xb), yb)
            loss = data_loss + lam * sum(w.pow(2).sum() for w in weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            test_loss = F.mse_loss(model(xt), yt)
            # A tensor, not sum()'s 0: a model has weights (cast: nothing checked per epoch).
            sq_norm = cast(torch.Tensor, sum(w.pow(2).sum() for w in weights))
            numbers = torch.stack([data_loss.detach(), test_loss, sq_norm]).tolist()
    assert numbers[0] == numbers[0]
    return epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="line")
    parser.add_argument("--epochs", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the engine trains on the CPU by default
    rate = train(RunConfig(preset=args.preset, epochs=args.epochs, save=False))
    print(f"{rate:.0f} epochs/s")


if __name__ == "__main__":
    main()
