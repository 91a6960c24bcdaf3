"""The explorer's status line warns while the live run's lr·2λ ≥ 1 (engine/diagnosis.py's rule
and words), and follows λ and lr as they change live."""

from __future__ import annotations

from engine.config import RunConfig
from engine.diagnosis import decay_step_warning
from engine.events import Epoch, Finished, Started, StateChanged
from support.tui import SIZE, keys, make_app, running, status_of, sync, type_into, wait_for
from tui.state.run_state import RunState
from tui.widgets.status_line import status_text


def epoch(n: int, lam: float, lr: float) -> Epoch:
    return Epoch(n, 1.0, 1.0, lam, 1.0 + lam, 1.0, lam, lr, 0.01 * n)


def warning_line(run: RunState) -> str | None:
    lines = [line for line in status_text(run, None).plain.splitlines() if line.startswith("⚠")]
    assert len(lines) <= 1
    return lines[0] if lines else None


def test_the_status_text_warns_from_lr_times_2_lam_equal_to_1_and_follows_live_changes() -> None:
    config = RunConfig(preset="line", lam=50.0, lr=0.01).resolved()
    run = RunState(1, config)
    expected = decay_step_warning(config, 50.0, 0.01)
    assert expected is not None
    assert warning_line(run) == f"⚠ {expected}"  # starting: from the config, before any event
    run.apply(Started(config.to_dict(), "cpu", ()))
    run.apply(epoch(1, 50.0, 0.01))
    assert warning_line(run) == f"⚠ {expected}"
    run.apply(epoch(2, 49.9, 0.01))  # λ lowered live: 0.998
    assert warning_line(run) is None
    run.apply(epoch(3, 49.9, 0.02))  # lr doubled live: 1.996
    assert warning_line(run) == f"⚠ {decay_step_warning(config, 49.9, 0.02)}"
    assert "lr·2λ = 2 ≥ 1" in (warning_line(run) or "")
    run.apply(StateChanged("paused"))
    assert warning_line(run) is not None  # still the live run
    run.apply(StateChanged("running"))
    run.apply(Finished("completed", 3, "", {}))
    assert warning_line(run) is None  # no longer training


def test_the_status_text_has_no_warning_for_adam_or_a_small_step() -> None:
    adam = RunState(1, RunConfig(optimizer="adam", lam=100.0).resolved())
    assert warning_line(adam) is None  # Adam normalizes the step: lr·2λ says nothing
    adamw = RunState(1, RunConfig(optimizer="adamw", reg="wd", lam=100.0).resolved())
    assert warning_line(adamw) is not None  # decoupled: w ← w − lr·2λ·w
    calm = RunState(1, RunConfig(preset="highdim").resolved())
    assert warning_line(calm) is None
    assert "\n" not in status_text(calm, None).plain


@sync
async def test_the_explorer_warns_when_lambda_or_lr_changes_live() -> None:
    app = make_app(lam=30.0, lr=0.01)  # lr·2λ = 0.6
    live = app.explorer.live
    async with app.run_test(size=SIZE) as pilot:
        await running(pilot)
        run = live.current
        assert run is not None
        assert "⚠" not in status_of(app)
        await keys(pilot, "asterisk")  # lr × 2: 1.2
        await wait_for(pilot, lambda: "⚠ lr·2λ = 1.2 ≥ 1" in status_of(app), "the warning")
        assert "lower lr or λ" in status_of(app) and run.status == "running"
        await type_into(pilot, "lam", "20")  # 0.8
        await wait_for(pilot, lambda: "⚠" not in status_of(app), "the warning to go")
        assert run.lam == 20.0 and run.lr == 0.02
