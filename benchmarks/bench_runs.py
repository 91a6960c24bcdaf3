"""Time `wdtui runs` on a folder of 1,000 saved runs (and sweeps).

    .venv/bin/python benchmarks/bench_runs.py              # 1,000 folders, 1,000 epochs each
    .venv/bin/python benchmarks/bench_runs.py --runs 5000

The folders are copies of a real run's and a real sweep's files (made here by `wdtui run` and
`wdtui sweep`), each copy with its own λ and outcome so that sorting has work to do; every tenth
is a sweep, one in fifty lost its results.json (killed), one in a hundred is not a run at all.
Side by side in one run:
- the catalog read in this process (what the explorer's runs screen pays), with summary.json;
- the same folders without summary.json, so each row is read from results.json and the last
  rows of metrics.csv instead (how runs saved before summaries are listed);
- `wdtui runs` as a person runs it (a new process: start-up included), as a table, as JSON
  lines, and sorted and filtered.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.catalog import catalog

WDTUI = [sys.executable, "-m", "tui.cli"]


def make_template(root: Path, epochs: int) -> tuple[Path, Path]:
    """One real run and one real sweep, saved under root/templates."""
    where = root / "templates"
    common = ["--preset", "highdim", "--epochs", str(epochs), "--runs-dir", str(where)]
    subprocess.run([*WDTUI, "run", *common, "--at", "10:lam=1"], check=True, capture_output=True)
    subprocess.run(
        [*WDTUI, "sweep", *common, "--lams", "0,0.01,0.1,1,10"], check=True, capture_output=True
    )
    run = next(p for p in where.iterdir() if "sweep" not in p.name)
    sweep = next(p for p in where.iterdir() if "sweep" in p.name)
    return run, sweep


def fill(folder: Path, run: Path, sweep: Path, count: int, with_summary: bool) -> None:
    folder.mkdir()
    for k in range(count):
        template = sweep if k % 10 == 0 else run
        target = folder / f"{k:05d}-{template.name}"
        if k % 100 == 99:
            target.mkdir()
            (target / "notes.txt").write_text("not a run\n")
            continue
        shutil.copytree(template, target)
        summary_path = target / "summary.json"
        summary = json.loads(summary_path.read_text())
        summary["test_loss"] = (summary.get("test_loss") or 1.0) * (1 + k / count)
        summary["lam_end"] = k / count
        summary_path.write_text(json.dumps(summary))
        if k % 50 == 1:
            (target / "results.json").unlink()
        if not with_summary:
            summary_path.unlink()


def timed(action, repeat: int) -> float:
    """The median of `repeat` wall times, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1000, help="epochs in each copied run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run, sweep = make_template(root, args.epochs)
        fast, legacy = root / "with-summary", root / "without-summary"
        fill(fast, run, sweep, args.runs, with_summary=True)
        fill(legacy, run, sweep, args.runs, with_summary=False)
        rows = len(catalog(fast))
        print(f"{rows:,} folders ({args.epochs:,} epochs per run), median of {args.repeat}")
        in_process = timed(lambda: catalog(fast), args.repeat)
        old = timed(lambda: catalog(legacy), args.repeat)
        print(f"  catalog, summary.json          {in_process * 1000:8.1f} ms")
        print(
            f"  catalog, metrics.csv instead   {old * 1000:8.1f} ms"
            f"  ({old / in_process:.1f}x the summary's time)"
        )
        for label, extra in (
            ("wdtui runs (table)", []),
            ("wdtui runs --jsonl", ["--jsonl"]),
            (
                "wdtui runs --sort test_loss --filter mode=l2",
                ["--sort", "test_loss", "--filter", "mode=l2"],
            ),
        ):
            command = [*WDTUI, "runs", "--runs-dir", str(fast), *extra]
            seconds = timed(
                lambda command=command: subprocess.run(command, check=True, capture_output=True),
                args.repeat,
            )
            print(f"  {label:<45} {seconds * 1000:8.1f} ms (a new process)")
        startup = timed(
            lambda: subprocess.run(
                [*WDTUI, "runs", "--runs-dir", str(root / "none")], check=True, capture_output=True
            ),
            args.repeat,
        )
        print(f"  {'wdtui runs on an empty folder (start-up)':<45} {startup * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
