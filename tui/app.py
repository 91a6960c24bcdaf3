"""The explorer: a Textual app that drives one `Trainer` at a time and renders its events.

Threading (docs/design.md): the trainer calls `_on_trainer_event` on its own thread, which only
appends to a deque (and, for the rare state events, posts a wake-up message, which is
thread-safe and non-blocking). A timer on the UI thread drains the deque ten times a second
and redraws what changed; nothing is rendered once per epoch, and the trainer never waits.

Quitting (q, ctrl+q, SIGTERM, SIGHUP) stops the trainer and the sweep, and waits on a thread of
its own until both have saved, however long the optimizer step in flight takes; the UI stays
live meanwhile, and a second q leaves at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from engine.config import ConfigError, RunConfig, check_lam, check_lr
from tui.datasets import DatasetCache
from tui.palette import Palette
from tui.run_state import RunState
from tui.screens.help_screen import HelpScreen
from tui.screens.sweep_screen import SweepScreen
from tui.widgets.controls import CSV_PRESET, Controls, preset_of
from tui.widgets.loss_chart import MAX_OVERLAYS, LossChart, legend_text
from tui.widgets.readout import Readout
from tui.widgets.status_line import StatusLine
from tui.widgets.weight_table import WeightPanel

if TYPE_CHECKING:  # torch-backed modules: loaded on a thread after the first paint
    from engine.events import Event
    from engine.ridge import RidgePath
    from engine.sweep.runner import Sweep
    from engine.trainer import Trainer

# Render rates. The trainer thread needs the GIL for every small torch op, so each ms the UI
# spends rendering is a ms of training lost (measured: with the chart redrawn at 10 Hz, `line`
# trained at ~0.77x its speed alone; without the chart, 0.97x). So the UI keeps to a CPU
# budget, measured (the UI thread's own CPU time, compositor included), not guessed: the status
# line updates 10 times a second; the chart redraws on the same ticks while the UI thread has
# used less than UI_CPU_BUDGET of a core recently, and at least every CHART_MAX_WAIT_S. That is
# ~4-6 frames/s at 120x40 (more on a small terminal, fewer on a huge one), and training at
# >= 0.8x. The weight tables (numbers to read, not to watch flicker) update 4 times a second.
# A key that changes the view (log toggle, new run) redraws at once.
REFRESH_HZ = 10
UI_CPU_BUDGET = 0.10
CHART_MAX_WAIT_S = 0.5
TABLE_INTERVAL_S = 0.25
LAM_FLOOR = 1e-4  # stepping λ up from 0 lands here; stepping below it lands on 0
# A restart waits this long for the run it replaces to stop; one still inside a long step then
# finishes it and saves in the background (and quitting waits for it).
JOIN_TIMEOUT_S = 2.0
FINISHING_NOTE = "the previous run is finishing its step: it stops and saves in the background"
QUIT_NOTE = "stopping: saving the run… (q again: quit now, without waiting)"
# What a terminal's end or a service manager sends (`wdtui run` saves on these too); Textual's
# Linux driver handles SIGTSTP, SIGCONT, SIGWINCH (and SIGTTOU/SIGTTIN while starting), not
# these, so without a handler they would kill the app: no weights.pt, and the terminal left in
# the alternate screen with mouse reporting on.
QUIT_SIGNALS = ("SIGTERM", "SIGHUP")


def step_lam(lam: float, up: bool) -> float:
    if up:
        return LAM_FLOOR if lam <= 0 else lam * 10
    down = lam / 10
    return 0.0 if down < LAM_FLOOR * (1 - 1e-9) else down


class TrainerWoke(Message):
    """A state event (started, paused, finished) is waiting in the inbox: drain it now."""


class EngineLoaded(Message):
    """The torch-backed engine finished importing and the first run's data loaded (on a
    thread): the first run can start, unless `error` says why not."""

    def __init__(self, error: str = "") -> None:
        super().__init__()
        self.error = error


class RunsSaved(Message):
    """Quitting: the trainer and the sweep have ended and saved; the app can exit."""


def _load_engine(app: WeightDecayApp) -> None:
    """Import torch and the trainer, and load the first run's data, off the UI thread: the
    screen is up within a moment instead of after the ~1.5 s torch takes to import, and stays
    live while a large CSV loads (seconds)."""
    try:
        import engine.trainer  # noqa: F401
    except Exception as exc:  # a broken torch install: say so on screen
        app.post_message(EngineLoaded(f"cannot load PyTorch: {type(exc).__name__}: {exc}"))
        return
    try:
        app.datasets.get(app.initial_config)
    except Exception as exc:  # a bad CSV: the app stays up and says why
        app.post_message(EngineLoaded(cannot_start(exc)))
    else:
        app.post_message(EngineLoaded())


def _join_then_tell(app: WeightDecayApp, jobs: list[Trainer | Sweep]) -> None:
    """Quitting, on a thread of its own: wait for each job to end and save (however long its
    step in flight takes), then tell the app."""
    for job in jobs:
        job.join()
    if app._hung_up:
        # A hangup took the terminal: there is nothing to restore, and Textual's shutdown would
        # block for ever writing to it (its output thread dies on the first write, and its
        # queue then fills). The runs are saved: leave now.
        os._exit(0)
    app.post_message(RunsSaved())


def terminal_hung_up() -> bool:
    """True after a hangup: every write to the terminal, even an empty one, then fails (EIO).
    Checked on the stream Textual's Linux driver draws on."""
    stream = sys.__stderr__
    if stream is None:
        return False
    try:
        os.write(stream.fileno(), b"")
    except OSError:
        return True
    return False


def cannot_start(exc: Exception) -> str:
    if isinstance(exc, ConfigError):  # one line written for the user
        return f"cannot start: {exc}"
    return f"cannot start: {type(exc).__name__}: {exc}"  # bad CSV, unreadable file


class WeightDecayApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "wdtui"
    # Nothing focused at start, so single-letter keys reach the app; Tab or l/L focus a field.
    AUTO_FOCUS = None

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: quit works even while an Input has focus.
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
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
        Binding("w", "sweep", "Sweep λ"),
        Binding(
            "q",
            "quit",
            "Quit",
            tooltip="Stop the run and the sweep, wait until they are saved, and quit "
            "(q again: quit at once)",
        ),
        Binding("l", "edit('lam')", "Edit λ", show=False),
        Binding("L", "edit('lr')", "Edit lr", show=False),
        Binding("c", "clear_earlier", "Clear earlier runs", show=False),
        Binding("escape", "leave_input", "Leave field", show=False),
    ]

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.initial_config = config.resolved()
        self.current_run: RunState | None = None
        self.earlier: list[RunState] = []  # overlaid dimmed on the chart, oldest first
        self.trainer: Trainer | None = None
        self.log_y = True
        self.lam = self.initial_config.effective_lam  # what the next step key starts from
        self.lr = float(self.initial_config.lr or 0.0)
        self._inbox: deque[tuple[int, Event]] = deque()
        self._next_id = 1
        self._ridge: RidgePath | None = None
        self._optimum_lam: float | None = None
        self._drawn: tuple[int, int, bool, int] | None = None
        self._stats_drawn = -1
        self._stats_at = 0.0
        self._chart_at = 0.0
        self._cpu_sample = (time.monotonic(), time.thread_time())
        self._cpu_share = 0.0
        self._truth_shown = False
        self._note = ""
        self._closing_down = False  # no new run may start
        self._quitting = False  # the runs are stopping and saving on the way out
        self._abandoned = False  # a second quit: leave without waiting for them
        self._hung_up = False  # hung up: leave the process once the runs are saved
        self._signals: list[signal.Signals] = []
        self._engine_ready = False
        # Each dataset loads once (the first off the UI thread), then restarts reuse it.
        self.datasets = DatasetCache()
        # Replaced runs still inside a long step: stopped, not yet saved.
        self._finishing: list[Trainer] = []
        # Installed once, re-opened by `w`: its sweep keeps training while the main screen shows.
        self._sweep_screen: SweepScreen | None = None

    # ----- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Controls(self.initial_config, id="controls")
            with Vertical(id="chart-box"):
                yield LossChart(id="chart")
                yield Static(id="legend")
                yield Readout(id="readout")
        yield WeightPanel(id="weights")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Kept, not queried: `query_one` searches the active screen, which may be the help.
        self._controls = self.query_one(Controls)
        self._chart = self.query_one(LossChart)
        self._weights = self.query_one(WeightPanel)
        self._status = self.query_one(StatusLine)
        self._readout = self.query_one(Readout)
        self._legend = self.query_one("#legend", Static)
        self._legend_plain = ""
        self.query_one("#chart-box").border_title = "loss per epoch"
        self._status.show(None, None, loading=True)
        self.set_interval(1 / REFRESH_HZ, self._tick)
        self._install_signal_handlers()

    def on_ready(self) -> None:
        # Only once the first screen is up, with every nested widget mounted: when torch is
        # already imported (tests, a second app) the engine can be ready before WeightPanel's
        # tables exist, and starting a run then would find no table to fill.
        threading.Thread(
            target=_load_engine, args=(self,), name="wdtui-load-engine", daemon=True
        ).start()

    def on_resize(self, event: events.Resize) -> None:
        # Layout classes for small terminals (80×24 must still fit), see app.tcss.
        self.screen.set_class(event.size.width < 110, "-narrow")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit", "leave_input"):
                yield SystemCommand(
                    f"{binding.description} ({binding.key_display or binding.key})",
                    f"wdtui: {binding.tooltip or binding.description}",
                    lambda action=binding.action: self.run_action(action),
                )

    def action_command_palette(self) -> None:
        # Textual's palette, with its PageUp/PageDown crash worked around (tui/palette.py).
        if self.use_command_palette and not Palette.is_open(self):
            self.push_screen(Palette(id="--command-palette"))

    # ----- the trainer ------------------------------------------------------------------------

    @on(EngineLoaded)
    def _engine_loaded(self, message: EngineLoaded) -> None:
        self._engine_ready = True
        if message.error:
            self._set_note(message.error)
        elif self.current_run is None:
            self._start(self.initial_config, keep_current=False)

    def _on_trainer_event(self, run_id: int, event: Event) -> None:
        """Called on the trainer's thread: enqueue only, never touch widgets here."""
        self._inbox.append((run_id, event))
        if type(event).__name__ != "Epoch":
            self.post_message(TrainerWoke())

    def _start(self, config: RunConfig, keep_current: bool) -> bool:
        """Stop and join the running trainer, then start one for `config`."""
        from engine.trainer import Trainer  # loaded by now (_load_engine)

        if self._closing_down:
            return False
        self._stop_trainer()
        run_id = self._next_id
        try:
            trainer = Trainer(
                config,
                lambda event: self._on_trainer_event(run_id, event),
                dataset=self.datasets.get(config),
            )
        except Exception as exc:  # bad settings, a bad CSV: say so, keep the app usable
            self._set_note(cannot_start(exc))
            return False
        self._next_id += 1
        if self.current_run is not None and keep_current:
            self.earlier.append(self.current_run)
            del self.earlier[:-MAX_OVERLAYS]  # only these are drawn; each holds its history
        self.current_run = RunState(run_id, trainer.config)
        self.trainer = trainer
        if trainer.config.reg != "none":  # mode none trains at λ = 0; keep the λ chosen
            self.lam = self.current_run.lam
        self.lr = self.current_run.lr
        self._finishing = [t for t in self._finishing if not t.join(0)]
        self._set_note(FINISHING_NOTE if self._finishing else "")
        controls = self._controls
        controls.show_running(self.lam, self.lr)
        controls.set_epochs(self.current_run.total_epochs)
        self._setup_weights(trainer)
        self._drawn = None
        trainer.start()
        self._refresh_now()
        return True

    def _setup_weights(self, trainer: Trainer) -> None:
        from engine.trainer import SMALL_MODEL_WEIGHTS

        params = trainer.parameter_info()
        n_weights = sum(_numel(p.shape) for p in params)
        config = trainer.config
        small = config.model == "linear" and n_weights <= SMALL_MODEL_WEIGHTS
        # None where training does not converge to it (AdamW's decoupled decay, an MLP).
        self._ridge = trainer.ridge() if small else None
        self._optimum_lam = None
        self._stats_drawn = -1
        self._truth_shown = False
        names = trainer.dataset.feature_names
        self._weights.setup(params, names, small, show_optimum=self._ridge is not None)

    def _stop_trainer(self) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        trainer.stop()
        if not trainer.join(JOIN_TIMEOUT_S):
            self._finishing.append(trainer)  # joined on the way out: it must save first
        self._drain()  # its last events (Finished) belong to its RunState

    def _drain(self) -> bool:
        """Apply queued events to their runs; True if the current run changed."""
        runs = {r.run_id: r for r in self.earlier}
        if self.current_run is not None:
            runs[self.current_run.run_id] = self.current_run
        changed = False
        while self._inbox:
            run_id, event = self._inbox.popleft()
            run = runs.get(run_id)
            if run is None:  # a run that was replaced by a restart
                continue
            run.apply(event)
            changed = changed or run is self.current_run
        return changed

    # ----- rendering, on a timer --------------------------------------------------------------

    def _tick(self) -> None:
        self._drain()
        self._refresh_now()

    @on(TrainerWoke)
    def _woke(self) -> None:
        self._tick()

    def _refresh_now(self) -> None:
        run = self.current_run
        rate = run.epochs_per_second() if run is not None else None
        self._status.show(run, rate, self._note, loading=not self._engine_ready)
        if run is None:
            return
        now = time.monotonic()
        key = (run.run_id, run.version, self.log_y, len(self.earlier))
        view = key[:1] + key[2:]
        view_changed = self._drawn is None or view != self._drawn[:1] + self._drawn[2:]
        chart_due = (
            self._ui_cpu_share() <= UI_CPU_BUDGET or now - self._chart_at >= CHART_MAX_WAIT_S
        )
        if key != self._drawn and (view_changed or chart_due):
            self._drawn, self._chart_at = key, now
            self._chart.show(run, self.earlier, self.log_y)
            legend = legend_text(run, self.earlier, self.log_y)
            if legend.plain != self._legend_plain:  # rarely changes: skip the layout pass
                self._legend_plain = legend.plain
                self._legend.update(legend)
            self._readout.show(run)
        panel = self._weights
        if (
            run.param_stats is not None
            and run.stats_version != self._stats_drawn
            and (now - self._stats_at >= TABLE_INTERVAL_S or not run.active)
        ):
            self._stats_drawn, self._stats_at = run.stats_version, now
            panel.update_stats(run.param_stats)
        if run.true_weights is not None and not self._truth_shown:
            self._truth_shown = True
            panel.update_truth(run.true_weights)
        if self._ridge is not None and run.lam != self._optimum_lam:
            # The closed form for the λ in use: one small solve, only when λ changes.
            self._optimum_lam = run.lam
            panel.update_optimum(self._ridge.as_parameters(run.lam), run.lam)

    def _ui_cpu_share(self) -> float:
        """The UI thread's recent CPU use, as a share of one core (a moving average)."""
        wall, cpu = time.monotonic(), time.thread_time()
        last_wall, last_cpu = self._cpu_sample
        self._cpu_sample = (wall, cpu)
        if wall > last_wall:
            share = (cpu - last_cpu) / (wall - last_wall)
            self._cpu_share = 0.6 * self._cpu_share + 0.4 * share
        return self._cpu_share

    def settled(self) -> bool:
        """The run has finished and every widget shows its final state (tests, snapshots)."""
        run = self.current_run
        return (
            run is not None
            and not run.active
            and not self._inbox
            and self._drawn is not None
            and self._drawn[1] == run.version
            and (run.param_stats is None or self._stats_drawn == run.stats_version)
        )

    def _set_note(self, text: str) -> None:
        self._note = text
        if self.is_mounted:
            self._status.show(self.current_run, None, text)

    # ----- commands ---------------------------------------------------------------------------

    def _run_active(self) -> bool:
        return self.trainer is not None and self.current_run is not None and self.current_run.active

    def _apply_lam(self, lam: float) -> bool:
        return self._apply("lam", lam)

    def _apply_lr(self, lr: float) -> bool:
        return self._apply("lr", lr)

    def _apply(self, which: str, value: float) -> bool:
        """Use λ or lr = `value` from now on (the live trainer's, else the next run's). An
        invalid value (a step past float32, lr ÷ 2 reaching 0, λ in mode 'none' on a live run)
        is shown beside its field and changes nothing."""
        check, setter = (check_lam, "set_lam") if which == "lam" else (check_lr, "set_lr")
        try:
            value = check(value)
            if self._run_active():
                getattr(self.trainer, setter)(value)
        except ConfigError as exc:
            self._controls.show_error(which, f"{exc} (not applied)")
            return False
        setattr(self, which, value)
        self._controls.show_running(self.lam, self.lr)
        return True

    # After Enter applies a valid value, focus leaves the field so the single-letter keys work
    # again; a value the trainer refuses keeps the focus, with its error shown.
    @on(Controls.LamSubmitted)
    def _lam_submitted(self, message: Controls.LamSubmitted) -> None:
        if self._apply_lam(message.value):
            self.screen.set_focus(None)

    @on(Controls.LrSubmitted)
    def _lr_submitted(self, message: Controls.LrSubmitted) -> None:
        if self._apply_lr(message.value):
            self.screen.set_focus(None)

    def action_lam_up(self) -> None:
        self._apply_lam(step_lam(self.lam, up=True))

    def action_lam_down(self) -> None:
        self._apply_lam(step_lam(self.lam, up=False))

    def action_lr_up(self) -> None:
        self._apply_lr(self.lr * 2)

    def action_lr_down(self) -> None:
        self._apply_lr(self.lr / 2)

    def action_pause(self) -> None:
        if self.trainer is None or self.current_run is None or not self.current_run.active:
            return
        if self.current_run.status == "paused":
            self.trainer.resume()
        else:
            self.trainer.pause()

    def action_stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()

    def action_restart(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=False)

    def action_new_run(self) -> None:
        config = self._next_config()
        if config is not None:
            self._start(config, keep_current=True)

    def action_clear_earlier(self) -> None:
        self.earlier.clear()
        self._refresh_now()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self._refresh_now()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_sweep(self) -> None:
        if isinstance(self.screen, SweepScreen):
            return
        base = self.current_run.config if self.current_run is not None else self.initial_config
        config = replace(base, lr=self.lr)  # the live lr, if keys changed it
        if self._sweep_screen is None:
            self._sweep_screen = SweepScreen(config, datasets=self.datasets)
            self.install_screen(self._sweep_screen, "sweep")
        else:
            self._sweep_screen.use_config(config)
        self.push_screen("sweep")

    @on(SweepScreen.ApplyLam)
    def _sweep_apply(self, message: SweepScreen.ApplyLam) -> None:
        live = self._run_active()
        if self._apply_lam(message.lam):
            # markup=False: notifications parse markup by default; these hold only numbers,
            # but nothing shown here should depend on that.
            if live:
                self.notify(
                    f"λ = {message.lam:g}, the sweep's best, applied to the live run",
                    markup=False,
                )
            else:  # the run has ended: λ waits for the next one
                self.notify(
                    f"λ = {message.lam:g}, the sweep's best, set for the next run (r restarts)",
                    markup=False,
                )

    def action_edit(self, which: str) -> None:
        self._controls.query_one(f"#{which}", Input).focus()

    def action_leave_input(self) -> None:
        # Leaving a field drops an unapplied edit: the fields show what the trainer uses.
        self.screen.set_focus(None)
        self._controls.show_running(self.lam, self.lr)

    # ----- quitting ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the runs save on the way out, quitting (at once) is all that is left to do.
        return action == "quit" or not self._quitting

    async def action_quit(self) -> None:
        if self._quitting:  # asked again while the runs save: leave now, without waiting
            self._abandoned = True
            if self._sweep_screen is not None:
                self._sweep_screen.abandon()
            self.exit(0)
            return
        self._begin_quit()
        await self._show_quitting()

    def _begin_quit(self) -> None:
        """Stop the runs; a thread waits until they have ended and saved (however long the
        step in flight takes), then exits the app (or, the terminal gone, the process)."""
        if self._quitting:
            return
        self._quitting = self._closing_down = True
        jobs = self._stop_runs()
        if not self._hung_up and all(job.join(0) for job in jobs):  # nothing running
            self.exit(0)
            return
        threading.Thread(
            target=_join_then_tell, args=(self, jobs), name="wdtui-quit", daemon=True
        ).start()

    async def _show_quitting(self) -> None:
        """While the runs save: the main screen (where the note is), the note, and the Footer
        down to the one key still live."""
        if self.return_code is not None:  # already on its way out
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self._set_note(QUIT_NOTE)
        self.refresh_bindings()

    @on(RunsSaved)
    def _runs_saved(self) -> None:
        self.exit(0)

    def _stop_runs(self) -> list[Trainer | Sweep]:
        """Ask the trainer and the sweep to stop (at their next step); returns them to join."""
        jobs: list[Trainer | Sweep] = []
        if self._sweep_screen is not None:
            sweep = self._sweep_screen.stop_sweep()
            if sweep is not None:
                jobs.append(sweep)
        for trainer in [*self._finishing, self.trainer]:
            if trainer is not None:
                trainer.stop()
                jobs.append(trainer)
        return jobs

    def _install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP quit as q does: the runs stop and save, and Textual's shutdown
        restores the terminal. Handled on the event loop, between two messages."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread receives signals (an app run in a test's thread)
        loop = asyncio.get_running_loop()
        for name in QUIT_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None:  # no SIGHUP on Windows
                continue
            try:
                loop.add_signal_handler(sig, self._quit_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # a loop without signal support (Windows)
            self._signals.append(sig)

    def _quit_signal(self, sig: signal.Signals) -> None:
        # The runs are stopped here, not in a message handler: after a hangup the UI may soon
        # block writing to the terminal that is gone. A second signal never skips the wait.
        if sig == getattr(signal, "SIGHUP", None) and terminal_hung_up():
            self._hung_up = True  # seen by the quit thread, even if q came first
        self._begin_quit()
        if not self._hung_up:
            self.call_later(self._show_quitting)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        self._signals.clear()

    def on_unmount(self) -> None:
        # However the app ends (quit, an error, a test tearing it down), no run outlives it
        # unsaved: stop them and wait (the screen is gone by now, nothing to keep live). Only a
        # second q leaves without waiting. The signal handlers stay until the runs are saved.
        self._closing_down = True
        for job in self._stop_runs():
            if not self._abandoned:
                job.join()
        self._remove_signal_handlers()

    def _next_config(self) -> RunConfig | None:
        """The config for a restart / new run: the controls' settings and the chosen λ/lr."""
        base = self.current_run.config if self.current_run is not None else self.initial_config
        mode, optimizer, preset, epochs = self._controls.restart_settings()
        if epochs is None:
            self._set_note("epochs is not a valid number: fix it to restart")
            return None
        old_preset = preset_of(base)
        changes: dict[str, object] = {"reg": mode, "optimizer": optimizer, "epochs": epochs}
        if optimizer != "sgd":
            changes["momentum"] = 0.0  # momentum is an SGD-only flag
        if preset != old_preset:
            # A new problem: its own defaults for λ, lr, batch size (and epochs if untouched).
            data = self.initial_config.data if preset == CSV_PRESET else None
            changes.update(
                preset=None if preset == CSV_PRESET else preset,
                data=data,
                target=self.initial_config.target if data else None,
                lam=None,
                lr=None,
                batch_size=None,
                standardize=None,
                test_fraction=None,
            )
            if epochs == base.epochs:
                changes["epochs"] = None
        else:
            changes.update(lam=self.lam, lr=self.lr)
        if mode == "none":
            # No penalty: λ = 0 (the engine refuses another λ with it). self.lam keeps the λ
            # chosen, for when the mode goes back to l2 or wd.
            changes["lam"] = 0.0
        try:
            return replace(base, **changes).resolved()  # type: ignore[arg-type]
        except ConfigError as exc:
            self._set_note(cannot_start(exc))
            return None


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def live_trainer_threads() -> list[threading.Thread]:
    """Trainer threads still alive (tests and the benchmark check this after quitting)."""
    return [t for t in threading.enumerate() if t.name == "wdtui-trainer" and t.is_alive()]


__all__ = ["WeightDecayApp", "live_trainer_threads", "step_lam"]
