"""Epochs/s of a bare hand-written PyTorch loop vs the engine vs `wdtui run --jsonl`.

All three do the same math in one process, interleaved, best of --repeats:
a full-batch or minibatch SGD step on MSE + λ‖w‖², then the epoch's train loss, test loss and
‖w‖² at the final weights with one host sync. The engine also emits events (consumed), saves
metrics.csv and weights.pt; the CLI also serialises every event to JSON on stdout (captured in
memory; its rate is the last epoch's own elapsed_s, so option parsing and data loading are left
out, as they are for the other two).

    python benchmarks/bench_engine.py                     # line and highdim on the CPU
    python benchmarks/bench_engine.py --device cuda --mlp 1024,1024 --mlp-rows 65536
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

from engine.config import RunConfig
from engine.data import load_dataset
from engine.device import resolve_device
from engine.headless import run_command
from engine.models import build_model
from engine.threads import cpu_threads
from engine.trainer import Trainer


def bare_loop(config: RunConfig) -> float:
    """The reference: what a person would write by hand. Returns epochs/s."""
    device = resolve_device(config.device)
    # The same CPU thread count as the engine (1 by default), or the ratio measures threading.
    with cpu_threads(device, config.cpu_threads):
        return _bare_loop(config, device)


def _bare_loop(config: RunConfig, device: torch.device) -> float:
    data = load_dataset(config)
    x, y = data.x_train.to(device), data.y_train.to(device)
    xt, yt = data.x_test.to(device), data.y_test.to(device)
    model = build_model(config, data.n_features).to(device)
    weights = [p for p in model.parameters() if p.ndim >= 2]
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed + 2)
    n, bs, lam = x.shape[0], config.batch_size, config.lam
    start = time.perf_counter()
    for _ in range(config.epochs):
        if bs and bs < n:
            batches = torch.randperm(n, generator=generator).to(device).split(bs)
        else:
            batches = [None]
        for idx in batches:
            xb, yb = (x, y) if idx is None else (x[idx], y[idx])
            loss = F.mse_loss(model(xb), yb) + lam * sum(w.pow(2).sum() for w in weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            numbers = torch.stack(
                [
                    F.mse_loss(model(x), y),
                    F.mse_loss(model(xt), yt),
                    sum(w.pow(2).sum() for w in weights),
                ]
            ).tolist()
    assert numbers[0] == numbers[0]
    return config.epochs / (time.perf_counter() - start)


def engine_run(config: RunConfig, runs_dir: str) -> float:
    seen = []
    trainer = Trainer(config.__class__(**{**config.__dict__, "runs_dir": runs_dir}), seen.append)
    start = time.perf_counter()
    trainer.run()
    assert trainer.status == "completed"
    return config.epochs / (time.perf_counter() - start)


def cli_run(args: list[str], runs_dir: str) -> float:
    """Epochs/s as `wdtui run --jsonl` reports them: its last epoch's wall time since the run
    started (events serialised and written, files saved), without parsing options or data."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_command([*args, "--jsonl", "--runs-dir", runs_dir])
    assert code == 0
    last = json.loads([line for line in out.getvalue().splitlines() if '"epoch"' in line][-1])
    return last["epoch"] / last["elapsed_s"]


def bench(name: str, args: list[str], config: RunConfig, repeats: int) -> None:
    bare, eng, cli = [], [], []
    with tempfile.TemporaryDirectory() as runs_dir:
        for _ in range(repeats):
            bare.append(bare_loop(config))
            eng.append(engine_run(config, runs_dir))
            cli.append(cli_run(args, runs_dir))
    b, e, c = max(bare), max(eng), max(cli)
    print(
        f"{name:<34} bare {b:>9,.0f} ep/s   engine {e:>9,.0f} ep/s ({e / b:.2f}×)   "
        f"wdtui run --jsonl {c:>9,.0f} ep/s ({c / b:.2f}×)"
    )


def write_regression_csv(rows: int, features: int) -> str:
    """A nonlinear regression problem big enough to keep a GPU busy."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, features, generator=g)
    y = torch.tanh(x @ torch.randn(features, 1, generator=g)) + 0.1 * torch.randn(rows, 1)
    path = os.path.join(tempfile.mkdtemp(), "regression.csv")
    header = ",".join([*(f"x{i}" for i in range(features)), "y"])
    body = "\n".join(",".join(f"{v:.6g}" for v in row) for row in torch.cat([x, y], 1).tolist())
    with open(path, "w") as handle:
        handle.write(header + "\n" + body + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mlp", help="also time an MLP with these hidden sizes, e.g. 512,512")
    parser.add_argument("--mlp-epochs", type=int, default=300)
    parser.add_argument(
        "--mlp-rows", type=int, default=4096, help="rows of the synthetic CSV the MLP trains on"
    )
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, device {args.device}, {os.cpu_count()} CPUs, "
        f"1 torch thread on the CPU (the engine's default); best of {args.repeats}"
    )
    cases = [
        ("line (full batch, 4000 epochs)", ["--preset", "line", "--epochs", "4000"]),
        (
            "highdim (minibatch 5, 800 epochs)",
            ["--preset", "highdim", "--epochs", "800", "--lam", "3"],
        ),
    ]
    if args.mlp:
        csv = write_regression_csv(args.mlp_rows, features=32)
        mlp_case = ["--data", csv, "--target", "y", "--model", "mlp", "--hidden", args.mlp]
        mlp_case += ["--batch-size", "0", "--epochs", str(args.mlp_epochs), "--lam", "0.001"]
        cases.append((f"mlp {args.mlp}, {args.mlp_rows} rows (full batch)", mlp_case))
    from engine.options import OneLineParser, add_training_options, config_from_args

    options = OneLineParser()
    add_training_options(options)
    for name, case in cases:
        case = [*case, "--device", args.device]
        bench(name, case, config_from_args(options.parse_args(case)), args.repeats)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
