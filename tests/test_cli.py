"""`wdtui run`: the JSON-lines contract, the summary, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from conftest import ROOT, WDTUI

from tui.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["run", *args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_prints_the_documented_events(capsys) -> None:
    code, out, _ = run_cli(capsys, "--jsonl", "--no-save", "--epochs", "4", "--lam", "0.1")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["event"] for line in lines] == [
        "started",
        "epoch",
        "epoch",
        "epoch",
        "epoch",
        "finished",
    ]
    started, first, finished = lines[0], lines[1], lines[-1]
    assert started["device"] == "cpu" and started["config"]["lam"] == 0.1
    assert started["parameters"] == [
        {"name": "weight", "shape": [1, 1], "penalized": True},
        {"name": "bias", "shape": [1], "penalized": False},
    ]
    assert set(first) == {
        "event",
        "epoch",
        "train_loss",
        "test_loss",
        "penalty",
        "objective",
        "weight_sq_norm",
        "lam",
        "lr",
        "elapsed_s",
    }
    assert first["penalty"] == pytest.approx(0.1 * first["weight_sq_norm"])
    assert finished["status"] == "completed" and finished["epochs"] == 4
    assert set(finished["weights"]) == {"weight", "bias"}
    assert len(finished["weights"]["weight"][0]) == 1


def test_jsonl_without_test_split_has_null_test_loss(capsys) -> None:
    _, out, _ = run_cli(capsys, "--jsonl", "--no-save", "--epochs", "2", "--test-fraction", "0")
    epochs = [json.loads(line) for line in out.splitlines()][1:-1]
    assert [e["test_loss"] for e in epochs] == [None, None]


def test_diverged_run_exits_1_with_valid_json(capsys) -> None:
    code, out, _ = run_cli(capsys, "--jsonl", "--no-save", "--lr", "100", "--epochs", "500")
    lines = [json.loads(line) for line in out.splitlines()]  # no NaN/Infinity tokens
    assert code == 1 and lines[-1]["status"] == "diverged"
    assert lines[-2]["train_loss"] is None  # the non-finite loss, as JSON null


def test_summary_names_the_losses_and_the_run_folder(capsys, tmp_path) -> None:
    code, out, err = run_cli(capsys, "--epochs", "5", "--runs-dir", str(tmp_path))
    assert code == 0
    assert "completed: 5 epochs on cpu" in out and "train loss" in out and "test loss" in out
    (run_dir,) = list(tmp_path.iterdir())
    assert f"saved to {run_dir}" in out
    assert "5/5" in err  # the progress bar's last state


def test_mlp_with_adamw_and_wd(capsys) -> None:
    code, out, _ = run_cli(
        capsys,
        "--jsonl",
        "--no-save",
        "--model",
        "mlp",
        "--hidden",
        "8,4",
        "--activation",
        "tanh",
        "--optimizer",
        "adamw",
        "--reg",
        "wd",
        "--lam",
        "0.01",
        "--epochs",
        "3",
        "--preset",
        "highdim",
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(p["name"], p["shape"], p["penalized"]) for p in lines[0]["parameters"]] == [
        ("0.weight", [8, 200], True),
        ("0.bias", [8], False),
        ("2.weight", [4, 8], True),
        ("2.bias", [4], False),
        ("4.weight", [1, 4], True),
        ("4.bias", [1], False),
    ]


def csv_file(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD_INPUTS = [
    (["--lam", "-1"], "λ must be a finite number >= 0"),
    (["--lam", "nan"], "λ must be a finite number >= 0"),
    (["--lam", "inf"], "λ must be a finite number >= 0"),
    (["--lam", "abc"], "invalid float value"),
    (["--lr", "0"], "learning rate must be a finite number > 0"),
    (["--lr", "-0.1"], "learning rate must be a finite number > 0"),
    (["--lr", "1e999"], "learning rate must be a finite number > 0"),
    (["--preset", "circle"], "invalid choice: 'circle'"),
    (["--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["--reg", "l1"], "invalid choice: 'l1'"),
    (["--data", "missing.csv", "--target", "y"], "no such file: missing.csv"),
    (["--data", "{empty}", "--target", "y"], "is empty"),
    (["--data", "{text}", "--target", "y"], "'oops' is not a number"),
    (["--data", "{good}", "--target", "nope"], "has no column 'nope'"),
    (["--data", "{good}"], "--data needs --target"),
    (["--test-fraction", "1"], "test fraction must be in [0, 1)"),
    (["--test-fraction", "-0.1"], "test fraction must be in [0, 1)"),
    (["--model", "mlp", "--hidden", "64,x"], "--hidden must be positive whole numbers"),
    (["--model", "mlp", "--hidden", "0"], "--hidden must be positive whole numbers"),
    (["--epochs", "-5"], "epochs must be a whole number >= 0"),
    (["--batch-size", "-1"], "batch size must be a whole number >= 0"),
    (["--momentum", "1.5"], "momentum must be in [0, 1)"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--cpu-threads", "-1"], "CPU threads must be a whole number >= 0"),
    (["--seed", "99999999999999999999999"], "seed must be below 2**63"),
    (["--lr", "1e39"], "learning rate must be at most 3.4e+38 (float32)"),
    (["--lam", "1e39"], "λ must be at most 1.7e+38 (float32)"),
    (["--model", "mlp", "--hidden", "10000000,10000000"], "cannot start: RuntimeError"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, tmp_path, args, message) -> None:
    files = {
        "{empty}": csv_file(tmp_path, "empty.csv", ""),
        "{text}": csv_file(tmp_path, "text.csv", "a,y\n1,2\noops,3\n"),
        "{good}": csv_file(tmp_path, "good.csv", "a,y\n1,2\n2,3\n3,5\n"),
    }
    args = [files.get(a, a) for a in args]
    code, out, err = run_cli(capsys, "--no-save", *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert message in err and "Traceback" not in err


def test_an_absent_device_is_a_clear_error(capsys) -> None:
    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    code, _, err = run_cli(capsys, "--no-save", "--device", device)
    assert code == 2
    assert "not available" in err or "does not exist" in err


def test_the_installed_entry_point_runs_headless() -> None:
    result = subprocess.run(
        [*WDTUI, "run", "--no-save", "--jsonl", "--epochs", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "completed"
    bad = subprocess.run(
        [*WDTUI, "run", "--lam", "-3"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_config_json_reruns_the_same_run_and_flags_override_it(capsys, tmp_path) -> None:
    first = tmp_path / "first"
    code, _, _ = run_cli(
        capsys, "--preset", "highdim", "--lam", "3", "--epochs", "6", "--runs-dir", str(first)
    )
    (run_dir,) = list(first.iterdir())
    saved = run_dir / "config.json"
    code, out, _ = run_cli(capsys, "--config", str(saved), "--no-save", "--jsonl")
    replay = [json.loads(line) for line in out.splitlines() if '"epoch"' in line[:20]]
    original = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert code == 0 and len(replay) == len(original) == 6
    assert [e["train_loss"] for e in replay] == [float(r.split(",")[1]) for r in original]
    code, out, _ = run_cli(capsys, "--config", str(saved), "--no-save", "--jsonl", "--lam", "0")
    assert json.loads(out.splitlines()[0])["config"]["lam"] == 0.0
    assert json.loads(out.splitlines()[0])["config"]["preset"] == "highdim"


def test_unreadable_config_is_exit_2(capsys, tmp_path) -> None:
    (tmp_path / "bad.json").write_text("[1, 2]")
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        code, _, err = run_cli(capsys, "--config", str(path))
        assert code == 2 and err.startswith("wdtui: error: cannot read --config")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv", "--target", "y"], "no such file: missing.csv"),
        (["--lam", "-2"], "λ must be a finite number >= 0"),
        (["--config", "missing.json"], "cannot read --config missing.json"),
    ],
)
def test_the_explorer_refuses_bad_input_before_opening(capsys, args, message) -> None:
    """`wdtui` without a subcommand: bad options end on the command line, exit 2."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_runs_dir_that_is_a_file_is_exit_2(capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = run_cli(capsys, "--runs-dir", str(blocker))
    assert code == 2 and out == ""
    assert err.startswith("wdtui: error: cannot create a run folder under") and err[-1] == "\n"
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"hidden": 64, "model": "mlp"}, "hidden sizes must be positive whole numbers"),
        ({"hidden": [64, "a"], "model": "mlp"}, "hidden sizes must be positive whole numbers"),
        ({"device": 5}, "device must be text"),
        ({"runs_dir": 5}, "runs_dir must be text"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"standardize": "no"}, "standardize must be true or false"),
        ({"lam": [0.1]}, "λ must be a finite number"),
    ],
)
def test_a_hand_edited_config_json_is_checked(capsys, tmp_path, setting, message) -> None:
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "epochs": 2, **setting}))
    code, _, err = run_cli(capsys, "--config", str(saved), "--no-save")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
