"""`wdtui run`: the JSON-lines contract, the summary, exit codes and one-line errors."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from engine.cli.run import run_parser
from engine.cli.sweep import sweep_parser
from engine.config import CSV_DEFAULTS, CSV_TEST_FRACTION, PRESET_DEFAULTS, RunConfig
from support.engine import ROOT, WDTUI, call_wdtui
from tui.cli import main
from tui.launch import EXPLORER_EPOCHS, explorer_parser


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    return call_wdtui(capsys, "run", *args)


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
        "train_accuracy",
        "test_accuracy",
        "update_norm",
        "data_update_norm",
        "decay_update_norm",
        "layer_sq_norms",
    }
    assert started["layer_names"] == ["weight"] and started["scale_invariant"] == []
    assert first["train_accuracy"] is None and first["test_accuracy"] is None  # regression
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
    (["--model", "mlp", "--hidden", "10000000,10000000"], "wdtui allows at most 1.1e+12"),
    (["--model", "mlp", "--hidden", "99999999999999999999"], "hidden sizes must be at most"),
    (["--cpu-threads", "2147483648"], "CPU threads must be at most 1024, got 2147483648"),
    (["--cpu-threads", "65536"], "CPU threads must be at most 1024, got 65536"),
    (["--lr", "1e-50"], "learning rate must be at least 1.18e-38"),
    (["--lam", "1e-50"], "λ must be 0 or at least 1.18e-38"),
    (["--preset", "highdim", "--data", "{good}", "--target", "y"], "exclude each other"),
    (["--reg", "none", "--lam", "5"], "mode none has no penalty: λ 5 would be ignored"),
    (["--data", "{dup}", "--target", "y"], "has two columns named 'a'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, tmp_path, args, message) -> None:
    files = {
        "{empty}": csv_file(tmp_path, "empty.csv", ""),
        "{text}": csv_file(tmp_path, "text.csv", "a,y\n1,2\noops,3\n"),
        "{good}": csv_file(tmp_path, "good.csv", "a,y\n1,2\n2,3\n3,5\n"),
        "{dup}": csv_file(tmp_path, "dup.csv", "a,b,a,y\n1,2,3,4\n2,3,4,5\n3,5,6,7\n"),
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
        assert code == 2 and err.startswith("wdtui run: error: cannot read --config")


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
    assert err.startswith("wdtui: error: ")  # the command typed: the explorer's


def test_a_runs_dir_that_is_a_file_is_exit_2(capsys, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = run_cli(capsys, "--runs-dir", str(blocker))
    assert code == 2 and out == ""
    assert err.startswith("wdtui run: error: cannot create a run folder under") and err[-1] == "\n"
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


# ----- refusals up front, and what flags over a --config mean -------------------------------


def started_config(out: str) -> dict:
    started = json.loads(out.splitlines()[0])
    assert started["event"] == "started"
    return started["config"]


def test_mode_none_needs_no_lam_and_refuses_a_nonzero_one(capsys) -> None:
    for extra in ([], ["--lam", "0"], ["--preset", "highdim"]):
        code, out, err = run_cli(capsys, "--reg", "none", "--jsonl", "--no-save", "--epochs", "1",
                                 *extra)  # fmt: skip
        assert code == 0, err
        assert started_config(out)["lam"] == 0.0  # never the preset's default λ
    code, out, err = run_cli(capsys, "--reg", "none", "--lam", "5", "--no-save")
    assert code == 2 and out == ""
    assert err == (
        "wdtui run: error: mode none has no penalty: λ 5 would be ignored; drop --lam or use "
        "--reg l2/wd\n"
    )


def test_a_model_too_large_for_memory_is_refused_before_allocating(capsys, monkeypatch) -> None:
    # The machine's memory is pinned, so the verdict does not depend on the test machine.
    monkeypatch.setattr("engine.limits.cpu_available_bytes", lambda: 22 * 10**9)
    code, out, err = run_cli(capsys, "--no-save", "--model", "mlp", "--hidden", "100000,100000")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("wdtui run: error: this model (")
    assert "needs about" in err and err.endswith("the CPU has 22 GB available\n")


def run_measuring_peak_rss(args: list[str], tmp_path, timeout: float = 120) -> tuple[int, str, int]:
    """Run `wdtui ARGS` in a fresh process: (exit status, stderr, its peak RSS in bytes)."""
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        proc = subprocess.Popen([*WDTUI, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    deadline = threading.Timer(timeout, proc.kill)
    deadline.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        deadline.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err_path.read_text(), usage.ru_maxrss * 1024  # KiB on Linux


@pytest.mark.parametrize(
    ("hidden", "message"),
    [
        ("99999999999999999999", "hidden sizes must be at most 2147483648 (2**31)"),
        ("1000000,1000000", "needs about 8.0 TB to train"),
    ],
)
def test_a_huge_model_is_refused_from_its_size_alone(tmp_path, hidden, message) -> None:
    code, err, peak = run_measuring_peak_rss(
        ["run", "--no-save", "--model", "mlp", "--hidden", hidden], tmp_path
    )
    assert code == 2, err
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert peak < 3 * 2**30  # torch's own footprint, not the model's


def test_config_must_be_a_small_regular_file(capsys, tmp_path) -> None:
    big = tmp_path / "big.json"
    big.write_text("{" + " " * (1 << 20) + "}")
    for path, message in [
        (str(tmp_path), "not a regular file"),
        (str(big), "larger than 1024 KiB"),
    ]:
        code, _, err = run_cli(capsys, "--config", path, "--no-save")
        assert code == 2 and err == f"wdtui run: error: cannot read --config {path}: {message}" + (
            " (a config.json is a few hundred bytes)\n" if "larger" in message else "\n"
        )
    # /dev/zero never ends and a FIFO never opens: both are refused before any read.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        proc = subprocess.run([*WDTUI, "run", "--config", path], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 2
        assert proc.stderr == f"wdtui run: error: cannot read --config {path}: not a regular file\n"


def test_an_unknown_key_in_config_json_is_named(capsys, tmp_path) -> None:
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "lamda": 99}))
    code, _, err = run_cli(capsys, "--config", str(saved), "--no-save")
    assert code == 2
    assert err == (
        f"wdtui run: error: --config {saved}: unknown setting 'lamda' (did you mean 'lam'?)\n"
    )


def test_a_sweeps_config_json_runs_as_a_run(capsys, tmp_path) -> None:
    assert main(["sweep", "--epochs", "1", "--lams", "0,0.5", "--runs-dir", str(tmp_path)]) == 0
    (sweep_dir,) = list(tmp_path.iterdir())
    capsys.readouterr()
    code, out, err = run_cli(capsys, "--config", str(sweep_dir / "config.json"), "--no-save",
                             "--jsonl")  # fmt: skip
    assert code == 0, err
    assert started_config(out)["lam"] == 0.01  # its "lam": null is the preset's default


def write_csv(tmp_path, name: str = "d.csv") -> str:
    path = tmp_path / name
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{2 * i + 1}\n" for i in range(12)))
    return str(path)


def test_preset_and_data_flags_override_a_saved_config(capsys, tmp_path) -> None:
    csv = write_csv(tmp_path)
    assert main(["run", "--data", csv, "--target", "y", "--epochs", "1",
                 "--runs-dir", str(tmp_path / "csv")]) == 0  # fmt: skip
    assert main(["run", "--preset", "poly", "--epochs", "1",
                 "--runs-dir", str(tmp_path / "poly")]) == 0  # fmt: skip
    capsys.readouterr()
    (csv_dir,) = list((tmp_path / "csv").iterdir())
    (poly_dir,) = list((tmp_path / "poly").iterdir())
    csv_config, poly_config = str(csv_dir / "config.json"), str(poly_dir / "config.json")
    saved = json.loads(Path(csv_config).read_text())
    assert saved["preset"] is None and saved["data"] == csv

    def started(*args: str) -> dict:
        code, out, err = run_cli(capsys, "--no-save", "--jsonl", *args)
        assert code == 0, err
        return started_config(out)

    assert started("--config", csv_config)["data"] == csv  # "preset": null replays as is
    assert started("--config", poly_config)["preset"] == "poly"  # and "data": null
    # --preset over a CSV run's config: that preset, its data and target gone.
    switched = started("--config", csv_config, "--preset", "highdim")
    assert (switched["preset"], switched["data"], switched["target"]) == ("highdim", None, None)
    # --data over a preset run's config: that CSV, the preset gone.
    switched = started("--config", poly_config, "--data", csv, "--target", "y")
    assert (switched["preset"], switched["data"]) == (None, csv)
    # The new problem brings its own defaults: the CSV's scaling and lr, poly's minibatches
    # and λ 0 stay behind; what the command line gives is kept.
    switched = started("--config", csv_config, "--preset", "line")
    line = RunConfig(preset="line").resolved()
    assert (switched["standardize"], switched["lr"], switched["lam"]) == (False, line.lr, line.lam)
    assert (switched["batch_size"], switched["epochs"]) == (line.batch_size, line.epochs)
    switched = started("--config", poly_config, "--data", csv, "--target", "y", "--lr", "0.5")
    csv_run = RunConfig(data=csv, target="y").resolved()
    assert (switched["standardize"], switched["batch_size"]) == (True, csv_run.batch_size)
    assert (switched["lam"], switched["lr"]) == (csv_run.lam, 0.5)
    assert started("--config", poly_config, "--preset", "poly")["batch_size"] == 5  # the same
    # Both on one command line contradict each other.
    code, _, err = run_cli(capsys, "--config", csv_config, "--preset", "line", "--data", csv)
    assert code == 2 and "exclude each other" in err and len(err.splitlines()) == 1


def test_a_relative_data_path_in_config_json_works_from_anywhere(capsys, tmp_path,
                                                                 monkeypatch) -> None:  # fmt: skip
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_csv(tmp_path / "a")
    monkeypatch.chdir(tmp_path / "a")
    assert main(["run", "--data", "d.csv", "--target", "y", "--epochs", "1",
                 "--runs-dir", "runs"]) == 0  # fmt: skip
    (run_dir,) = list((tmp_path / "a" / "runs").iterdir())
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["data"] == str(tmp_path / "a" / "d.csv")
    monkeypatch.chdir(tmp_path / "b")
    capsys.readouterr()
    code, out, err = run_cli(capsys, "--config", str(run_dir / "config.json"), "--no-save",
                             "--jsonl")  # fmt: skip
    assert code == 0, err
    assert started_config(out)["data"] == str(tmp_path / "a" / "d.csv")


def test_flags_turn_off_decay_bias_and_save_that_a_config_set(capsys, tmp_path) -> None:
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps({"preset": "line", "epochs": 1, "decay_bias": True,
                                 "save": False}))  # fmt: skip
    runs = tmp_path / "runs"
    code, out, _ = run_cli(capsys, "--config", str(saved), "--jsonl", "--runs-dir", str(runs))
    config = started_config(out)
    assert code == 0 and config["decay_bias"] is True and config["save"] is False
    assert not runs.exists()
    code, out, _ = run_cli(capsys, "--config", str(saved), "--jsonl", "--runs-dir", str(runs),
                           "--no-decay-bias", "--save")  # fmt: skip
    started = json.loads(out.splitlines()[0])
    assert code == 0 and started["config"]["decay_bias"] is False
    assert started["config"]["save"] is True and len(list(runs.iterdir())) == 1
    assert {p["name"]: p["penalized"] for p in started["parameters"]} == {
        "weight": True,
        "bias": False,
    }


# A real SIGINT, sent by the process to itself the moment it starts importing a given module
# (torch, or one that torch's own import pulls in, inside a C extension's import): deterministic,
# unlike a signal from outside racing the import.
INTERRUPT_DURING_IMPORT = """
import os, signal, sys

# Ctrl+C as a terminal's foreground job gets it; a job started in the background by a
# non-interactive shell (CI, nohup) inherits SIGINT ignored, and would never see it.
signal.signal(signal.SIGINT, signal.default_int_handler)
MODULE = os.environ["INTERRUPT_AT"]

class InterruptImport:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptImport())
from tui.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("command", "module"),
    [("run", "torch"), ("sweep", "torch"), ("run", "numpy"), ("run", "torch.nn")],
)
def test_ctrl_c_while_torch_loads_exits_130_quietly(command: str, module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPT_DURING_IMPORT, command, "--no-save"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INTERRUPT_AT": module},
    )
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert proc.stderr == "" and proc.stdout == ""


# ----- help texts and error lines -----------------------------------------------------------


def help_entries(text: str) -> dict[str, str]:
    """An argparse --help's options, by their first flag: the help text, wrapping undone."""
    entries: dict[str, str] = {}
    flag = None
    for line in text.splitlines():
        entry = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if entry:
            flag = entry.group(1).split(",")[0].split()[0]
            entries[flag] = entry.group(2) or ""
        elif flag is not None and line.startswith("    ") and line.strip():
            entries[flag] = f"{entries[flag]} {line.strip()}".strip()
        else:
            flag = None
    return entries


COMMANDS = {"wdtui": explorer_parser, "wdtui run": run_parser, "wdtui sweep": sweep_parser}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_says_what_it_does_and_its_default(capsys, command: str) -> None:
    code, out, err = call_wdtui(capsys, *command.split()[1:], "--help")
    assert code == 0 and err == ""
    shown = help_entries(out)
    options = [
        action.option_strings[0]
        for action in COMMANDS[command]()._actions
        if action.option_strings and action.help != argparse.SUPPRESS
    ]
    assert sorted(shown) == sorted(options)  # every option, each once, nothing hidden shown
    for flag, text in shown.items():
        if flag != "-h":
            assert "default" in text, f"{command} {flag}: {text!r}"
    # The preset-dependent defaults are the presets' own, and a CSV's.
    settings = {"--lr": "lr", "--epochs": "epochs", "--batch-size": "batch_size", "--lam": "lam"}
    for flag, setting in settings.items():
        if flag not in shown:
            assert command == "wdtui sweep" and flag == "--lam"
            continue
        if command == "wdtui" and flag == "--epochs":  # the explorer's own: one long run
            assert f"(default: {EXPLORER_EPOCHS:,}," in shown[flag]
            continue
        for preset, defaults in PRESET_DEFAULTS.items():
            assert f"{preset} {getattr(defaults, setting):g}" in shown[flag], (flag, preset)
        assert f"a CSV: {getattr(CSV_DEFAULTS, setting):g}" in shown[flag], flag
    assert "line off" in shown["--standardize"] and "digits on" in shown["--standardize"]
    assert "a CSV: on" in shown["--standardize"]
    # Most problems share these; the help names the exceptions (grokking's MLP and AdamW).
    grokking_hidden = ",".join(map(str, PRESET_DEFAULTS["grokking"].hidden))
    assert f"(default: 64,64 (grokking: {grokking_hidden}))" in shown["--hidden"]
    assert "(default: linear (grokking: mlp))" in shown["--model"]
    assert "(default: sgd (grokking: adamw))" in shown["--optimizer"]
    assert "(default: 0)" in shown["--seed"]


def test_a_csv_holds_out_the_share_the_help_gives(capsys, tmp_path) -> None:
    rows = "".join(f"{i},{2 * i}\n" for i in range(10))
    data = csv_file(tmp_path, "ten.csv", "x,y\n" + rows)
    code, out, err = run_cli(
        capsys, "--data", data, "--target", "y", "--epochs", "1", "--jsonl", "--no-save"
    )
    assert code == 0, err
    started = json.loads(out.splitlines()[0])
    assert started["n_test"] == round(10 * CSV_TEST_FRACTION) == 2


def test_wdtui_help_names_the_three_commands_first(capsys) -> None:
    code, out, _ = call_wdtui(capsys, "--help")
    head = out.splitlines()[:3]
    assert code == 0
    assert head[0].startswith("usage: wdtui [options] ")
    assert head[1].split()[:3] == ["wdtui", "run", "[options]"]
    assert head[2].split()[:3] == ["wdtui", "sweep", "[options]"]
    assert "wdtui run --help" in head[1] and "wdtui sweep --help" in head[2]
    # The subcommands' own usage lines are theirs.
    for command in ("run", "sweep"):
        code, out, _ = call_wdtui(capsys, command, "--help")
        assert code == 0 and out.startswith(f"usage: wdtui {command} [-h] ")


def failing_build(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("CUDA out of memory.\nTried to allocate 8 TiB")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # argparse's own errors
        (["--epochs", "x"], "argument --epochs: invalid int value: 'x' (see --help)"),
        (["run", "--epochs", "x"], "argument --epochs: invalid int value: 'x' (see --help)"),
        (["sweep", "--epochs", "x"], "argument --epochs: invalid int value: 'x' (see --help)"),
        (["--nope"], "unrecognized arguments: --nope (see --help)"),
        (["run", "--nope"], "unrecognized arguments: --nope (see --help)"),
        (["sweep", "--nope"], "unrecognized arguments: --nope (see --help)"),
        # the project's: a bad setting, an unreadable --config, a file that is not there
        (["--lam", "-1"], "λ must be a finite number >= 0, got -1.0"),
        (["run", "--lam", "-1"], "λ must be a finite number >= 0, got -1.0"),
        (["sweep", "--lams", "0,-1"], "--lams: λ must be a finite number >= 0, got -1.0"),
        (["--config", "{missing}"], "cannot read --config {missing}: "),
        (["run", "--config", "{missing}"], "cannot read --config {missing}: "),
        (["sweep", "--config", "{missing}"], "cannot read --config {missing}: "),
        (["--data", "{missing}", "--target", "y"], "no such file: {missing}"),
        # a model that cannot be built (cannot_start)
        (["run", "{fail-to-build}"], "cannot start: RuntimeError: CUDA out of memory."),
        (["sweep", "{fail-to-build}"], "cannot start: RuntimeError: CUDA out of memory."),
    ],
)
def test_every_error_line_names_the_command_typed(
    capsys, monkeypatch, tmp_path, argv: list[str], message: str
) -> None:
    """`wdtui: error: …`, `wdtui run: error: …`, `wdtui sweep: error: …`: argparse's errors
    and the project's own, one line each, exit 2."""
    missing = str(tmp_path / "missing")
    if "{fail-to-build}" in argv:
        monkeypatch.setattr("engine.cli.run.Trainer", failing_build)
        monkeypatch.setattr("engine.cli.sweep.Sweep", failing_build)
        argv = [a for a in argv if a != "{fail-to-build}"]
    argv = [a.replace("{missing}", missing) for a in argv]
    command = " ".join(["wdtui", *argv[:1]]) if argv[0] in ("run", "sweep") else "wdtui"
    code, out, err = call_wdtui(capsys, *argv, "--no-save")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.endswith("\n")
    assert err.startswith(f"{command}: error: {message.replace('{missing}', missing)}"), err
