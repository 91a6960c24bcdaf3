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
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from engine.config import ConfigError, RunConfig, next_run_config
from engine.events import Epoch, Event, WeightsSnapshot
from tui.datasets import DatasetCache
from tui.download import (
    Download,
    archive_name,
    deliver,
    deliver_saved,
    folder_note,
    snapshot_downloads,
    snapshot_note,
)
from tui.export import export_chart
from tui.inbox import EventInbox
from tui.screens.decay_screen import DecayScreen
from tui.screens.runs_screen import RunsScreen
from tui.state.lam_steps import step_lam
from tui.state.live_run import LiveRun, RunNotStarted, cannot_start
from tui.state.pace import faster_pace, slower_pace
from tui.state.redraw import REFRESH_HZ, RedrawSchedule
from tui.state.run_state import RunState
from tui.state.smoothing import step_strength
from tui.widgets.controls import Controls
from tui.widgets.key_footer import KeyFooter
from tui.widgets.loss_chart import VIEW_BINDINGS, VIEW_TITLES, ChartView, LossChart, next_view
from tui.widgets.loss_legend import ChartLegend, legend_text
from tui.widgets.readout import Readout
from tui.widgets.status_line import StatusLine
from tui.widgets.templates import TemplatesView, run_templates, shows_templates
from tui.widgets.weight_table import WeightPanel

if TYPE_CHECKING:  # torch-backed: loaded on the app's loader thread, after the first paint
    from engine.trainer import Trainer

FINISHING_NOTE = "the previous run is finishing its step: it stops and saves in the background"
RESTART_KEYS = "r restarts, n starts a new run beside it"
TOLD_S = 4.0  # how long a message about a key shows
WHERE_S = 12.0  # how long the run folder's path shows (long enough to copy it)
NARROW_BELOW = 110  # columns; narrower terminals (80×24 must still fit) get the -narrow layout


@dataclass
class TrainerWoke(Message):
    """A state event (started, paused, finished) is waiting in the inbox: drain it now."""


@dataclass(frozen=True)
class PendingDownload:
    """D pressed in a browser while the run trains: its trainer's snapshot is awaited."""

    run_id: int
    trainer: Trainer
    run_dir: Path
    steps_per_epoch: int


class ExplorerScreen(Screen[None]):
    """`ExplorerScreen(config, datasets)`: the app's first screen; `live` holds its runs."""

    CSS_PATH = "explorer.tcss"
    # Nothing focused, so single-letter keys work at once; Tab or l/L focus a field. ("" rather
    # than None: a screen's None means "use the app's".)
    AUTO_FOCUS = ""

    # The app's own keys (help, sweep, quit) are listed here too, for the Footer's order.
    # KeyFooter shows these in this order, as many as fit whole: the nine up to q fit 80
    # columns beside the palette key, the next five 120, up to m 200 (e, D, d and tab need
    # more; the help and the palette list them). Descriptions are
    # short for that; each tooltip says what the key does, and is the command palette's help
    # for it (and what the palette searches besides the description: lambda, decay, pace…).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "question_mark",
            "app.help",
            "Help",
            key_display="?",
            tooltip="What λ means, the three modes, why wd uses 2λ, and every key",
        ),
        Binding(
            "space",
            "pause",
            "Pause",
            tooltip="Pause or resume the training run; while paused, . trains one epoch",
        ),
        Binding(
            "plus,equals_sign",
            "lam_up",
            "λ↑",
            key_display="+",
            tooltip="Multiply λ (lambda, the weight decay strength) by 10, from the running "
            "trainer's next step; λ = 0 becomes 1e-4",
        ),
        Binding(
            "minus",
            "lam_down",
            "λ↓",
            key_display="-",
            tooltip="Divide λ (lambda, the weight decay strength) by 10, from the running "
            "trainer's next step; below 1e-4 it becomes 0",
        ),
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
            "New",
            tooltip="A new run with the controls' settings; the current run is stopped, saved "
            "in its own folder, and stays on the chart, dimmed",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            tooltip="Stop the training run: its weights and metrics are saved as they are",
        ),
        Binding(
            "w",
            "app.sweep",
            "Sweep",
            tooltip="The sweep view: train a whole λ (lambda) grid at once and see which λ "
            "generalises best",
        ),
        Binding(
            "q",
            "app.quit",
            "Quit",
            tooltip="Stop the run and the sweep, wait until they are saved, and quit "
            "(q again: quit at once)",
        ),
        Binding(
            "l",
            "edit('lam')",
            "Edit λ",
            tooltip="Type a λ (lambda, the weight decay strength): Enter applies it to the "
            "running trainer, Escape leaves the field",
        ),
        # y is bound twice, each labelled with the axis it switches to; the screen's
        # check_action keeps the one that applies (toggle_log ignores the axis: it toggles).
        Binding(
            "y",
            "toggle_log('linear')",
            "Linear y",
            tooltip="Draw the loss chart on a linear y axis (it is on a log axis now)",
        ),
        Binding(
            "y",
            "toggle_log('log')",
            "Log y",
            tooltip="Draw the loss chart on a log y axis (it is on a linear axis now)",
        ),
        Binding(
            "asterisk",
            "lr_up",
            "lr×2",
            key_display="*",
            tooltip="Double the learning rate, from the running trainer's next step",
        ),
        Binding(
            "slash",
            "lr_down",
            "lr÷2",
            key_display="/",
            tooltip="Halve the learning rate, from the running trainer's next step",
        ),
        # v: the chart's views (accuracy only for a classifier: check_action).
        *VIEW_BINDINGS,
        Binding(
            "o",
            "runs",
            "Runs",
            tooltip="The runs screen: every run and sweep saved in the runs folder, this "
            "session's and earlier ones', to sort, filter, open, compare, draw on this chart "
            "(a) or delete",
        ),
        Binding(
            "x",
            "toggle_log_x('log')",
            "Log x",
            tooltip="Draw the chart on a log epoch axis (1, 10, 100, 1k…): grokking is read on one",
        ),
        Binding(
            "x",
            "toggle_log_x('linear')",
            "Linear x",
            tooltip="Draw the chart on a linear epoch axis again",
        ),
        Binding(
            "t",
            "toggle_templates",
            "Templates",
            tooltip="A linear classifier on images (digits): each class's weights as an image, "
            "the current run's above the earlier run's, in place of the chart",
        ),
        Binding(
            "L",
            "edit('lr')",
            "Edit lr",
            tooltip="Type a learning rate: Enter applies it to the running trainer, Escape "
            "leaves the field",
        ),
        Binding(
            "left_square_bracket",
            "pace_down",
            "Slower",
            key_display="[",
            tooltip="Lower the pace, the most epochs per second a run trains at, one step "
            "(1, 3, 10, 30, … per second)",
        ),
        Binding(
            "right_square_bracket",
            "pace_up",
            "Faster",
            key_display="]",
            tooltip="Raise the pace, the most epochs per second a run trains at, one step; "
            "above 1000 per second, no cap: as fast as it can",
        ),
        Binding(
            "full_stop",
            "step_epoch",
            "One epoch",
            key_display=".",
            tooltip="While paused: train one more epoch (step), then pause again",
        ),
        Binding(
            "c",
            "clear_earlier",
            "Clear",
            tooltip="Clear the earlier runs (dimmed) from the loss chart; their folders stay",
        ),
        # m steps the chart's smoothing up (wrapping to off), M down (tui/state/smoothing.py).
        Binding(
            "m",
            "smooth('stronger')",
            "Smooth",
            tooltip="Smooth the chart's curves more (a moving average, as TensorBoard's: 0.6, "
            "0.8, 0.9, 0.95, 0.99, then off); the raw curve stays faint behind",
        ),
        Binding(
            "M",
            "smooth('weaker')",
            "Smooth less",
            show=False,
            tooltip="Smooth the chart's curves less (from off: 0.99, the strongest)",
        ),
        Binding(
            "e",
            "export",
            "Export",
            tooltip="Export the chart: an SVG of the screen and a CSV of the drawn runs' "
            "numbers per epoch, side by side in the runs folder",
        ),
        Binding(
            "D",
            "download",
            "Download",
            tooltip="The run's files: in a browser (wdtui serve), metrics.csv, config.json and "
            "weights.pt as they are now, downloaded; in a terminal, the folder they are in",
        ),
        Binding(
            "d",
            "decay",
            "Decay",
            tooltip="The decay view: each epoch's update split into its data and decay parts, "
            "‖w‖² per layer, the shrink per step and its τ, BatchNorm's effective lr, the "
            "ridge path early stopping walks, and which parameters decay",
        ),
        Binding(
            "tab",
            "app.focus_next",
            "Fields",
            tooltip="Move between the λ and lr fields and the next run's settings in the "
            "controls panel (mode, optimizer, preset, epochs, …); shift+tab goes back",
        ),
        Binding("escape", "leave_input", "Leave field", show=False),
    ]

    def __init__(
        self, config: RunConfig, datasets: DatasetCache, *, pace: float | None = None
    ) -> None:
        super().__init__()
        self.inbox: EventInbox[Event] = EventInbox(self._wake, quiet=Epoch)
        self.live = LiveRun(config, datasets, self.inbox, pace=pace)
        self.log_y = True
        self.chart_view: ChartView = "loss"  # what the chart shows (v)
        self.log_x = False
        self.templates_on = False  # the class templates in place of the chart (t)
        self.schedule = RedrawSchedule()
        self._note = ""
        self._engine_ready = False
        # What the weight tables show of the current run, besides its statistics.
        self._truth_shown = False
        self._optimum_lam: float | None = None
        self._legend_plain = ""
        self._told, self._told_until = "", 0.0  # the last message _tell showed, and until when
        self._download: PendingDownload | None = None

    def _wake(self) -> None:
        self.post_message(TrainerWoke())

    # ----- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Controls(self.live.initial, id="controls")
            with Vertical(id="chart-box"):
                yield LossChart(id="chart")
                yield TemplatesView(id="templates")
                yield ChartLegend(id="legend")
                yield Readout(id="readout")
        yield WeightPanel(id="weights")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        # Kept, not queried on every tick.
        self._controls = self.query_one(Controls)
        self._chart = self.query_one(LossChart)
        self._weights = self.query_one(WeightPanel)
        self._status = self.query_one(StatusLine)
        self._readout = self.query_one(Readout)
        self._legend = self.query_one("#legend", Static)
        self._templates = self.query_one(TemplatesView)
        self.query_one("#chart-box").border_title = "loss per epoch"
        self._status.show(None, None, loading=True)
        self.set_interval(1 / REFRESH_HZ, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    def on_screen_resume(self) -> None:
        # A screen under another (the sweep view, the help) gets no Resize: catch up on return.
        self.set_class(self.app.size.width < NARROW_BELOW, "-narrow")

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
            self._status.show(self.live.current, None, text, pace=self.live.pace)

    def apply_sweep_lam(self, lam: float) -> None:
        """The sweep's best λ, for the live run (or, the run over, for the next)."""
        if self._apply("lam", lam, "the sweep's best") and self.live.active:
            self._tell(f"λ = {lam:g}, the sweep's best, applied to the live run")

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
        config = live.base  # the new run's, resolved
        self._controls.show_running(live.lam, live.lr)
        self._controls.show_config(config)  # the panel compares with the run now training
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
        """The config for a restart / new run: the controls' settings and the λ/lr in use;
        None, said in one line, while a field is invalid (the current run goes on)."""
        settings = self._controls.next_settings()
        if settings.refusal:
            self.set_note(settings.refusal)
            return None
        live = self.live
        try:
            config = next_run_config(
                live.base,
                live.initial,
                preset=settings.preset,
                lam=live.lam,
                lr=live.lr,
                **settings.chosen,
            )
        except ConfigError as exc:
            self.set_note(cannot_start(exc))
            return None
        return config

    # ----- rendering, on a timer --------------------------------------------------------------

    def _tick(self) -> None:
        self.live.apply_events()
        self._serve_download()
        self._redraw()

    @on(TrainerWoke)
    def _woke(self) -> None:
        self._tick()

    def _redraw(self) -> None:
        run = self.live.current
        rate = run.epochs_per_second() if run is not None else None
        self._status.show(
            run, rate, self._note, loading=not self._engine_ready, pace=self.live.pace
        )
        if run is None:
            return
        now = time.monotonic()
        earlier = self.live.earlier
        view = self._view(run)
        smoothing = self._chart.smoothing
        shape = (run.run_id, self.log_y, len(earlier), view, self.log_x, smoothing)
        if self.schedule.chart_due(shape, run.version, now):
            self._chart.show(run, earlier, self.log_y, view, self.log_x)
            legend = legend_text(run, earlier, self.log_y, view, self.log_x, smoothing)
            if legend.plain != self._legend_plain:  # rarely changes: skip the layout pass
                self._legend_plain = legend.plain
                self._legend.update(legend)
            self._readout.show(run)
        panel = self._weights
        if run.param_stats is not None and self.schedule.tables_due(
            run.stats_version, run.active, now
        ):
            panel.update_stats(run.param_stats)
            if self._templates.display:
                self._show_templates()
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
        if self.live.closed:
            return False
        if action == "toggle_log" and parameters:
            # y's two bindings: the one that switches to the other axis is the live one.
            return parameters[0] == ("linear" if self.log_y else "log")
        if action == "toggle_log_x" and parameters:
            return parameters[0] == ("linear" if self.log_x else "log")
        if action == "chart_view" and parameters:
            return parameters[0] == self._next_view()
        if action == "toggle_templates":
            return shows_templates(self.live.current)
        return True

    def _apply(self, which: Literal["lam", "lr"], value: float, source: str = "") -> bool:
        """Use λ or lr = `value` from now on; an invalid one is shown beside its field and
        changes nothing. `source` names where the value came from, in what is said."""
        try:
            self.live.use(which, value)
        except ConfigError as exc:
            self._controls.show_error(which, f"{exc} (not applied)")
            return False
        self._controls.show_running(self.live.lam, self.live.lr)
        if not self.live.active:  # nothing trains: say where the value went
            name = "λ" if which == "lam" else "lr"
            value = self.live.lam if which == "lam" else self.live.lr
            origin = f", {source}," if source else ""
            self._tell(f"{name} = {value:g}{origin} is set for the next run ({RESTART_KEYS})")
        return True

    def _tell(self, text: str, timeout: float = TOLD_S) -> None:
        # A key pressed again while its message still shows says nothing more, instead of
        # stacking copies over the chart. markup=False: these quote numbers and paths, which
        # must show as they are.
        now = time.monotonic()
        if self._told == text and now < self._told_until:
            return
        self._told, self._told_until = text, now + timeout
        self.notify(text, markup=False, timeout=timeout)

    def _ended(self) -> bool:
        """No run trains (it ended, or none started): said once, for a key that needs one."""
        if self.live.active:
            return False
        self._tell(f"the run has ended: {RESTART_KEYS}" if self.live.current else "no run yet")
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
        if not self._ended():
            self.live.toggle_pause()

    def action_stop(self) -> None:
        if not self._ended():
            self.live.stop()

    def action_pace_up(self) -> None:
        self.live.set_pace(faster_pace(self.live.pace))
        self._redraw()

    def action_pace_down(self) -> None:
        self.live.set_pace(slower_pace(self.live.pace))
        self._redraw()

    def action_step_epoch(self) -> None:
        if self._ended():
            return
        if self.live.current is not None and self.live.current.status == "paused":
            self.live.step_epoch()
        else:
            self._tell("'.' trains one epoch while paused: space pauses")

    def action_restart(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=False)

    def action_new_run(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=True)

    def action_decay(self) -> None:
        if not isinstance(self.app.screen, DecayScreen):
            self.app.push_screen(DecayScreen(self))

    def action_runs(self) -> None:
        self.app.push_screen(RunsScreen(self.live.initial.runs_dir))

    def add_saved_run(self, run: RunState) -> None:
        """A run read back from its folder (the runs screen's `a`), drawn dimmed beside the
        live run as an earlier one."""
        self.live.add_saved(run)
        self.schedule.new_run()  # the overlays changed, even where their number did not
        self._redraw()

    def action_clear_earlier(self) -> None:
        self.live.earlier.clear()
        self._redraw()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.refresh_bindings()  # y's label names the other axis now
        self._redraw()

    # ----- what the chart shows (v, x, t) -------------------------------------------------------

    def _view(self, run: RunState | None) -> ChartView:
        """The chart's view for this run: accuracy falls back to the loss for a regression."""
        classifier = run is not None and run.is_classifier
        return "loss" if self.chart_view == "accuracy" and not classifier else self.chart_view

    def _next_view(self) -> ChartView:
        run = self.live.current
        return next_view(self._view(run), run is not None and run.is_classifier)

    def action_chart_view(self, view: str) -> None:
        self.chart_view = self._next_view()
        self.query_one("#chart-box").border_title = VIEW_TITLES[self.chart_view]
        self._show_templates_or_chart(False)
        self.refresh_bindings()
        self._redraw()

    def action_toggle_log_x(self) -> None:
        self.log_x = not self.log_x
        self.refresh_bindings()
        self._redraw()

    def action_smooth(self, direction: str) -> None:
        strength = step_strength(self._chart.smoothing, stronger=direction == "stronger")
        self._chart.set_smoothing(strength)
        self._redraw()  # the legend names the strength too
        if not strength:  # on, the chart's titles name the strength; off, they just lose it
            self._tell("smoothing off")

    def action_export(self) -> None:
        export_chart(self.app, self._chart.drawn_runs(), self.live.initial.runs_dir)

    # ----- downloads (D; tui/download.py) -----------------------------------------------------

    def action_download(self) -> None:
        trainer, run = self.live.trainer, self.live.current
        if trainer is None or run is None:
            self._tell("no run yet: nothing to download")
            return
        if trainer.run_dir is None:
            self._tell("this run is not saved (--no-save): it has no files to download")
            return
        if not self.app.is_web:  # the files are on this machine already
            self._tell(folder_note(trainer.run_dir, live=self.live.active), WHERE_S)
            return
        if self._download is not None:
            self._tell("the run's files are being prepared")
            return
        if not self.live.active:  # its files are saved, as they stay
            self._tell(deliver_saved(self.app, [trainer.run_dir]))
            return
        self._download = PendingDownload(
            run.run_id, trainer, trainer.run_dir, trainer.steps_per_epoch
        )
        trainer.snapshot()  # answered between two steps, paused or not

    def _serve_download(self) -> None:
        """Send the files once the trainer's snapshot is here; a run that ended first is sent
        from its folder, as it was saved."""
        snapshots, self.live.snapshots = self.live.snapshots, []
        pending = self._download
        if pending is None:
            return
        snapshot = next((s for run_id, s in snapshots if run_id == pending.run_id), None)
        if snapshot is not None:
            self._download = None
            self._send_snapshot(pending, snapshot)
        elif pending.trainer.join(0):
            self._download = None
            self._tell(deliver_saved(self.app, [pending.run_dir]))

    @work(thread=True, exit_on_error=False, name="download", group="download")
    def _send_snapshot(self, pending: PendingDownload, snapshot: WeightsSnapshot) -> None:
        """Read and serialize off the UI thread (a long run's metrics.csv, a large model's
        weights take seconds), then deliver on it."""
        try:
            downloads = snapshot_downloads(pending.run_dir, snapshot)
        except Exception as exc:  # the folder deleted, the disk failing: said, nothing sent
            self.app.call_from_thread(self._tell, f"nothing downloaded: {exc}")
            return
        note = snapshot_note(pending.run_dir, snapshot, pending.steps_per_epoch)
        self.app.call_from_thread(self._deliver, downloads, archive_name([pending.run_dir]), note)

    def _deliver(self, downloads: list[Download], archive: str, note: str) -> None:
        deliver(self.app, downloads, archive)
        self._tell(note)

    def action_toggle_templates(self) -> None:
        self._show_templates_or_chart(not self._templates.display)

    def _show_templates_or_chart(self, templates: bool) -> None:
        templates = templates and shows_templates(self.live.current)
        self._templates.display = templates
        self._chart.display = not templates
        self._legend.display = not templates
        title = "class templates (w per pixel)" if templates else VIEW_TITLES[self.chart_view]
        self.query_one("#chart-box").border_title = title
        if templates:
            self._show_templates()

    def _show_templates(self) -> None:
        """The current run's templates, and the newest earlier run's that has them."""
        drawn = [r for r in self.live.earlier if run_templates(r) is not None]
        self._templates.show(self.live.current, drawn[-1] if drawn else None)

    def action_edit(self, which: str) -> None:
        self._controls.query_one(f"#{which}", Input).focus()

    def action_leave_input(self) -> None:
        # Leaving a field drops an unapplied edit: the fields show what the trainer uses.
        self.set_focus(None)
        self._controls.show_running(self.live.lam, self.live.lr)


__all__ = ["FINISHING_NOTE", "ExplorerScreen", "TrainerWoke"]
