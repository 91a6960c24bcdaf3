"""`d`: the decay, step by step, for the live run (issue 13).

Six panels, fed by the current run's `RunState` as the explorer's timer fills it (this screen's
own timer folds the inbox too, so it is live whichever screen the timer of is running):

1. data vs decay: ‖data part‖, ‖decay part‖ and ‖Δw‖ of each epoch's update, and their ratio;
2. each decayed weight's ‖w‖² over the epochs;
3. the shrink per step and its τ for the λ, lr, optimizer and momentum in use;
4. BatchNorm: each scale-invariant weight's effective lr, lr/‖W‖²;
5. early stopping walks the ridge path (a linear regression with a closed form);
6. which parameters decay, and the keys that change it for the next run.

The torch-backed pieces (the parameter counts, the ridge walk) are imported when the view
opens: by then the engine has loaded (a run is training).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Select, Static

from tui.state.decay_view import (
    BALANCE_WORDS,
    BATCH_NORM_WORDS,
    NO_BATCH_NORM,
    balance,
    effective_lr_rows,
    setting_words,
    short,
    timescale_words,
    walk_lams,
)
from tui.state.redraw import REFRESH_HZ
from tui.state.run_state import RunState
from tui.theme import NORM_COLOR, PATH_COLORS, TEST_COLOR, TRAIN_COLOR
from tui.widgets.decay_charts import EpochChart, Line, WalkChart, WalkCurve
from tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from engine.ridge import RidgePath
    from tui.screens.explorer import ExplorerScreen

WIDE_FROM = (110, 30)  # columns, rows: from here the panels sit in two columns, unscrolled
CHART_DUTY = 8.0  # a chart is redrawn once 8× its last frame's cost has passed (and 0.2 s)
MIN_FRAME_S = 0.2
# The next run's settings the toggle keys flip: the explorer's Controls widget ids.
# The ridge path is one SVD of the training rows, on the UI thread: bounded.
MAX_WALK_VALUES = 4_000_000
TOGGLES = {"decay-bias": "biases", "decay-norm": "BN γ, β"}


class DecayScreen(Screen[None]):
    """`DecayScreen(explorer)`: the decay of the explorer's live run, step by step."""

    AUTO_FOCUS = "#decay-body"  # the panels scroll with the arrow keys at once (at 80×24)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,d", "close", "Back", tooltip="Close the decay view"),
        Binding(
            "space",
            "explorer('pause')",
            "Pause",
            tooltip="Pause or resume the training run (the view follows it)",
        ),
        Binding(
            "plus,equals_sign",
            "explorer('lam_up')",
            "λ↑",
            key_display="+",
            tooltip="Multiply λ (lambda, the weight decay strength) by 10, from the running "
            "trainer's next step: the shrink and τ follow",
        ),
        Binding(
            "minus",
            "explorer('lam_down')",
            "λ↓",
            key_display="-",
            tooltip="Divide λ (lambda, the weight decay strength) by 10, from the running "
            "trainer's next step",
        ),
        Binding(
            "b",
            "flip('decay-bias')",
            "Decay biases",
            tooltip="For the next run: decay the biases too, or the weights only (the "
            "explorer's decay control; r restarts with it)",
        ),
        Binding(
            "g",
            "flip('decay-norm')",
            "Decay BN γβ",
            tooltip="For the next run: decay BatchNorm's scale and shift (γ, β) too, or leave "
            "them free (an MLP with --norm batch; r restarts with it)",
        ),
        Binding(
            "r",
            "explorer('restart')",
            "Restart",
            tooltip="A new run from the start with the controls' settings (the toggles "
            "included); the view follows it",
        ),
        Binding(
            "asterisk",
            "explorer('lr_up')",
            "lr×2",
            key_display="*",
            tooltip="Double the learning rate, from the running trainer's next step",
        ),
        Binding(
            "slash",
            "explorer('lr_down')",
            "lr÷2",
            key_display="/",
            tooltip="Halve the learning rate, from the running trainer's next step",
        ),
    ]

    DEFAULT_CSS = """
    DecayScreen { layout: vertical; background: $background; }
    DecayScreen #decay-head { height: 1; padding: 0 1; color: $text-muted; }
    DecayScreen #decay-body { height: 1fr; scrollbar-size-vertical: 1; }
    DecayScreen #decay-columns { layout: vertical; height: auto; }
    DecayScreen .column { width: 1fr; height: auto; }
    DecayScreen .panel {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-muted;
    }
    DecayScreen .chart { height: 9; }
    DecayScreen .words { height: auto; padding: 0 1; }
    DecayScreen .note { color: $text-muted; }
    DecayScreen.-wide #decay-columns { layout: horizontal; height: 100%; }
    DecayScreen.-wide .column { height: 100%; }
    DecayScreen.-wide .panel.-charted { height: 1fr; }
    DecayScreen.-wide .chart { height: 1fr; min-height: 6; }
    """

    def __init__(self, explorer: ExplorerScreen) -> None:
        super().__init__()
        self._explorer = explorer
        self._live = explorer.live
        self._shown: dict[str, str] = {}  # each text widget's last text: skip a same update
        self._drawn_version = -1
        self._drawn_at = 0.0
        self._run_id: int | None = None
        self._curve_key: tuple[int, float] | None = None  # (run id, lr) of the walk curve
        self._curve: WalkCurve | None = None
        self._walk_path: RidgePath | None = None
        self._walk_note = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="decay-head")
        with VerticalScroll(id="decay-body"), Horizontal(id="decay-columns"):
            with Vertical(classes="column", id="decay-left"):
                with Vertical(id="split-box", classes="panel -charted"):
                    yield EpochChart(id="split-chart").add_class("chart")
                    yield Static("", id="split-words", classes="words")
                with Vertical(id="tau-box", classes="panel"):
                    yield Static("", id="tau-words", classes="words")
                with Vertical(id="layers-box", classes="panel -charted"):
                    yield EpochChart(id="layers-chart").add_class("chart")
                    yield Static("", id="layers-words", classes="words")
            with Vertical(classes="column", id="decay-right"):
                with Vertical(id="params-box", classes="panel"):
                    yield Static("", id="params-words", classes="words")
                with Vertical(id="bn-box", classes="panel"):
                    yield Static("", id="bn-words", classes="words")
                with Vertical(id="walk-box", classes="panel -charted"):
                    yield WalkChart(id="walk-chart").add_class("chart")
                    yield Static("", id="walk-words", classes="words")
        yield KeyFooter()

    def on_mount(self) -> None:
        titles = {
            "split-box": "1 data vs decay: each epoch's update ‖Δw‖, split",
            "tau-box": "3 the decay's shrink per step and its τ",
            "layers-box": "2 ‖w‖² per decayed weight",
            "params-box": "6 which parameters decay",
            "bn-box": "4 BatchNorm: effective lr = lr/‖W‖²",
            "walk-box": "5 early stopping walks the ridge path",
        }
        for box, title in titles.items():
            self.query_one(f"#{box}").border_title = title
        self._fit(self.app.size.width, self.app.size.height)
        self.set_interval(1 / REFRESH_HZ, self._tick)

    def on_screen_resume(self) -> None:
        self._tick(force=True)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(width >= WIDE_FROM[0] and height >= WIDE_FROM[1], "-wide")

    # ----- keys -------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_explorer(self, action: str) -> None:
        """The explorer's own key (λ, lr, pause, restart), so the view shows what it does."""
        getattr(self._explorer, f"action_{action}")()
        self._tick(force=True)

    def action_flip(self, widget_id: str) -> None:
        """Flip a next-run setting in the explorer's controls (they show it; r uses it)."""
        select = self._explorer.query_one(f"#{widget_id}", Select)
        select.value = not bool(select.value)
        self._show_params()

    def next_run_choice(self, widget_id: str) -> bool:
        """What the explorer's controls hold for the next run."""
        return bool(self._explorer.query_one(f"#{widget_id}", Select).value)

    # ----- drawing ----------------------------------------------------------------------------

    def _tick(self, force: bool = False) -> None:
        if not self.is_current:  # closing (its widgets going), or under another screen
            return
        live = self._live
        live.apply_events()
        run = live.current
        if run is None:
            self._text("decay-head", "no run yet: the view fills in once one trains")
            return
        if run.run_id != self._run_id:
            self._new_run(run)
        lam, lr = (live.lam, live.lr) if live.active else (run.lam, run.lr)
        head = f"the decay, step by step · {run.label} · epoch {run.epoch:,} · {run.status}"
        self._text("decay-head", head)
        self._text("tau-words", f"{timescale_words(run, lam, lr)}\n({setting_words(run, lam, lr)})")
        now = time.monotonic()
        due = now - self._drawn_at >= max(MIN_FRAME_S, CHART_DUTY * self._chart_cost())
        if run.version == self._drawn_version or not (due or force):
            return
        self._drawn_version, self._drawn_at = run.version, now
        self._show_params()  # the parameters come with Started, after the run is made
        self._show_split(run)
        self._show_layers(run)
        self._show_batch_norm(run)
        self._show_walk(run)

    def _chart_cost(self) -> float:
        return sum(chart.last_cost_s for chart in self.query(".chart").results(EpochChart)) + (
            self.query_one(WalkChart).last_cost_s
        )

    def _text(self, widget_id: str, text: str) -> None:
        if self._shown.get(widget_id) != text:
            self._shown[widget_id] = text
            self.query_one(f"#{widget_id}", Static).update(Text(text))  # never markup

    def _new_run(self, run: RunState) -> None:
        self._run_id = run.run_id
        self._drawn_version = -1
        self._curve_key, self._curve, self._walk_path = None, None, None
        self._walk_note = self._walk_setup(run)
        self._show_params()

    def _show_split(self, run: RunState) -> None:
        lines = [
            Line(run.data_update_norm, TRAIN_COLOR, "data"),
            Line(run.decay_update_norm, TEST_COLOR, "decay"),
            Line(run.update_norm, NORM_COLOR, "‖Δw‖"),
        ]
        self.query_one("#split-chart", EpochChart).show(lines, run.epochs_seen)
        self._text("split-words", f"{balance(run).words()}\n{BALANCE_WORDS}")

    def _show_layers(self, run: RunState) -> None:
        lines = [
            Line(series, PATH_COLORS[i % len(PATH_COLORS)], name)
            for i, (name, series) in enumerate(
                zip(run.layer_names, run.layer_sq_norms, strict=False)
            )
        ]
        self.query_one("#layers-chart", EpochChart).show(lines, run.epochs_seen)
        last = run.last
        if not run.layer_names:
            words = "no decayed weights"
        elif last is None or not last.layer_sq_norms:
            words = "no epoch with per-weight norms yet"
        else:
            words = "now " + "  ".join(
                f"{name} {short(value)}"
                for name, value in zip(run.layer_names, last.layer_sq_norms, strict=False)
            )
        self._text("layers-words", words)

    def _show_batch_norm(self, run: RunState) -> None:
        if not run.scale_invariant:
            self._text("bn-words", NO_BATCH_NORM)
            self.query_one("#bn-words").add_class("note")
            return
        self.query_one("#bn-words").remove_class("note")
        rows = [
            f"{name}: {short(now)}" + (f"  (epoch 1: {short(first)})" if first is not None else "")
            for name, now, first in effective_lr_rows(run)
        ]
        self._text("bn-words", "\n".join([*rows, BATCH_NORM_WORDS]))

    def _show_params(self) -> None:
        from engine.regularization import parameter_counts  # torch-backed: loaded by now

        run = self._live.current
        if run is None:
            return
        counts = parameter_counts(run.parameters)
        decayed = [p.name for p in run.parameters if p.penalized]
        free = [p.name for p in run.parameters if not p.penalized]
        lines = [counts.describe()]
        if run.config.reg == "none":
            lines.append("mode none: nothing decays (λ is 0)")
        lines.append(f"decayed: {', '.join(decayed) or 'none'}")
        lines.append(f"free: {', '.join(free) or 'none'}")
        choices = [
            f"{what} {'decayed' if self.next_run_choice(wid) else 'free'} ({key})"
            for (wid, what), key in zip(TOGGLES.items(), ("b", "g"), strict=True)
        ]
        lines.append(f"next run: {', '.join(choices)}; r restarts with them")
        self._text("params-words", "\n".join(lines))

    # ----- the ridge walk ---------------------------------------------------------------------

    def _walk_setup(self, run: RunState) -> str:
        """Why the walk is not shown for this run, or ""; keeps the path GD walks."""
        from engine.early_stopping import walk_caveat, walk_path  # torch-backed: loaded by now

        trainer = self._live.trainer
        if trainer is None or trainer.config is not run.config:
            return "not shown: the run's data are not at hand"
        dataset = trainer.dataset
        if dataset.classes is not None:  # known before the run's Started arrives
            return "not shown: the ridge path is a regression's (mean squared error)"
        if run.config.model != "linear":
            return f"not shown: {walk_caveat(run.config)}, with a closed-form ridge path"
        if dataset.x_train.numel() > MAX_WALK_VALUES:
            return f"not shown: over {MAX_WALK_VALUES:,} training values to solve on screen"
        self._walk_path = walk_path(dataset.x_train, dataset.y_train)
        return ""

    def _show_walk(self, run: RunState) -> None:
        chart = self.query_one(WalkChart)
        box = self.query_one("#walk-box")
        if self._walk_path is None:
            chart.display = False
            box.remove_class("-charted")
            self._text("walk-words", self._walk_note)
            return
        chart.display = True
        box.add_class("-charted")
        key = (run.run_id, run.lr)
        if key != self._curve_key:  # the λ grid follows lr: once per run and lr
            self._curve_key = key
            self._curve = self._walk_curve(run)
        chart.show(self._curve, run)
        self._text("walk-words", self._walk_words(run))

    def _trainer_dataset(self) -> Any:
        trainer = self._live.trainer
        return None if trainer is None else trainer.dataset

    def _walk_curve(self, run: RunState) -> WalkCurve | None:
        from engine.early_stopping import ridge_curve
        from engine.early_stopping import walk_lams as grid

        path = self._walk_path
        if path is None:
            return None
        steps = max(1, run.total_epochs * run.steps_per_epoch)
        lams = grid(max(run.lr, 1e-300), steps)
        curve = ridge_curve(path, lams, include_bias=run.config.decay_bias)
        return WalkCurve(curve.lams, curve.weight_sq_norms)

    def _walk_words(self, run: RunState) -> str:
        from engine.early_stopping import ridge_curve, walk_caveat

        last = run.last
        if last is None or self._walk_path is None:
            return "λ_t = 1/(2·lr·t): gradient descent after t steps sits near ridge at λ_t"
        steps = run.epoch * run.steps_per_epoch
        lam_t = float(walk_lams(run, _epochs([run.epoch]))[0])
        lines = [f"λ_t = 1/(2·lr·t): after t = {steps:,} steps, GD sits near ridge at λ_t"]
        if math.isfinite(lam_t) and lam_t > 0:
            dataset = self._trainer_dataset()
            x_test = None if dataset is None else dataset.x_test
            y_test = None if dataset is None else dataset.y_test
            at = ridge_curve(
                self._walk_path, [lam_t], x_test, y_test, include_bias=run.config.decay_bias
            )
            text = (
                f"λ_t {lam_t:.3g}: run ‖w‖² {short(last.weight_sq_norm)}, "
                f"ridge {short(at.weight_sq_norms[0])}"
            )
            if at.test_losses is not None and last.test_loss is not None:
                text += f"; test {short(last.test_loss)} vs {short(at.test_losses[0])}"
            lines.append(text)
        caveat = walk_caveat(run.config)
        if caveat:
            lines.append(f"note: {caveat}")
        return "\n".join(lines)


def _epochs(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


__all__ = ["DecayScreen"]
