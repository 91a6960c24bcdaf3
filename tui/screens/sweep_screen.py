"""The sweep view: train every λ of a grid at once (`Sweep`) and watch the validation
curve, ‖w‖² and the regularization path fill in; one key applies the best λ to the live run.

Threading (docs/design.md): the sweep calls `_on_sweep_event` on its own thread, which only puts
the event into an `EventInbox`: it keeps the newest epoch alone (the charts need nothing older),
and queues the rare start/finish events with a wake-up `SweepWoke`. A 10 Hz timer folds them into
a `SweepState` and redraws: nothing renders per epoch, and the sweep never waits for the UI.

The screen outlives its visits: the app installs one instance and pushes it again, so Escape
leaves a sweep training in the background (see `SweepScreen` for the wiring).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, ProgressBar, Static

from engine.config import ConfigError, RunConfig
from engine.sweep.events import SweepEpoch, SweepEvent, SweepFinished
from tui.datasets import DatasetCache
from tui.inbox import EventInbox
from tui.state.live_run import cannot_start
from tui.state.ray_setting import (
    FORMS,
    RaySettingError,
    parse_ray_address,
)
from tui.state.redraw import REFRESH_HZ, ChartPacer
from tui.state.sweep_settings import SettingsChange
from tui.state.sweep_state import SweepState
from tui.widgets.sweep_charts import (
    CurveView,
    NormChart,
    PathChart,
    SweepChart,
    ValidationChart,
    curve_legend,
    norm_legend,
    path_legend,
    shows_accuracy,
)
from tui.widgets.sweep_input import DEFAULT_TEXT, LamsCheck, parse_sweep_lams
from tui.widgets.sweep_text import (
    readout_text,
    refusal_text,
    stale_text,
    status_text,
    warning_text,
)

if TYPE_CHECKING:  # torch loads after the app's first paint (see tui/app.py)
    from engine.store import SavedSweep
    from engine.sweep.ray_sweep import RaySweep
    from engine.sweep.runner import Sweep

JOIN_TIMEOUT_S = 10.0
KILLED = "its process ended before the sweep did: no results.json"

ABOUT = (
    "A sweep trains one member per λ, each exactly the run `wdtui run --lam λ` would make with "
    "these settings (same data, initial weights and batches), all at once as one batched model. "
    "The charts show every member's latest epoch against λ (λ = 0 at the left edge)."
)


TITLES = {
    "curve-box": ("validation curve: loss vs λ", "loss vs λ"),
    "norm-box": ("‖w‖² vs λ", "‖w‖² vs λ"),
    "path-box": ("regularization path: each weight vs λ", "weights vs λ"),
}
ACCURACY_TITLES = ("validation curve: accuracy % vs λ", "accuracy % vs λ")  # the curve's, on v


def lams_text(lams: Sequence[float]) -> str:
    """A λ list as the field takes it: each short where that is exact (`1e-05`), else in full,
    so Enter sweeps exactly these λ again."""
    return ", ".join(f"{lam:g}" if float(f"{lam:g}") == lam else repr(lam) for lam in lams)


@dataclass
class SweepWoke(Message):
    """A start or finish event is waiting in the inbox: drain it now."""


def epoch_keys(event: SweepEvent) -> tuple[str, ...]:
    """What the inbox keeps of the epochs: the newest, and the newest that carries the live
    weights (only some do, ~20 a second)."""
    if isinstance(event, SweepEpoch) and event.weights is not None:
        return ("weights", "numbers")
    return ("numbers",)


def config_label(c: RunConfig, stale: bool = False) -> Text:
    """The settings, for the top box's title: Text, since a CSV's name may hold brackets.
    `stale`: they are the settings of the results shown, no longer the live run's."""
    batch = "full batch" if not c.batch_size else f"batch {c.batch_size}"
    return Text(
        f"{'stale ' if stale else ''}λ sweep · {c.source_name} · {c.model} · "
        f"{c.optimizer} + {c.reg} · lr {c.lr:g} · {c.epochs:,} epochs · {batch} · seed {c.seed}"
    )


class SweepScreen(ModalScreen[None]):
    """`SweepScreen(config)`: a sweep of `config` (the live run's settings; its λ is ignored).

    The app keeps one instance: `install_screen(screen, "sweep")` once, then `push_screen`
    it on its key (after `use_config(current settings)`); Escape pops it and a running sweep
    goes on. The results on screen stay tied to the settings they were trained with
    (`SweepState.config`): when the live run's settings have changed since, the view says so
    (the title names the results' settings, a line under it what differs now), and `a` refuses
    to apply their best λ. `ApplyLam` bubbles to the app for the apply key. On quit the app calls
    `stop_sweep()` and joins the sweep it returns; the screen also stops and joins its sweep
    when it is unmounted, unless `abandon()` said not to wait. `datasets`: the app's cache, so
    a sweep on the live run's data does not load it again.
    """

    # Nothing focused, so single-letter keys work at once; `l` focuses the λ field. ("" rather
    # than None: a screen's None means "use the app's", which may be "*".)
    AUTO_FOCUS = ""

    # Each tooltip says what the key does: the command palette shows it as the key's help.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "start",
            "Start",
            tooltip="Train one member per λ in the λ field, all at once, with the live run's "
            "settings",
        ),
        Binding("s", "stop", "Stop", tooltip="Stop the sweep: its members keep their last epoch"),
        Binding(
            "a",
            "apply_best",
            "Apply best λ",
            tooltip="Set the live run's λ (lambda) to the sweep's best, the lowest test loss, "
            "and go back to it",
        ),
        Binding(
            "l",
            "edit",
            "Edit λ values",
            tooltip="Type the λ (lambda) values to sweep: numbers and START:STOP:N grids, "
            "comma-separated; Enter starts",
        ),
        Binding(
            "R",
            "edit_ray",
            "Ray",
            tooltip="Where the next sweep trains: here, or on Ray workers at an address typed "
            "in the Ray field (local, auto, ray://HOST:PORT, HOST:PORT; empty or off: here)",
        ),
        # y is bound twice, each labelled with the axis it switches to; check_action keeps the
        # one that applies (toggle_log ignores the axis: it toggles).
        Binding(
            "y",
            "toggle_log('linear')",
            "Linear y",
            tooltip="Draw the loss and ‖w‖² charts on a linear y axis (they are on a log axis now)",
        ),
        Binding(
            "y",
            "toggle_log('log')",
            "Log y",
            tooltip="Draw the loss and ‖w‖² charts on a log y axis (they are on a linear axis now)",
        ),
        # v too, for a classification sweep only (check_action): the curve's other view.
        Binding(
            "v",
            "curve_view('accuracy')",
            "Accuracy",
            tooltip="Draw the validation curve as each member's train and test accuracy "
            "(0–100%, linear) against λ instead of its loss (classification)",
        ),
        Binding(
            "v",
            "curve_view('loss')",
            "Loss",
            tooltip="Draw the validation curve as each member's train and test loss again",
        ),
        Binding(
            "question_mark",
            "toggle_about",
            "About",
            key_display="?",
            tooltip="Show or hide what a sweep trains, above the charts",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Back to the explorer (first leaves the λ field); a running sweep goes on",
        ),
        # w toggles the view; q closes it, as in the help. Not in the Footer: escape is.
        Binding(
            "w,q",
            "back",
            "Back",
            show=False,
            tooltip="Back to the explorer, as escape does; a running sweep goes on",
        ),
    ]

    DEFAULT_CSS = """
    SweepScreen {
        background: $background;
        layout: vertical;
    }
    SweepScreen #sweep-top {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    SweepScreen .row { height: 1; }
    SweepScreen .name { width: 10; color: $text-muted; }
    SweepScreen #lams { width: 1fr; }
    SweepScreen #ray-name { width: 5; margin-left: 2; color: $text-muted; }
    SweepScreen #ray { width: 30; }
    SweepScreen #lams-error, SweepScreen #ray-error { color: $error; height: auto; }
    SweepScreen #progress { width: 36; margin-right: 1; }
    SweepScreen #progress Bar { width: 1fr; }
    SweepScreen #sweep-status { width: 1fr; height: 1; overflow: hidden; }
    SweepScreen #sweep-stale { height: auto; }
    SweepScreen #about { color: $text-muted; height: auto; }
    SweepScreen #charts {
        height: 1fr;
        grid-size: 2;
        grid-rows: 1fr;
    }
    SweepScreen #path-box { column-span: 2; }
    SweepScreen.-short.-path #charts { grid-size: 3; }
    SweepScreen.-short #path-box { column-span: 1; }
    SweepScreen .chart-box {
        border: round $primary 50%;
        border-title-color: $text-muted;
    }
    SweepScreen .legend { height: auto; padding: 0 1; }
    SweepScreen #sweep-readout { height: auto; padding: 0 1; background: $boost; }
    SweepScreen #sweep-warning { height: auto; padding: 0 1; background: $boost; }
    SweepScreen.-narrow #progress { width: 22; }
    SweepScreen.-narrow #ray { width: 22; }
    """

    @dataclass
    class ApplyLam(Message):
        """Set the live run's λ to `lam` (the sweep's best). Bubbles to the app."""

        lam: float

    @dataclass
    class SweepAgain(Message):
        """Train these λ values again, in the app's sweep view (Enter on a saved sweep: one
        view runs sweeps, so a second one never trains out of sight). Bubbles to the app."""

        lams_text: str

    def __init__(
        self,
        config: RunConfig,
        *,
        lams_text: str = DEFAULT_TEXT,
        datasets: DatasetCache | None = None,
        resolve: bool = True,
    ) -> None:
        super().__init__()
        # Where the next sweep trains: None here, else the Ray address (`R`; ray_setting.py).
        self.ray_address: str | None = None
        # resolve=False: `config` as given (a saved sweep's, resolved when it ran).
        self._config = config.resolved() if resolve else config
        self._datasets = datasets if datasets is not None else DatasetCache()
        self._join_on_unmount = True
        self._lams_text = lams_text
        self.sweep: Sweep | RaySweep | None = None
        self.state: SweepState | None = None
        self.log_y = True
        self.curve_view: CurveView = "loss"  # asked for with v; accuracy for a classifier only
        self._sweep_id = 0
        self._inbox: EventInbox[SweepEvent] = EventInbox(
            lambda: self.post_message(SweepWoke()), quiet=SweepEpoch, newest_by=epoch_keys
        )
        self._drawn = -1  # the state version on screen
        self._pacer = ChartPacer()  # paces the charts; the text redraws on every tick
        self._stopping = False
        # What the title and the stale line show: (settings, change, running, saved name).
        self._settings_shown: tuple[RunConfig, SettingsChange | None, bool, str | None] | None = (
            None
        )
        self._legends: dict[str, Text] = {}  # what each legend shows
        # A saved sweep on screen (`for_saved`): its folder's name, for the title, until a new
        # sweep starts; and whether `use_config` has said what the live run's settings are.
        self._saved_name: str | None = None
        self._is_saved_view = False  # made by `for_saved`: it shows, the sweep view trains
        self._start_asked: str | None = None  # λ values to sweep once shown (`start_with`)
        self._live_known = True

    @classmethod
    def for_saved(cls, saved: SavedSweep, *, datasets: DatasetCache | None = None) -> SweepScreen:
        """The view of a saved sweep (engine/store `load_sweep`), as it looked when it had
        just finished live: its events replayed into a `SweepState`. One without results.json
        (killed) shows the epoch it got to, marked unfinished. Its λ list fills the field, so
        Enter sweeps it again. `a` applies its best λ to the live run only once the caller has
        said what the live run's settings are (`use_config`, as for the live view): they
        decide whether these results are stale."""
        try:
            config = saved.config.resolved()
        except ConfigError:  # its CSV has gone: shown as saved; Enter will say why it cannot
            config = saved.config
        if config.data is None:
            # config.json records the task the data resolved to; a preset's is always its own,
            # which the live run's settings call "auto": the same, not a change of settings.
            config = replace(config, task="auto")
        screen = cls(config, lams_text=lams_text(saved.lams), datasets=datasets, resolve=False)
        screen._saved_name = saved.path.name
        screen._is_saved_view = True
        screen._live_known = False
        state = SweepState(saved.lams, int(config.epochs or 0), config)
        for event in saved.events():
            state.apply(event)
        if saved.finished is None:
            state.end_unfinished(KILLED)
        screen.state = state
        return screen

    # ----- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="sweep-top"):
            with Horizontal(classes="row"):
                yield Label("λ values", classes="name")
                yield Input(
                    self._lams_text,
                    id="lams",
                    compact=True,
                    validators=[LamsCheck()],
                    validate_on=["changed", "submitted"],
                    tooltip="λ values and START:STOP:N grids, comma-separated; Enter starts",
                )
                yield Label("Ray", id="ray-name")
                yield Input(
                    "",
                    id="ray",
                    compact=True,
                    placeholder="off: trains here",
                    tooltip=f"Where sweeps train: {FORMS}; Enter sets it",
                )
            yield Static("", id="lams-error")
            yield Static("", id="ray-error")
            with Horizontal(classes="row"):
                yield ProgressBar(total=1, id="progress", show_eta=False)
                yield Static("", id="sweep-status")
            yield Static("", id="sweep-stale")
            yield Static(ABOUT, id="about")
        # A grid: curve and ‖w‖² side by side, the path under both; one row of three on a
        # short terminal. Each legend is a row under its chart, wrapped rather than cut.
        with Grid(id="charts"):
            with Vertical(id="curve-box", classes="chart-box"):
                yield ValidationChart(id="curve")
                yield Static(classes="legend", id="curve-legend")
            with Vertical(id="norm-box", classes="chart-box"):
                yield NormChart(id="norm")
                yield Static(classes="legend", id="norm-legend")
            with Vertical(id="path-box", classes="chart-box"):
                yield PathChart(id="path")
                yield Static(classes="legend", id="path-legend")
        yield Static("", id="sweep-readout")
        yield Static("", id="sweep-warning")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#lams-error").display = False
        self.query_one("#ray-error").display = False
        # A saved sweep's view trains nothing (Enter sends its λ to the sweep view): no setting.
        for name in ("#ray-name", "#ray"):
            self.query_one(name).display = not self._is_saved_view
        self.query_one("#sweep-stale").display = False
        self.query_one("#sweep-warning").display = False
        self.query_one("#path-box").display = False
        self._charts: dict[str, SweepChart] = {
            name: self.query_one(f"#{name}", SweepChart) for name in ("curve", "norm", "path")
        }
        self.set_interval(1 / REFRESH_HZ, self._tick)
        self._render_text()
        self._render_charts(force=True)

    def on_resize(self) -> None:
        self._fit_layout()
        self.call_after_refresh(self._show_legends)  # wrapped to the new widths, once laid out

    def _fit_layout(self) -> None:
        """Small terminals (80×24 must fit): drop the about text, narrow the progress bar, and
        three charts in a row, with short titles, when the path is shown on a short one. From
        the app's size: a screen under another gets no Resize, and this runs on return too."""
        width, height = self.app.size
        self.set_class(width < 110, "-narrow")
        self.set_class(height < 32, "-short")
        three = self.has_class("-path") and width < 110 and height < 32  # ~26 columns each
        titles = dict(TITLES)
        if self._curve_view() == "accuracy":
            titles["curve-box"] = ACCURACY_TITLES
        for box, (long, brief) in titles.items():
            self.query_one(f"#{box}").border_title = brief if three else long
        self.query_one("#about").display = height >= 30 and not self.has_class("-no-about")

    # ----- public API for the app ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.sweep is not None and self.state is not None and self.state.active

    @property
    def config(self) -> RunConfig:
        """The settings the next sweep will train (λ aside): the live run's."""
        return self._config

    def use_config(self, config: RunConfig) -> None:
        """The live run's settings, which the next sweep trains (the app passes them on each
        visit). A sweep already run or running keeps its own: if they differ from these, the
        view shows its results as stale, and `a` refuses to apply their best λ."""
        self._config = config.resolved()
        self._live_known = True
        if self.is_mounted:
            self._render_settings()

    def settings_change(self) -> SettingsChange | None:
        """How the live run's settings differ from those of the sweep on screen; None when
        there is no sweep, or its best λ answers for the live run's settings."""
        return None if self.state is None else self.state.change_for(self._config)

    def settled(self) -> bool:
        """The sweep has finished and the screen shows its final state (tests, snapshots)."""
        state = self.state
        return (
            state is not None
            and not state.active
            and not self._inbox.pending()
            and self._drawn == state.version
        )

    def stop_sweep(self) -> Sweep | RaySweep | None:
        """Ask the sweep to stop at its next step, without waiting; returns it (to join)."""
        sweep = self.sweep
        if sweep is not None:
            sweep.stop()
        return sweep

    def stop_and_join(self, timeout: float | None = JOIN_TIMEOUT_S) -> bool:
        """Stop a running sweep and wait for its thread; True once none is left."""
        sweep = self.stop_sweep()
        return sweep is None or sweep.join(timeout)

    def abandon(self) -> None:
        """The app quits at once (q pressed twice): stop the sweep, never wait for it."""
        self._join_on_unmount = False
        self.stop_sweep()

    def on_unmount(self) -> None:
        # However the screen goes (the app quits, a test tears it down), its sweep goes too.
        # (Its widgets are gone by now: the final events are not drawn.)
        if self._join_on_unmount:
            self.stop_and_join()

    # ----- the sweep ----------------------------------------------------------------------------

    def _on_sweep_event(self, sweep_id: int, event: SweepEvent) -> None:
        """Called on the sweep's thread: into the inbox, never to a widget."""
        self._inbox.put(sweep_id, event)

    def action_start(self) -> None:
        if self._is_saved_view:
            self.post_message(self.SweepAgain(self.query_one("#lams", Input).value))
            return
        if self.running:
            self.notify("a sweep is running: s stops it", severity="warning", markup=False)
            return
        field = self.query_one("#lams", Input)
        try:
            lams = parse_sweep_lams(field.value)
        except ConfigError as exc:
            self._show_field_error(f"{exc} (not started)")
            field.focus()
            return
        self._sweep_id += 1
        sweep_id = self._sweep_id
        self._inbox.only_from(sweep_id)
        address = self.ray_address
        try:
            sweep = self._new_sweep(lams, lambda e: self._on_sweep_event(sweep_id, e), address)
        # Shown in full under the λ field (it wraps), not in the one-line status row.
        except Exception as exc:  # mode 'none', an unreadable CSV and the like: stay usable
            self._show_field_error(cannot_start(exc))
            return
        self.sweep, self._stopping = sweep, False
        self._saved_name = None  # the results on screen are the new sweep's from now on
        epochs = int(sweep.config.epochs or 0)
        self.state = SweepState(sweep.lams, epochs, sweep.config, ray_address=address)
        self._show_field_error("")
        self.set_focus(None)
        sweep.start()
        self.refresh_bindings()
        self._tick()
        self._render_text()  # "starting" (a sweep on Ray: connecting) before any event comes

    def _new_sweep(
        self, lams: list[float], on_event: Callable[[SweepEvent], None], address: str | None
    ) -> Sweep | RaySweep:
        """Here, or on Ray: a RaySweep connects and places its workers on its own thread once
        started (the screen never waits on Ray); if it cannot, it ends `failed` with one line."""
        dataset = self._datasets.get(self._config)
        if address is None:
            from engine.sweep.runner import Sweep

            return Sweep(self._config, lams, on_event, dataset=dataset)
        from engine.sweep.ray_sweep import RaySweep

        return RaySweep(self._config, lams, on_event, address=address, dataset=dataset)

    def _drain(self) -> bool:
        """Fold queued events into the state; True if it changed."""
        state = self.state
        if state is None:
            return False
        changed = False
        classifier = self._classifier()
        for _, event in self._inbox.take():  # the epochs before the end come before it
            changed = state.apply(event) or changed
            if isinstance(event, SweepFinished):
                self.refresh_bindings()
        if self._classifier() != classifier:  # known from the first epoch: v is offered
            self.refresh_bindings()
        return changed

    def _classifier(self) -> bool:
        return self.state is not None and self.state.train_accuracy is not None

    def _curve_view(self) -> CurveView:
        """What the validation curve shows: the accuracies when asked and the sweep has them."""
        state = self.state
        shown = state is not None and shows_accuracy(state, self.curve_view)
        return "accuracy" if shown else "loss"

    # ----- rendering, on a timer ----------------------------------------------------------------

    def _tick(self) -> None:
        changed = self._drain()
        if not self.is_current:
            return  # nothing to paint while another screen is shown; the state stays current
        if changed or self._drawn == -1:
            self._render_text()
        self._render_charts()

    @on(SweepWoke)
    def _woke(self) -> None:
        self._tick()

    def on_screen_resume(self) -> None:
        self._fit_layout()
        self._render_text()
        self._render_charts(force=True)
        if self._start_asked is not None:
            self.call_after_refresh(self._start_as_asked)

    def start_with(self, lams_text: str) -> None:
        """Start a sweep of these λ values once this view shows (a saved sweep's, again). A
        sweep running here is left alone, and the refusal says so."""
        self._start_asked = lams_text
        if self.is_current:
            self.call_after_refresh(self._start_as_asked)

    def _start_as_asked(self) -> None:
        lams_text, self._start_asked = self._start_asked, None
        if lams_text is None:
            return
        if not self.running:
            self.query_one("#lams", Input).value = lams_text
        self.action_start()

    def _render_charts(self, force: bool = False) -> None:
        state = self.state
        version = -2 if state is None else state.version
        if version == self._drawn and not force:
            return
        now = time.monotonic()
        pending = False
        curve = self.query_one("#curve", ValidationChart)
        if curve.view != self._curve_view():  # v, or a sweep of the other kind: a new title
            curve.view = self._curve_view()
            self._fit_layout()
            force = True
        for name, chart in self._charts.items():
            if self._pacer.due(name, chart.last_cost_s, now, force):
                chart.show(state, self.log_y)
            else:
                pending = True
        if not pending:
            self._drawn = version
        self._show_legends()
        has_path = state is not None and bool(state.path_labels)
        if has_path != self.has_class("-path"):
            self.query_one("#path-box").display = has_path
            self.set_class(has_path, "-path")
            self._fit_layout()
            self.call_after_refresh(self._show_legends)  # once the box has its width

    def _show_legends(self) -> None:
        """Each legend wrapped to its width between entries (a resize calls this too)."""
        state = self.state
        view = self._curve_view()
        self._show_legend("curve-legend", lambda width: curve_legend(state, width, view))
        self._show_legend("norm-legend", lambda width: norm_legend(state, width))
        if state is not None and state.path_labels:
            self._show_legend("path-legend", lambda width: path_legend(state, width))

    def _show_legend(self, name: str, make: Callable[[int | None], Text]) -> None:
        widget = self.query_one(f"#{name}", Static)
        legend = make(widget.content_size.width or None)
        # Legends rarely change: an update costs a layout pass (their height follows them).
        if self._legends.get(name) != legend:
            self._legends[name] = legend
            widget.update(legend)

    def _render_text(self) -> None:
        state = self.state
        bar = self.query_one("#progress", ProgressBar)
        if state is not None:
            bar.update(total=max(1, state.total_epochs), progress=state.epoch)
        status = status_text(state, self._stopping, self.ray_address)
        self.query_one("#sweep-status", Static).update(status)
        stale = self._render_settings() is not None
        self.query_one("#sweep-readout", Static).update(readout_text(state, stale))
        warning = warning_text(state)
        line = self.query_one("#sweep-warning", Static)
        line.update(warning)
        line.display = bool(warning)

    def _render_settings(self) -> SettingsChange | None:
        """The title (the settings of the results shown, else of the next sweep) and the stale
        line; returns how the live run's settings differ from the results'."""
        state = self.state
        change = self.settings_change()
        shown = self._config if state is None or state.config is None else state.config
        running = self.running
        if (shown, change, running, self._saved_name) != self._settings_shown:  # rarely changes
            self._settings_shown = (shown, change, running, self._saved_name)
            title = config_label(shown, change is not None)
            if self._saved_name is not None:  # a folder's name: Text, never markup
                title = Text.assemble(Text(f"saved sweep {self._saved_name} · "), title)
            self.query_one("#sweep-top").border_title = title
            line = self.query_one("#sweep-stale", Static)
            line.update(stale_text(change, running))
            line.display = change is not None
        return change

    def _show_field_error(self, text: str) -> None:
        error = self.query_one("#lams-error", Static)
        error.update(Text(text))  # not markup: an exception's text may hold brackets
        error.display = bool(text)

    # ----- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Shown but dimmed in the Footer when they would do nothing now.
        if action == "stop":
            return True if self.running else None
        if action == "edit_ray":
            return not self._is_saved_view
        if action == "apply_best":
            return True if self.state is not None and self.state.best_lam() is not None else None
        if action == "toggle_log" and parameters:
            # y's two bindings: the one that switches to the other axis is the live one.
            return parameters[0] == ("linear" if self.log_y else "log")
        if action == "curve_view" and parameters:
            # v's two: the one naming the other view, for a classification sweep; none else.
            return self._classifier() and parameters[0] != self._curve_view()
        return True

    @on(Input.Changed, "#lams")
    def _lams_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        ok = result is None or result.is_valid
        self._show_field_error("" if ok or result is None else result.failure_descriptions[0])

    @on(Input.Submitted, "#lams")
    def _lams_submitted(self, event: Input.Submitted) -> None:
        # Submitted is posted for invalid values too: action_start parses and refuses them.
        event.stop()
        self.action_start()

    def action_stop(self) -> None:
        if self.running and self.sweep is not None:
            self._stopping = True
            self.sweep.stop()
            self._render_text()

    def action_apply_best(self) -> None:
        lam = None if self.state is None else self.state.best_lam()
        if lam is None:
            self.notify("no best λ yet: start a sweep (Enter)", severity="warning", markup=False)
            return
        if not self._live_known:  # a saved sweep opened with no live run to compare it with
            self.notify(
                f"not applied: λ = {lam:g} is this saved sweep's best; no live run to apply it to",
                severity="warning",
                markup=False,
            )
            return
        change = self.settings_change()
        if change is not None:  # the best λ of other settings: nothing is applied
            self.notify(refusal_text(lam, change), severity="warning", markup=False)
            return
        self.post_message(self.ApplyLam(lam))
        self.dismiss()

    def action_edit(self) -> None:
        self.query_one("#lams", Input).focus()

    def action_edit_ray(self) -> None:
        self.query_one("#ray", Input).focus()

    @on(Input.Submitted, "#ray")
    def _ray_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter here sets where sweeps train; it starts none
        try:
            self.ray_address = parse_ray_address(event.value)
        except RaySettingError as exc:
            self._show_ray_error(str(exc))  # the field keeps the text, to be fixed
            return
        self._show_ray_error("")
        self.set_focus(None)  # left: the field shows the setting (see _ray_left)
        self._render_text()

    @on(Input.Changed, "#ray")
    def _ray_typed(self) -> None:
        self._show_ray_error("")  # it was about the text before this change

    @on(Input.Blurred, "#ray")
    def _ray_left(self) -> None:
        """The field shows the setting in force: text left unset (bad, or never submitted)
        goes, and the line that refused it with it."""
        field = self.query_one("#ray", Input)
        field.value = self.ray_address or ""
        self._show_ray_error("")

    def _show_ray_error(self, text: str) -> None:
        error = self.query_one("#ray-error", Static)
        error.update(Text(text))  # not markup: the typed text is quoted in it
        error.display = bool(text)

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.refresh_bindings()  # y's label names the other axis now
        self._render_charts(force=True)

    def action_curve_view(self, view: str) -> None:
        if not self._classifier():
            return
        self.curve_view = "accuracy" if view == "accuracy" else "loss"
        self.refresh_bindings()  # v's label names the other view now
        self._render_charts(force=True)

    def action_toggle_about(self) -> None:
        about = self.query_one("#about")
        self.set_class(about.display, "-no-about")
        about.display = not about.display

    def action_back(self) -> None:
        if self.focused is not None:
            self.set_focus(None)  # Escape first leaves the field, as in the main screen
        else:
            self.dismiss()


__all__ = ["SweepScreen", "config_label"]
