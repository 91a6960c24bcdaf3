"""Pilot tests of the controls' next-run settings: each one set by keyboard reaches the next
run, invalid ones are refused in `wdtui run`'s words, and a run started from the explorer is the
run `wdtui run` makes with the same options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from engine.config import PRESET_DEFAULTS, RunConfig
from support.engine import call_wdtui
from support.tui import (
    LONG,
    SIZE,
    epochs_advance,
    error_of,
    live_of,
    running,
    send,
    status_of,
    sync,
    type_into,
    wait_for,
)
from tui.app import WeightDecayApp
from tui.state.run_settings import SETTINGS
from tui.widgets.controls import Controls

PACE = 200  # epochs/s: a trainer at full speed would take the UI thread's time (the GIL)


def paced_app(**overrides: object) -> WeightDecayApp:
    settings: dict[str, object] = {"preset": "line", "epochs": LONG, "save": False}
    settings.update(overrides)
    return WeightDecayApp(RunConfig(**settings), pace=PACE)  # type: ignore[arg-type]


# ----- typing into the controls, as a person does --------------------------------------------


async def tab_to(pilot: Pilot, widget_id: str) -> None:
    """Press Tab until `widget_id` has the focus (at most once round the screen)."""
    app = pilot.app
    for _ in range(60):
        focused = app.focused
        if focused is not None and focused.id == widget_id:
            return
        send(app, "tab")  # type: ignore[arg-type]
        while app.focused is focused:  # Tab handled: the focus moved (Pilot.press would wait
            await pilot.pause(0.01)  # for an idle that a training app never reaches)
    raise AssertionError(f"Tab never reached #{widget_id}")


async def leave(pilot: Pilot) -> None:
    """Escape: nothing focused, so r and n are keys again."""
    send(pilot.app, "escape")  # type: ignore[arg-type]
    await wait_for(pilot, lambda: pilot.app.focused is None, "the focus to leave")


async def type_setting(pilot: Pilot, widget_id: str, text: str) -> None:
    """Tab to a field, clear it and type `text` (no Enter: it waits for r or n)."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    await tab_to(pilot, widget_id)
    box = app.query_one(f"#{widget_id}", Input)
    if box.value:
        send(app, "end", *["backspace"] * len(box.value))
        await wait_for(pilot, lambda: box.value == "", f"#{widget_id} to be cleared")
    send(app, *text)
    await wait_for(pilot, lambda: box.value == text, f"#{widget_id} == {text!r}")


async def choose(pilot: Pilot, widget_id: str, value: Any) -> None:
    """Tab to a Select, open it with Enter, type its option's first word, Enter."""
    app: WeightDecayApp = pilot.app  # type: ignore[assignment]
    await tab_to(pilot, widget_id)
    select: Select[Any] = app.query_one(f"#{widget_id}", Select)
    prompt = next(str(p) for p, v in select._options if v == value)
    send(app, "enter")
    await wait_for(pilot, lambda: select.expanded, f"#{widget_id}'s list to open")
    send(app, *prompt.split()[0])  # typing jumps to the option
    send(app, "enter")
    await wait_for(
        pilot, lambda: not select.expanded and select.value == value, f"#{widget_id} = {value!r}"
    )


async def press(pilot: Pilot, key: str) -> None:
    """r or n, from outside any field; waits for the run it starts."""
    live = live_of(pilot)
    before = live.current
    await leave(pilot)
    send(pilot.app, key)  # type: ignore[arg-type]
    await wait_for(pilot, lambda: live.current is not before, f"the run {key} starts")


def pending(app: WeightDecayApp) -> str:
    return str(app.query_one("#pending", Static).render())


def row_disabled(app: WeightDecayApp, widget_id: str) -> bool:
    return app.query_one(f"#{widget_id}-row").disabled


# ----- every setting reaches the next run ----------------------------------------------------


@sync
async def test_every_next_run_setting_set_by_keyboard_is_the_new_runs() -> None:
    app = paced_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        first = live.current
        await choose(pilot, "mode", "wd")
        await type_setting(pilot, "momentum", "0.5")
        await type_setting(pilot, "epochs", "4000")
        await type_setting(pilot, "batch-size", "7")
        await choose(pilot, "train-loss", "batch-mean")
        await choose(pilot, "model", "mlp")
        await type_setting(pilot, "hidden", "16,8")
        await choose(pilot, "activation", "tanh")
        await choose(pilot, "decay-bias", True)
        await type_setting(pilot, "seed", "5")
        await type_setting(pilot, "test-fraction", "0.3")
        await choose(pilot, "standardize", True)
        # Pending, not running: the status line still names the running run's settings.
        assert "changed (applies on r or n): mode, mom, epochs, batch, loss, model, hidden, " in (
            pending(app)
        )
        assert "mlp" not in status_of(app) and "l2 + sgd" in status_of(app)
        await press(pilot, "n")

        assert live.earlier == [first]  # n keeps the old run, dimmed
        config = live.current.config  # type: ignore[union-attr]
        assert live.trainer is not None and live.trainer.config == config
        chosen = {
            "reg": "wd",
            "momentum": 0.5,
            "epochs": 4000,
            "batch_size": 7,
            "train_loss": "batch-mean",
            "model": "mlp",
            "hidden": (16, 8),
            "activation": "tanh",
            "decay_bias": True,
            "seed": 5,
            "test_fraction": 0.3,
            "standardize": True,
        }
        assert {name: getattr(config, name) for name in chosen} == chosen
        # The new run really is an MLP 1 → 16 → 8 → 1 with tanh between its layers.
        model = live.trainer.model
        shapes = [tuple(p.shape) for p in model.parameters()]
        assert shapes == [(16, 1), (16,), (8, 16), (8,), (1, 8), (1,)]
        assert [type(m).__name__ for m in model.children()] == [
            "Linear", "Tanh", "Linear", "Tanh", "Linear",
        ]  # fmt: skip
        assert [p.shape for p in live.parameters] == shapes
        assert all(p.penalized for p in live.parameters)  # biases too
        assert "mlp 16×8" in status_of(app) and "wd + sgd" in status_of(app)
        # The controls now show the running run's settings: nothing pending.
        assert pending(app).startswith("the current run's settings")
        await running(pilot, min_epoch=2)


@sync
async def test_init_zeros_and_another_optimizer_reach_a_restart() -> None:
    app = paced_app(momentum=0.9)
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        first = live.current
        await choose(pilot, "init", "zeros")
        await choose(pilot, "optim", "adam")
        assert row_disabled(app, "momentum")  # SGD's only
        await press(pilot, "r")
        assert live.earlier == [] and first is not None and first.status == "stopped"
        config = live.current.config  # type: ignore[union-attr]
        assert (config.init, config.optimizer, config.momentum) == ("zeros", "adam", 0.0)
        assert live.trainer is not None and live.trainer.config == config


# ----- what does not apply, and what a preset brings ----------------------------------------


@sync
async def test_settings_that_do_not_apply_are_dimmed_skipped_by_tab_and_never_block() -> None:
    app = paced_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        assert row_disabled(app, "hidden") and row_disabled(app, "activation")  # linear
        assert not row_disabled(app, "momentum")
        await choose(pilot, "model", "mlp")
        assert not row_disabled(app, "hidden") and not row_disabled(app, "activation")
        await type_setting(pilot, "hidden", "64,x")
        await choose(pilot, "model", "linear")
        assert row_disabled(app, "hidden")
        # Tab goes round without stopping at what a linear model has not.
        await leave(pilot)
        visited = []
        for _ in range(len(SETTINGS) + 6):
            send(app, "tab")
            await pilot.pause(0.02)
            visited.append(app.focused.id if app.focused else None)
        assert "hidden" not in visited and "activation" not in visited and "model" in visited
        # An invalid field that does not apply does not keep r from starting a linear run.
        await press(pilot, "r")
        assert live.current is not None and live.current.config.model == "linear"


@sync
async def test_a_new_preset_brings_its_defaults_unless_the_field_was_changed() -> None:
    app = paced_app(epochs=LONG, standardize=True)  # line, full batch, these two given
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        batch, epochs = app.query_one("#batch-size", Input), app.query_one("#epochs", Input)
        scale = app.query_one("#standardize", Select)
        await type_setting(pilot, "test-fraction", "0.25")  # changed here: it stays
        await choose(pilot, "preset", "highdim")
        highdim = PRESET_DEFAULTS["highdim"]
        # Not changed since the run started: highdim's own, as next_run_config gives them;
        # the run length is the explorer's, whatever the problem.
        assert (batch.value, epochs.value) == ("5", str(LONG)) and scale.value is False
        assert app.query_one("#test-fraction", Input).value == "0.25"
        assert "highdim brings its own λ 0 and lr 0.003" in pending(app)
        # Back on the current run's problem, they show its values again.
        await choose(pilot, "preset", "line")
        assert (batch.value, epochs.value) == ("0", str(LONG)) and scale.value is True
        await choose(pilot, "preset", "highdim")
        await press(pilot, "n")
        config = live.current.config
        assert (config.preset, config.batch_size, config.epochs) == ("highdim", 5, LONG)
        assert (config.standardize, config.test_fraction) == (False, 0.25)
        assert (config.lam, config.lr) == (highdim.lam, highdim.lr)

        await type_setting(pilot, "batch-size", "9")
        await choose(pilot, "preset", "poly")
        assert (batch.value, epochs.value) == ("9", str(LONG))  # typed: stays
        await press(pilot, "r")
        config = live.current.config
        assert (config.preset, config.batch_size, config.epochs) == ("poly", 9, LONG)


# ----- invalid values: the engine's words, and r refuses ----------------------------------


INVALID = [  # (field, what is typed, the same value given to wdtui run)
    ("hidden", "64,x", ["--model", "mlp", "--hidden", "64,x"]),
    ("batch-size", "-1", ["--batch-size", "-1"]),
    ("momentum", "2", ["--momentum", "2"]),
    ("seed", "-3", ["--seed", "-3"]),
    ("test-fraction", "1", ["--test-fraction", "1"]),
    ("epochs", "x", ["--epochs", "-1"]),
]


@sync
async def test_an_invalid_field_says_what_wdtui_run_says_and_r_keeps_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = {}
    for widget_id, _, cli in INVALID:
        code, _, stderr = call_wdtui(capsys, "run", "--no-save", *cli)
        assert code == 2
        refused[widget_id] = stderr
    app = paced_app(model="mlp", hidden=(4,))
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        for widget_id, text, _ in INVALID:
            valid = app.query_one(f"#{widget_id}", Input).value
            await type_into(pilot, widget_id, text, enter=False)
            error = error_of(app, widget_id)
            if widget_id == "epochs":  # argparse words a non-number its own way
                assert error == "epochs must be a whole number >= 0, got 'x'"
                assert "epochs must be a whole number >= 0, got -1" in refused["epochs"]
            else:
                assert error and error in refused[widget_id]  # the command line's words
            await leave(pilot)
            send(app, "r")
            label = app.query_one(f"#{widget_id}-row").query_one("Label").render()
            note = f"fix {label} to start a run: {error}"
            await wait_for(pilot, lambda note=note: note in status_of(app), "the refusal")
            assert live.current is run and run is not None and run.status == "running"
            await type_into(pilot, widget_id, valid, enter=False)
            assert error_of(app, widget_id) == ""
        await epochs_advance(pilot)  # it trained on throughout


@sync
async def test_enter_in_an_invalid_next_run_field_leaves_it_so_r_says_what_to_fix() -> None:
    app = paced_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        await type_into(pilot, "epochs", "abc", enter=False)
        box = app.query_one("#epochs", Input)
        send(app, "enter")
        await wait_for(pilot, lambda: app.focused is not box, "Enter to leave the field")
        assert box.value == "abc" and error_of(app, "epochs").endswith("(not applied)")
        send(app, "r")  # a key again, not a letter typed into the field
        await wait_for(pilot, lambda: "fix epochs to start a run" in status_of(app), "refusal")
        assert box.value == "abc" and live.current is run


@sync
async def test_init_zeros_with_an_mlp_is_refused_in_the_engines_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, stderr = call_wdtui(capsys, "run", "--no-save", "--model", "mlp", "--init", "zeros")
    app = paced_app()
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        await choose(pilot, "init", "zeros")
        assert error_of(app, "init") == ""  # fine for a linear model
        await choose(pilot, "model", "mlp")
        error = error_of(app, "init")
        assert error.startswith("--init zeros applies to --model linear only") and error in stderr
        await leave(pilot)
        send(app, "n")
        await wait_for(pilot, lambda: f"fix init to start a run: {error}" in status_of(app), "no")
        assert live.current is run and live.earlier == []


# ----- the explorer's run is wdtui run's -----------------------------------------------------


@sync
async def test_a_run_from_the_controls_is_wdtui_runs_with_the_same_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = [
        "--preset", "line", "--lam", "0.05", "--reg", "wd", "--optimizer", "sgd",
        "--momentum", "0.5", "--epochs", "30", "--batch-size", "3", "--train-loss", "batch-mean",
        "--model", "mlp", "--hidden", "8,4", "--activation", "tanh", "--init", "default",
        "--decay-bias", "--seed", "7", "--test-fraction", "0.4", "--standardize",
    ]  # fmt: skip
    code, _, _ = call_wdtui(capsys, "run", *options, "--runs-dir", str(tmp_path / "cli"))
    assert code == 0
    (cli_dir,) = (tmp_path / "cli").iterdir()

    app = paced_app(save=True, runs_dir=str(tmp_path / "ui"))
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        controls = app.query_one(Controls)
        for widget_id, value in (
            ("mode", "wd"), ("model", "mlp"), ("activation", "tanh"), ("init", "default"),
            ("train-loss", "batch-mean"), ("decay-bias", True), ("standardize", True),
        ):  # fmt: skip
            controls.query_one(f"#{widget_id}", Select).value = value
        for widget_id, text in (
            ("lam", "0.05"), ("momentum", "0.5"), ("epochs", "30"), ("batch-size", "3"),
            ("hidden", "8,4"), ("seed", "7"), ("test-fraction", "0.4"),
        ):  # fmt: skip
            controls.query_one(f"#{widget_id}", Input).value = text
        send(app, "enter")  # nothing focused: the λ typed is applied by its field's Enter
        app.query_one("#lam", Input).focus()
        await pilot.pause(0.05)
        send(app, "enter")
        await wait_for(pilot, lambda: live.lam == 0.05, "λ = 0.05")
        await press(pilot, "r")
        await wait_for(pilot, app.explorer.settled, "the 30 epochs")
        run = live.current
        assert run is not None and run.status == "completed" and run.run_dir
        ui_dir = Path(run.run_dir)

    def settings(folder: Path) -> dict[str, object]:
        saved = json.loads((folder / "config.json").read_text())
        saved.pop("runs_dir")
        return saved

    assert settings(ui_dir) == settings(cli_dir)
    assert RunConfig.from_dict(settings(ui_dir) | {"runs_dir": "x"}).model == "mlp"
    ui_weights = torch.load(ui_dir / "weights.pt")
    cli_weights = torch.load(cli_dir / "weights.pt")
    assert ui_weights.keys() == cli_weights.keys()
    assert all(torch.equal(ui_weights[k], cli_weights[k]) for k in ui_weights)


# ----- 80×24 ---------------------------------------------------------------------------------


@sync
async def test_at_80x24_tab_reaches_every_field_and_scrolls_it_into_view() -> None:
    app = paced_app(preset="highdim", model="mlp", hidden=(8,))
    async with app.run_test(size=(80, 24)) as pilot:
        await running(pilot, min_epoch=1)
        controls = app.query_one(Controls)
        assert controls.max_scroll_y > 0  # it does not fit: reaching a field must scroll
        wanted = ["lam", "lr", "preset", *(s.id for s in SETTINGS)]
        reached = []
        await leave(pilot)
        for _ in range(len(wanted) + 4):
            before = app.focused
            send(app, "tab")
            await wait_for(pilot, lambda before=before: app.focused is not before, "Tab")
            focused = app.focused
            if focused is not None and focused.id in wanted:
                await wait_for(
                    pilot,
                    lambda f=focused: controls.scrollable_content_region.contains_region(f.region),
                    f"#{focused.id} in view",
                )
                reached.append(focused.id)
            if len(reached) == len(wanted):
                break
        assert reached == wanted
