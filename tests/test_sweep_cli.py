"""`wdtui sweep`: the λ grids, the JSON-lines contract, the table, exit codes, one-line errors."""

from __future__ import annotations

import itertools
import json
import math
import subprocess

import pytest

from engine.cli.sweep import SWEEP_REG_MODES, sweep_parser
from engine.config import ConfigError
from engine.sweep.lams import (
    DEFAULT_TEXT,
    default_grid,
    edge_note,
    log_grid,
    parse_lam_grid,
    parse_lams,
    parse_sweep_lams,
    resolve_lams,
)
from support.engine import ROOT, WDTUI, call_wdtui
from tui.cli import main


def sweep_cli(capsys, *args: str) -> tuple[int, str, str]:
    return call_wdtui(capsys, "sweep", *args)


# ----- grids ------------------------------------------------------------------------------


def test_default_grid_is_zero_plus_13_half_decades() -> None:
    grid = default_grid()
    assert len(grid) == 14 and grid[0] == 0.0 and grid[1] == 1e-4 and grid[-1] == 1e2
    steps = [math.log10(b / a) for a, b in itertools.pairwise(grid[1:])]
    assert steps == pytest.approx([0.5] * 12)
    assert resolve_lams(None, None, False) == grid
    assert resolve_lams(None, None, True) == grid  # it has its zero already


def test_lists_and_grids_parse() -> None:
    assert parse_lams(" 0, 1e-3 ,0.5") == [0.0, 0.001, 0.5]
    assert parse_lam_grid("1e-3:1e1:5") == pytest.approx([1e-3, 1e-2, 1e-1, 1, 10])
    assert log_grid(0.1, 0.1, 2) == [0.1, 0.1]
    assert resolve_lams(None, "0.01:1:3", True) == pytest.approx([0.0, 0.01, 0.1, 1.0])
    assert resolve_lams("0.5,2", None, True) == [0.0, 0.5, 2.0]


@pytest.mark.parametrize(
    ("lams", "grid"),
    [
        ("", None),
        (",", None),
        ("0,,1", None),
        ("0;1", None),
        ("1,-0.5", None),
        ("nan", None),
        ("inf,1", None),
        (None, "0:1:5"),
        (None, "-1:1:5"),
        (None, "1:0.5:5"),
        (None, "1e-3:1:1"),
        (None, "1e-3:1:x"),
        (None, "1e-3:1"),
        (None, "a:1:3"),
        (None, "1e-3:inf:3"),
        (None, "1e-3:1:100000"),
        ("0,1", "1e-3:1:3"),
    ],
)
def test_bad_lists_and_grids_raise_config_error(lams: str | None, grid: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_lams(lams, grid, False)
    assert "\n" not in str(info.value)


# ----- bad input through the command ----------------------------------------------------

BAD_INPUT = [
    ["--lams", ""],
    ["--lams", "0,,1"],
    ["--lams", "0,x"],
    ["--lams=-1,2"],
    ["--lams", "nan"],
    ["--lams", "1e400"],
    ["--lam-grid", "0:1:5"],
    ["--lam-grid", "1:0.1:5"],
    ["--lam-grid", "1e-3:1:1"],
    ["--lam-grid", "1e-3:1"],
    ["--lams", "0,1", "--lam-grid", "1e-3:1:3"],
    ["--lam", "0.1", "--lams", "0,1"],
    ["--lam", "0.1", "--lam-grid", "1e-3:1:3"],
    ["--lam", "0.1"],
    ["--reg", "none"],
    ["--reg", "none", "--lams", "0,1"],
    ["--lr", "-1"],
    ["--lr", "abc"],
    ["--epochs", "-3"],
    ["--preset", "nope"],
    ["--optimizer", "adam", "--momentum", "0.9"],
    ["--model", "mlp", "--init", "zeros"],
    ["--hidden", "0,3"],
    ["--data", "/nonexistent.csv", "--target", "y"],
    ["--device", "cuda:7"],
    ["--batch-size", "-1"],
]


@pytest.mark.parametrize("args", BAD_INPUT, ids=lambda a: " ".join(a))
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, args: list[str]) -> None:
    # The test's own --epochs first, so that a bad --epochs in `args` has the last word.
    code, out, err = sweep_cli(capsys, "--epochs", "1", *args, "--runs-dir", str(tmp_path))
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing saved for a refused sweep


def test_bad_input_from_a_real_process_is_one_line() -> None:
    proc = subprocess.run(
        [*WDTUI, "sweep", "--lam-grid", "0:1:3", "--no-save"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "wdtui sweep: error: --lam-grid START must be a finite number > 0, got 0"
    ]


def test_the_sweeps_reg_offers_l2_and_wd_and_refuses_none(capsys, tmp_path) -> None:
    (reg,) = [a for a in sweep_parser()._actions if "--reg" in a.option_strings]
    assert tuple(reg.choices or ()) == SWEEP_REG_MODES == ("l2", "wd")
    code, out, _ = sweep_cli(capsys, "--help")
    assert code == 0 and "--reg {l2,wd} " in out and "none: no penalty" not in out
    # On the command line argparse refuses it: one line, exit 2, nothing saved.
    code, out, err = sweep_cli(capsys, "--reg", "none", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("wdtui sweep: error: argument --reg: invalid choice: 'none'")
    # From a run's config.json the sweep itself refuses it, as before.
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "epochs": 1, "reg": "none", "lam": 0.0}))
    code, out, err = sweep_cli(capsys, "--config", str(saved), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and out == ""
    assert err == (
        "wdtui sweep: error: a sweep varies λ: mode 'none' has no penalty (use --reg l2 or wd)\n"
    )
    assert not (tmp_path / "runs").exists()
    # --reg over the file's none is a sweep like any other.
    code, out, err = sweep_cli(capsys, "--config", str(saved), "--reg", "wd", "--lams", "0,1",
                               "--no-save", "--jsonl")  # fmt: skip
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["config"]["reg"] == "wd"


# ----- output ------------------------------------------------------------------------------


def test_jsonl_has_the_documented_shapes(capsys) -> None:
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--epochs", "3", "--lams", "0,0.1,1", "--model", "mlp",
        "--hidden", "4",
    )  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]  # strict JSON: no NaN tokens
    assert [line["event"] for line in lines] == ["sweep_started", *["sweep_epoch"] * 3,
                                                 "sweep_finished"]  # fmt: skip
    started, epoch, done = lines[0], lines[1], lines[-1]
    assert set(started) == {"event", "config", "device", "lams", "warnings"}
    assert started["warnings"] == []  # lr 0.01 · 2λ < 1 for every λ here
    assert started["device"] == "cpu" and started["lams"] == [0.0, 0.1, 1.0]
    assert started["config"]["lams"] == [0.0, 0.1, 1.0] and started["config"]["lam"] is None
    assert set(epoch) == {"event", "epoch", "train_loss", "test_loss", "train_accuracy",
                          "test_accuracy", "weight_sq_norm", "elapsed_s"}  # fmt: skip
    assert epoch["epoch"] == 1
    # Regression has no accuracy: null, in every epoch and every member's result.
    assert all(e["train_accuracy"] is None and e["test_accuracy"] is None for e in lines[1:-1])
    assert all(len(epoch[key]) == 3 for key in ("train_loss", "test_loss", "weight_sq_norm"))
    assert set(done) == {
        "event",
        "status",
        "epochs",
        "partial_epoch_steps",
        "message",
        "best_lam",
        "best_by",
        "results",
        "run_dir",
    }
    assert done["status"] == "completed" and done["epochs"] == 3
    assert done["best_by"] == "test_loss"
    assert done["best_lam"] in (0.0, 0.1, 1.0)
    tests = [r["test_loss"] for r in done["results"]]
    assert done["best_lam"] == done["results"][tests.index(min(tests))]["lam"]
    member = done["results"][1]
    assert set(member) == {"lam", "status", "epochs", "train_loss", "test_loss",
                           "train_accuracy", "test_accuracy", "weight_sq_norm",
                           "weights"}  # fmt: skip
    assert member["train_accuracy"] is None and member["test_accuracy"] is None
    assert member["lam"] == 0.1 and member["status"] == "completed" and member["epochs"] == 3
    assert member["test_loss"] == lines[-2]["test_loss"][1]
    shapes = {name: (len(v), len(v[0]) if isinstance(v[0], list) else None)
              for name, v in member["weights"].items()}  # fmt: skip
    assert shapes == {"0.weight": (4, 1), "0.bias": (4, None), "2.weight": (1, 4),
                      "2.bias": (1, None)}  # fmt: skip


def test_jsonl_writes_a_diverged_member_as_null_and_exits_0(capsys) -> None:
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--lams", "0,1000", "--momentum", "0.9",
        "--batch-size", "10", "--epochs", "6",
    )  # fmt: skip
    lines = [json.loads(line) for line in out.splitlines()]
    done = lines[-1]
    assert code == 0 and done["status"] == "completed"
    assert [r["status"] for r in done["results"]] == ["completed", "diverged"]
    assert done["results"][1]["train_loss"] is None and done["best_lam"] == 0.0
    assert lines[-2]["train_loss"][1] is None and lines[-2]["train_loss"][0] is not None


def test_a_sweep_whose_every_member_diverged_fails_with_exit_1(capsys) -> None:
    code, out, _ = sweep_cli(capsys, "--jsonl", "--no-save", "--lr", "50", "--epochs", "20",
                             "--lams", "0,0.1")  # fmt: skip
    done = json.loads(out.splitlines()[-1])
    assert code == 1 and done["status"] == "failed" and done["best_lam"] is None
    assert done["message"] == "every member diverged"
    assert [r["status"] for r in done["results"]] == ["diverged", "diverged"]


def test_table_marks_the_best_lam_and_names_the_folder(capsys, tmp_path) -> None:
    code, out, err = sweep_cli(
        capsys, "--preset", "highdim", "--epochs", "20", "--lams", "0,0.1,3,30",
        "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert "completed: 4 λ values × 20 epochs on cpu" in out
    header = next(line for line in out.splitlines() if "train loss" in line)
    assert header.split() == ["λ", "train", "loss", "test", "loss", "‖w‖²", "status"]
    (best_row,) = [line for line in out.splitlines() if "◀ best" in line]
    best = json.loads((next(tmp_path.iterdir()) / "results.json").read_text())["best_lam"]
    assert best_row.split()[0] == f"{best:g}" and f"best λ = {best:g}" in out
    (run_dir,) = list(tmp_path.iterdir())
    assert f"saved to {run_dir}" in out
    assert "20/20" in err  # the progress bar's last state


def test_the_table_says_when_the_best_lam_is_at_the_grids_edge(capsys) -> None:
    # highdim at 50 epochs: the test loss still falls at λ = 0.01, the largest tried.
    code, out, _ = sweep_cli(
        capsys, "--preset", "highdim", "--lams", "0,0.001,0.01", "--epochs", "50", "--no-save"
    )
    assert code == 0
    (best_row,) = [line for line in out.splitlines() if "◀ best" in line]
    assert best_row.split()[0] == "0.01"
    assert out.splitlines()[-1] == (
        "  best λ = 0.01 is the largest tried: the optimum may be beyond it; "
        "extend the grid (e.g. 0.01:1:5)"
    )


def test_edge_note_names_the_edge_and_a_grid_that_extends_it() -> None:
    grid = default_grid()  # 0, 1e-4 … 100
    assert edge_note(grid, 100.0) == (
        "best λ = 100 is the largest tried: the optimum may be beyond it; "
        "extend the grid (e.g. 100:10000:5)"
    )
    assert edge_note(grid, 1e-4) == (
        "best λ = 0.0001 is the smallest λ > 0 tried and λ = 0 did worse: the optimum may lie "
        "between them; extend the grid (e.g. 1e-6:0.0001:5)"
    )
    assert edge_note([3.0, 0.5, 1.0, 0.5], 0.5) == (  # any order, duplicates
        "best λ = 0.5 is the smallest tried: the optimum may be below it; "
        "extend the grid (e.g. 0, 0.005:0.5:5)"
    )
    assert edge_note(grid, 1.0) is None  # inside the grid
    assert edge_note(grid, 0.0) is None  # nothing lies below λ = 0
    assert edge_note([0.0, 0.1], 0.0) is None
    assert edge_note([5.0], 5.0) is None and edge_note([0.0], 0.0) is None  # one λ: no edge
    assert edge_note(grid, None) is None
    assert "is the largest tried" in str(edge_note([0.0, 0.1], 0.1))  # not "between them"
    # The suggested grid is in the grammar the field and --lams read, and extends the edge.
    for lams, best in [(grid, 100.0), (grid, 1e-4), (grid[1:], 1e-4), (parse_lams("1e-7,1"), 1e-7)]:
        note = edge_note(lams, best)
        assert note is not None
        suggested = parse_lams(note.split("(e.g. ")[1].rstrip(")"))
        assert best in suggested or math.isclose(max(suggested), best)
        assert max(suggested) > max(lams) or min(suggested) < min(v for v in lams if v > 0)


def test_config_from_a_run_or_a_sweep(capsys, tmp_path) -> None:
    # A run's config.json: its settings, its λ is not taken for a --lam flag.
    assert main(["run", "--epochs", "2", "--preset", "highdim", "--runs-dir", str(tmp_path)]) == 0
    (run_dir,) = list(tmp_path.iterdir())
    capsys.readouterr()
    code, out, err = sweep_cli(
        capsys, "--jsonl", "--no-save", "--config", str(run_dir / "config.json"), "--lams", "0,1"
    )
    assert code == 0, err
    started = json.loads(out.splitlines()[0])
    assert started["config"]["preset"] == "highdim" and started["config"]["epochs"] == 2
    assert started["lams"] == [0.0, 1.0]
    # A sweep's config.json: its λ list too, unless --lams/--lam-grid says otherwise.
    sweeps = tmp_path / "sweeps"
    code, *_ = sweep_cli(capsys, "--epochs", "1", "--lams", "0,0.25", "--runs-dir", str(sweeps))
    assert code == 0
    (sweep_dir,) = list(sweeps.iterdir())
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--config", str(sweep_dir / "config.json")
    )
    assert code == 0 and json.loads(out.splitlines()[0])["lams"] == [0.0, 0.25]
    code, out, _ = sweep_cli(
        capsys, "--jsonl", "--no-save", "--config", str(sweep_dir / "config.json"),
        "--lam-grid", "1:10:2",
    )  # fmt: skip
    assert code == 0 and json.loads(out.splitlines()[0])["lams"] == [1.0, 10.0]


@pytest.mark.parametrize("lams", ["abc", 3, None, [], [0.1, "a"], [True]], ids=repr)
def test_a_saved_lams_that_is_not_a_list_of_numbers_is_refused(capsys, tmp_path, lams) -> None:
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "epochs": 1, "lam": None, "lams": lams}))
    code, out, err = sweep_cli(capsys, "--config", str(saved), "--no-save", "--jsonl")
    assert code == 2 and out == ""
    assert err.startswith("wdtui sweep: error: config.json's lams must be a list of numbers")
    assert len(err.splitlines()) == 1
    # --lams on the command line overrides the file's list, whatever it holds.
    code, out, _ = sweep_cli(capsys, "--config", str(saved), "--no-save", "--jsonl",
                             "--lams", "0,1")  # fmt: skip
    assert code == 0 and json.loads(out.splitlines()[0])["lams"] == [0.0, 1.0]


def test_the_command_line_and_the_field_read_one_grammar() -> None:
    text = "0, 1e-3:1e-1:3, 0.5"
    assert resolve_lams(text, None, False) == pytest.approx([0.0, 1e-3, 1e-2, 1e-1, 0.5])
    assert parse_sweep_lams(text) == sorted(resolve_lams(text, None, False))
    assert parse_sweep_lams(DEFAULT_TEXT) == default_grid()
    with pytest.raises(ConfigError) as cli:
        resolve_lams("0,,1", None, False)
    with pytest.raises(ConfigError) as field:
        parse_sweep_lams("0,,1")
    assert str(cli.value) == f"--lams: {field.value}"  # the same words, named as the flag
