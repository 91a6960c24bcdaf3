"""The explorer app: loads the engine, shows its screens, and quits without losing a run.

The explorer itself (layout, keys, rendering) is `ExplorerScreen`, the screen at the bottom of
the stack; its runs are in `explorer.live`. The app loads torch and the first dataset on a thread
after the first paint, pushes the help and the sweep view over the explorer, and quits.

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.message import Message
from textual.screen import Screen

from engine.config import RunConfig
from tui.datasets import DatasetCache
from tui.palette import Palette
from tui.palette_commands import ScreenCommands
from tui.screens.explorer import ExplorerScreen
from tui.screens.help_screen import HelpScreen
from tui.screens.sweep_screen import SweepScreen
from tui.screenshot import save_screenshot, screenshot_name
from tui.state.live_run import cannot_start

if TYPE_CHECKING:  # torch-backed modules: loaded on a thread after the first paint
    from engine.sweep.ray_sweep import RaySweep
    from engine.sweep.runner import Sweep
    from engine.trainer import Trainer

QUIT_NOTE = "stopping: saving the run… (q again: quit now, without waiting)"
# What a terminal's end or a service manager sends (`wdtui run` saves on these too); Textual's
# Linux driver handles SIGTSTP, SIGCONT, SIGWINCH (and SIGTTOU/SIGTTIN while starting), not
# these, so without a handler they would kill the app: no weights.pt, and the terminal left in
# the alternate screen with mouse reporting on.
QUIT_SIGNALS = ("SIGTERM", "SIGHUP")
# What the palette's built-in commands say, where the explorer's differ from Textual's.
QUIT_HELP = "Stop the run and the sweep, wait until they are saved, and quit"


@dataclass
class EngineLoaded(Message):
    """The torch-backed engine finished importing and the first run's data loaded (on a
    thread): the first run can start, unless `error` says why not."""

    error: str = ""


@dataclass
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


def _join_then_tell(app: WeightDecayApp, jobs: list[Trainer | Sweep | RaySweep]) -> None:
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


class WeightDecayApp(App[int]):
    TITLE = "wdtui"
    # The explorer is the base screen of the app's one mode, rather than its default screen,
    # whose CSS_PATH Textual would not load.
    DEFAULT_MODE = "explorer"

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: quit works even while an Input has focus.
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        # A browser keeps ctrl+p (Print) for itself: `:` opens the palette too, on every
        # screen. Not priority, so `:` typed into a field is typed. Declaring any palette key
        # drops Textual's own ctrl+p, so it is declared here as Textual does.
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            show=False,
            priority=True,
            tooltip="Open the command palette",
        ),
        Binding(
            "colon",
            "command_palette",
            "palette",
            show=False,
            key_display=":",
            tooltip="Open the command palette (ctrl+p too; in a browser, which keeps ctrl+p "
            "for printing, this one)",
        ),
    ]

    def __init__(
        self,
        config: RunConfig,
        *,
        pace: float | None = None,
        on_top: Screen[None] | None = None,
    ) -> None:
        """`pace`: the most epochs per second the runs train at (None: as fast as they can);
        the `wdtui` command starts at DEFAULT_PACE, tests at full speed. `on_top`: a screen
        shown over the explorer from the start (`wdtui open`: the runs screen)."""
        super().__init__()
        self._on_top = on_top
        self.initial_config = config.resolved()
        # Each dataset loads once (the first off the UI thread), then restarts reuse it.
        self.datasets = DatasetCache()
        self.explorer = ExplorerScreen(self.initial_config, self.datasets, pace=pace)
        self.add_mode("explorer", lambda: self.explorer)
        # Installed once, re-opened by `w`: its sweep keeps training while the explorer shows.
        self._sweep_screen: SweepScreen | None = None
        self._quitting = False  # the runs are stopping and saving on the way out
        self._abandoned = False  # a second quit: leave without waiting for them
        self._hung_up = False  # hung up: leave the process once the runs are saved
        self._signals: list[signal.Signals] = []

    def on_mount(self) -> None:
        self._install_signal_handlers()

    def on_ready(self) -> None:
        # Only once the first screen is up, with every nested widget mounted: when torch is
        # already imported (tests, a second app) the engine can be ready before WeightPanel's
        # tables exist, and starting a run then would find no table to fill.
        threading.Thread(
            target=_load_engine, args=(self,), name="wdtui-load-engine", daemon=True
        ).start()
        if self._on_top is not None:
            self.push_screen(self._on_top)

    @on(EngineLoaded)
    def _engine_loaded(self, message: EngineLoaded) -> None:
        self.explorer.engine_loaded(message.error)

    # ----- the command palette ----------------------------------------------------------------

    # Textual's own commands (theme, keys, quit, screenshot), and the keys and settings of the
    # screen the palette is opened from (tui/palette_commands.py).
    COMMANDS = App.COMMANDS | {ScreenCommands}

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Quit":  # ours saves the runs first
                yield SystemCommand(command.title, QUIT_HELP, command.callback)
            elif command.title == "Screenshot":  # ours is saved beside the runs
                yield SystemCommand(
                    "Save screenshot",
                    f"Save the screen as an SVG picture in {self._runs_dir()}/ (or, if that "
                    "cannot be written, the current folder); a note says where",
                    command.callback,
                )
            else:
                yield command

    def _runs_dir(self) -> str:
        return str(self.initial_config.runs_dir).rstrip("/") or "/"

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen in the runs folder (else the current one) and say where:
        Textual's default, ~/Downloads, is often missing on a server. A failure is one line."""
        try:
            saved = save_screenshot(
                self.export_screenshot(),
                self._runs_dir() if path is None else path,
                filename or screenshot_name(),
            )
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error", markup=False)
            return None
        self.notify(f"screenshot saved: {saved}", markup=False)
        return str(saved)

    def action_command_palette(self) -> None:
        # Textual's palette, with its PageUp/PageDown crash worked around (tui/palette.py).
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(Palette(id="--command-palette"))

    # ----- screens ----------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_sweep(self) -> None:
        if isinstance(self.screen, SweepScreen):
            return
        config = self.explorer.live.settings()  # the live lr, if keys changed it
        if self._sweep_screen is None:
            self._sweep_screen = SweepScreen(config, datasets=self.datasets)
            self.install_screen(self._sweep_screen, "sweep")
        else:
            self._sweep_screen.use_config(config)
        self.push_screen("sweep")

    @on(SweepScreen.ApplyLam)
    def _sweep_apply(self, message: SweepScreen.ApplyLam) -> None:
        self.explorer.apply_sweep_lam(message.lam)

    @on(SweepScreen.SweepAgain)
    def _sweep_again(self, message: SweepScreen.SweepAgain) -> None:
        """A saved sweep's λ values, trained again in the sweep view (which refuses while a
        sweep of its own is running, as it always does)."""
        while self.screen is not self.explorer and len(self.screen_stack) > 1:
            self.pop_screen()
        self.action_sweep()
        if self._sweep_screen is not None:
            self._sweep_screen.start_with(message.lams_text)

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
        self._quitting = True
        jobs = self._stop_runs()
        if not self._hung_up and all(job.join(0) for job in jobs):  # nothing running
            self.exit(0)
            return
        threading.Thread(
            target=_join_then_tell, args=(self, jobs), name="wdtui-quit", daemon=True
        ).start()

    async def _show_quitting(self) -> None:
        """While the runs save: the explorer (where the note is), the note, and the Footer
        down to the one key still live."""
        if self.return_code is not None:  # already on its way out
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.explorer.set_note(QUIT_NOTE)
        self.refresh_bindings()

    @on(RunsSaved)
    def _runs_saved(self) -> None:
        self.exit(0)

    def _stop_runs(self) -> list[Trainer | Sweep | RaySweep]:
        """Ask the sweep and the trainers to stop (at their next step), and start no other;
        returns them to join."""
        jobs: list[Trainer | Sweep | RaySweep] = []
        if self._sweep_screen is not None:
            sweep = self._sweep_screen.stop_sweep()
            if sweep is not None:
                jobs.append(sweep)
        jobs.extend(self.explorer.live.close())
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
        for job in self._stop_runs():
            if not self._abandoned:
                job.join()
        self._remove_signal_handlers()


def live_trainer_threads() -> list[threading.Thread]:
    """Trainer threads still alive (tests and the benchmark check this after quitting)."""
    return [t for t in threading.enumerate() if t.name == "wdtui-trainer" and t.is_alive()]


__all__ = ["QUIT_NOTE", "WeightDecayApp", "live_trainer_threads"]
