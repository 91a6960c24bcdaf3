"""The explorer's screen: the controls, the loss chart and the weight tables of the live run.

Threading (docs/design.md): the trainer puts its events into an `EventInbox` on its own thread,
and posts `TrainerWoke` for the rare state events. A timer on the UI thread drains the inbox into
the runs' states ten times a second and redraws what changed, as often as `RedrawSchedule`
allows: nothing is rendered once per epoch, and the trainer never waits.

The app owns the rest: loading the engine (`engine_loaded` says when a run can start), the other
screens (the help, the sweep view, whose best λ comes back through `apply_sweep_lam`), and
quitting, which closes `live` and shows QUIT_NOTE here (`set_note`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from engine.config import ConfigError, RunConfig, next_run_config
from engine.events import Epoch, Event
from tui.datasets import DatasetCache
from tui.inbox import EventInbox
from tui.state.lam_steps import step_lam
from tui.state.live_run import LiveRun, RunNotStarted, cannot_start
from tui.state.redraw import REFRESH_HZ, RedrawSchedule
from tui.widgets.controls import Controls
from tui.widgets.loss_chart import LossChart, legend_text
from tui.widgets.readout import Readout
from tui.widgets.status_line import StatusLine
from tui.widgets.weight_table import WeightPanel

FINISHING_NOTE = "the previous run is finishing its step: it stops and saves in the background"
NARROW_BELOW = 110  # columns; narrower terminals (80×24 must still fit) get the -narrow layout


@dataclass
class TrainerWoke(Message):
    """A state event (started, paused, finished) is waiting in the inbox: drain it now."""


class ExplorerScreen(Screen[None]):
    """`ExplorerScreen(config, datasets)`: the app's first screen; `live` holds its runs."""

    CSS_PATH = "explorer.tcss"
    # Nothing focused, so single-letter keys work at once; Tab or l/L focus a field. ("" rather
    # than None: a screen's None means "use the app's".)
    AUTO_FOCUS = ""

    # The app's own keys (help, sweep, quit) are listed here too, for the Footer's order.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("space", "pause", "Pause"),
        Binding("plus,equals_sign", "lam_up", "λ×10", key_display="+"),
        Binding("minus", "lam_down", "λ÷10", key_display="-"),
        Binding("asterisk", "lr_up", "lr×2", key_display="*"),
        Binding("slash", "lr_down", "lr÷2", key_display="/"),
        Binding("y", "toggle_log", "Log y"),
        # Every run keeps its own folder: r and n both stop and save the current run first.
        Binding(
            "r",
            "restart",
            "Restart",
            tooltip="A new run from the start with the controls' settings; the current run is "
            "stopped, saved in its own folder, and leaves the chart",
        ),
        Binding(
            "n",
            "new_run",
            "New run",
            tooltip="A new run with the controls' settings; the current run is stopped, saved "
            "in its own folder, and stays on the chart, dimmed",
        ),
        Binding("s", "stop", "Stop"),
        Binding("w", "app.sweep", "Sweep λ"),
        Binding(
            "q",
            "app.quit",
            "Quit",
            tooltip="Stop the run and the sweep, wait until they are saved, and quit "
            "(q again: quit at once)",
        ),
        Binding("l", "edit('lam')", "Edit λ", show=False),
        Binding("L", "edit('lr')", "Edit lr", show=False),
        Binding("c", "clear_earlier", "Clear earlier runs", show=False),
        Binding("escape", "leave_input", "Leave field", show=False),
    ]

    def __init__(self, config: RunConfig, datasets: DatasetCache) -> None:
        super().__init__()
        self.inbox: EventInbox[Event] = EventInbox(self._wake, quiet=Epoch)
        self.live = LiveRun(config, datasets, self.inbox)
        self.log_y = True
        self.schedule = RedrawSchedule()
        self._note = ""
        self._engine_ready = False
        # What the weight tables show of the current run, besides its statistics.
        self._truth_shown = False
        self._optimum_lam: float | None = None
        self._legend_plain = ""

    def _wake(self) -> None:
        self.post_message(TrainerWoke())

    # ----- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Controls(self.live.initial, id="controls")
            with Vertical(id="chart-box"):
                yield LossChart(id="chart")
                yield Static(id="legend")
                yield Readout(id="readout")
        yield WeightPanel(id="weights")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Kept, not queried on every tick.
        self._controls = self.query_one(Controls)
        self._chart = self.query_one(LossChart)
        self._weights = self.query_one(WeightPanel)
        self._status = self.query_one(StatusLine)
        self._readout = self.query_one(Readout)
        self._legend = self.query_one("#legend", Static)
        self.query_one("#chart-box").border_title = "loss per epoch"
        self._status.show(None, None, loading=True)
        self.set_interval(1 / REFRESH_HZ, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    # ----- what the app tells it --------------------------------------------------------------

    def engine_loaded(self, error: str) -> None:
        """The engine is imported and the first run's data loaded, unless `error` says why not."""
        self._engine_ready = True
        if error:
            self.set_note(error)
        elif self.live.current is None:
            self._start(self.live.initial, keep_current=False)

    def set_note(self, text: str) -> None:
        """A line under the status (an error, the quitting note); "" clears it."""
        self._note = text
        if self.is_mounted:
            self._status.show(self.live.current, None, text)

    def apply_sweep_lam(self, lam: float) -> None:
        """The sweep's best λ, for the live run (or, the run over, for the next)."""
        live = self.live.active
        if not self._apply("lam", lam):
            return
        # markup=False: notifications parse markup by default; these hold only numbers, but
        # nothing shown here should depend on that.
        if live:
            self.notify(f"λ = {lam:g}, the sweep's best, applied to the live run", markup=False)
        else:
            self.notify(
                f"λ = {lam:g}, the sweep's best, set for the next run (r restarts)", markup=False
            )

    def settled(self) -> bool:
        """The run has finished and every widget shows its final state (tests, snapshots)."""
        run = self.live.current
        return (
            run is not None
            and not run.active
            and not self.inbox.pending()
            and self.schedule.chart_shows(run.version)
            and (run.param_stats is None or self.schedule.tables_show(run.stats_version))
        )

    # ----- runs -------------------------------------------------------------------------------

    def _start(self, config: RunConfig, keep_current: bool) -> None:
        try:
            if not self.live.start(config, keep_current=keep_current):
                return
        except RunNotStarted as exc:
            self.set_note(str(exc))
            return
        live = self.live
        self.set_note(FINISHING_NOTE if live.finishing else "")
        self._controls.show_running(live.lam, live.lr)
        if live.current is not None:
            self._controls.set_epochs(live.current.total_epochs)
        config = live.base  # the new run's, resolved
        self._weights.setup(
            live.parameters,
            live.feature_names,
            live.shows_weights,
            show_optimum=live.ridge is not None,
            show_truth=config.data is None,  # the presets know their generating weights
            standardized=bool(config.standardize),
        )
        self._truth_shown, self._optimum_lam = False, None
        self.schedule.new_run()
        self._redraw()

    def _next_config(self) -> RunConfig | None:
        """The config for a restart / new run: the controls' settings and the chosen λ/lr."""
        mode, optimizer, preset, epochs = self._controls.restart_settings()
        if epochs is None:
            self.set_note("epochs is not a valid number: fix it to restart")
            return None
        live = self.live
        try:
            return next_run_config(
                live.base,
                live.initial,
                reg=mode,
                optimizer=optimizer,
                preset=preset,
                epochs=epochs,
                lam=live.lam,
                lr=live.lr,
            )
        except ConfigError as exc:
            self.set_note(cannot_start(exc))
            return None

    # ----- rendering, on a timer --------------------------------------------------------------

    def _tick(self) -> None:
        self.live.apply_events()
        self._redraw()

    @on(TrainerWoke)
    def _woke(self) -> None:
        self._tick()

    def _redraw(self) -> None:
        run = self.live.current
        rate = run.epochs_per_second() if run is not None else None
        self._status.show(run, rate, self._note, loading=not self._engine_ready)
        if run is None:
            return
        now = time.monotonic()
        earlier = self.live.earlier
        if self.schedule.chart_due((run.run_id, self.log_y, len(earlier)), run.version, now):
            self._chart.show(run, earlier, self.log_y)
            legend = legend_text(run, earlier, self.log_y)
            if legend.plain != self._legend_plain:  # rarely changes: skip the layout pass
                self._legend_plain = legend.plain
                self._legend.update(legend)
            self._readout.show(run)
        panel = self._weights
        if run.param_stats is not None and self.schedule.tables_due(
            run.stats_version, run.active, now
        ):
            panel.update_stats(run.param_stats)
        if run.true_weights is not None and not self._truth_shown:
            self._truth_shown = True
            panel.update_truth(run.true_weights)
        ridge = self.live.ridge
        if ridge is not None and run.lam != self._optimum_lam:
            # The closed form for the λ in use: one small solve, only when λ changes.
            self._optimum_lam = run.lam
            panel.update_optimum(ridge.as_parameters(run.lam), run.lam)

    # ----- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Quitting closes the runs: then only quitting (at once, the app's q) is left to do.
        return not self.live.closed

    def _apply(self, which: Literal["lam", "lr"], value: float) -> bool:
        """Use λ or lr = `value` from now on; an invalid one is shown beside its field and
        changes nothing."""
        try:
            self.live.use(which, value)
        except ConfigError as exc:
            self._controls.show_error(which, f"{exc} (not applied)")
            return False
        self._controls.show_running(self.live.lam, self.live.lr)
        return True

    @on(Controls.ValueSubmitted)
    def _value_submitted(self, message: Controls.ValueSubmitted) -> None:
        # An applied value leaves the field, so the single-letter keys work again; a value the
        # trainer refuses keeps the focus, with its error shown.
        if self._apply(message.which, message.value):
            self.set_focus(None)

    def action_lam_up(self) -> None:
        self._apply("lam", step_lam(self.live.lam, up=True))

    def action_lam_down(self) -> None:
        self._apply("lam", step_lam(self.live.lam, up=False))

    def action_lr_up(self) -> None:
        self._apply("lr", self.live.lr * 2)

    def action_lr_down(self) -> None:
        self._apply("lr", self.live.lr / 2)

    def action_pause(self) -> None:
        self.live.toggle_pause()

    def action_stop(self) -> None:
        self.live.stop()

    def action_restart(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=False)

    def action_new_run(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=True)

    def action_clear_earlier(self) -> None:
        self.live.earlier.clear()
        self._redraw()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self._redraw()

    def action_edit(self, which: str) -> None:
        self._controls.query_one(f"#{which}", Input).focus()

    def action_leave_input(self) -> None:
        # Leaving a field drops an unapplied edit: the fields show what the trainer uses.
        self.set_focus(None)
        self._controls.show_running(self.live.lam, self.live.lr)


__all__ = ["FINISHING_NOTE", "ExplorerScreen", "TrainerWoke"]
