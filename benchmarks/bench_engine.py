"""Epochs/s of the loop a person writes vs the engine vs `wdtui run --jsonl`.

The person's loop (benchmarks/person_loop.py): the step, then the step's own loss as the train
loss, the test loss and ‖w‖², with one host sync. The engine does the same work (its train loss
is the loss at the epoch's final weights, taken from the next step's forward pass), emits events
(consumed), saves metrics.csv and weights.pt; the CLI also writes every event as JSON (captured
in memory; its rate is the last epoch's own elapsed_s, so option parsing and data loading are
left out, as they are for the other two). All three run in one process, interleaved, best of
--repeats. Then whole processes: `python benchmarks/person_loop.py` against `wdtui run --jsonl`
(stdout to /dev/null), wall time from exec to exit, interpreter and torch start-up included.

    python benchmarks/bench_engine.py                     # line, highdim, MLP 256-256 on the CPU
    python benchmarks/bench_engine.py --device cuda --mlp 1024,1024 --mlp-rows 65536
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from engine.cli.run import run_command
from engine.config import RunConfig
from engine.device import resolve_device
from engine.events import Event
from engine.job import cpu_threads
from engine.trainer import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from person_loop import train as person_train

HERE = Path(__file__).resolve().parent


def person_loop(config: RunConfig) -> float:
    """The reference, on the same CPU thread count as the engine (1 by default). Epochs/s."""
    with cpu_threads(resolve_device(config.device), config.cpu_threads):
        return person_train(config)


def engine_run(config: RunConfig, runs_dir: str) -> float:
    epochs = config.epochs
    assert epochs is not None, "engine_run() takes a resolved config"
    seen: list[Event] = []
    trainer = Trainer(config.__class__(**{**config.__dict__, "runs_dir": runs_dir}), seen.append)
    start = time.perf_counter()
    trainer.run()
    assert trainer.status == "completed"
    return epochs / (time.perf_counter() - start)


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
            bare.append(person_loop(config))
            eng.append(engine_run(config, runs_dir))
            cli.append(cli_run(args, runs_dir))
    b, e, c = max(bare), max(eng), max(cli)
    print(
        f"{name:<38} person {b:>7,.0f} ep/s   engine {e:>9,.0f} ep/s ({e / b:.2f}×)   "
        f"wdtui run --jsonl {c:>7,.0f} ep/s ({c / b:.2f}×)"
    )


def whole_processes(epochs: int, repeats: int) -> None:
    """`line` as whole programs: the person's script against `wdtui run --jsonl`."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    person = [sys.executable, str(HERE / "person_loop.py"), "--epochs", str(epochs)]
    person_s: list[float] = []
    wdtui_s: list[float] = []
    with tempfile.TemporaryDirectory() as runs_dir:
        wdtui = [sys.executable, "-m", "tui.cli", "run", "--jsonl", "--epochs", str(epochs)]
        wdtui += ["--runs-dir", runs_dir]
        for _ in range(repeats):
            for command, times in ((person, person_s), (wdtui, wdtui_s)):
                start = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
                times.append(time.perf_counter() - start)
    p, w = min(person_s), min(wdtui_s)
    name = f"line, {epochs} epochs, whole processes"
    print(
        f"{name:<38} person {p:>7.2f} s   wdtui run --jsonl {w:.2f} s "
        f"({epochs / p:,.0f} vs {epochs / w:,.0f} epochs/s: {p / w:.2f}×)"
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
    parser.add_argument("--mlp", default="256,256", help="the MLP's hidden sizes")
    parser.add_argument("--mlp-epochs", type=int, default=150)
    parser.add_argument(
        "--mlp-rows", type=int, default=8192, help="rows of the synthetic CSV the MLP trains on"
    )
    parser.add_argument("--process-epochs", type=int, default=20000)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, device {args.device}, {os.cpu_count()} CPUs, "
        f"1 torch thread on the CPU (the engine's default); best of {args.repeats}; "
        "ratios against the person's loop"
    )
    cases = [
        ("line (full batch, 4000 epochs)", ["--preset", "line", "--epochs", "4000"]),
        (
            "highdim (minibatch 5, 800 epochs)",
            ["--preset", "highdim", "--epochs", "800", "--lam", "3"],
        ),
    ]
    if args.mlp != "none":
        csv = write_regression_csv(args.mlp_rows, features=32)
        mlp_case = ["--data", csv, "--target", "y", "--model", "mlp", "--hidden", args.mlp]
        mlp_case += ["--batch-size", "0", "--epochs", str(args.mlp_epochs), "--lam", "0.001"]
        cases.append((f"mlp {args.mlp}, {args.mlp_rows} rows (full batch)", mlp_case))
    from engine.cli.options import OneLineParser, add_training_options, config_from_args

    options = OneLineParser()
    add_training_options(options)
    for name, case in cases:
        case = [*case, "--device", args.device]
        bench(name, case, config_from_args(options.parse_args(case)), args.repeats)
    if args.device == "cpu":
        whole_processes(args.process_epochs, args.repeats)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
