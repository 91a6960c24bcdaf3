"""The training loop, on its own thread, steerable while it runs.

Commands (λ, lr, pause, resume, stop) are queued from any thread and applied between two
optimizer steps, so the next epoch event shows them. Events go to one callback, called on the
trainer's thread; the trainer never waits for whoever consumes them.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from engine.config import ConfigError, RunConfig, check_lam, check_lr
from engine.data import Dataset, epoch_batches, load_dataset
from engine.device import resolve_device
from engine.diagnosis import divergence_cause
from engine.events import (
    Epoch,
    Event,
    Finished,
    ParamInfo,
    ParamStats,
    Started,
    StateChanged,
    TensorWeights,
)
from engine.limits import check_fits
from engine.models import build_model
from engine.regularization import (
    build_optimizer,
    loss_lam,
    set_optimizer_lam,
    set_optimizer_lr,
    split_parameters,
    squared_norm,
)
from engine.ridge import RidgePath, converges_to_ridge
from engine.store import RunRecorder, config_record, new_run_dir
from engine.threads import cpu_threads

EventSink = Callable[[Event], None]
# Per-parameter statistics at most 4 times a second: the explorer's weight tables redraw at that
# rate, and on a slow epoch (a wide MLP) computing them every epoch costs a few percent.
STATS_INTERVAL_S = 0.25
SMALL_MODEL_WEIGHTS = 32  # show the weights themselves up to this many


def stopped_message(epochs: int, partial_steps: int, steps_per_epoch: int) -> str:
    """What a stop says: the epochs done, and the steps into the next one the weights include."""
    message = f"stopped by request after epoch {epochs}"
    if partial_steps:
        message += (
            f" and {partial_steps} of {steps_per_epoch} steps of epoch {epochs + 1} "
            "(the final weights include those steps)"
        )
    return message


@dataclass(frozen=True)
class _EpochEnd:
    """An epoch measured at its final weights, waiting for its train loss (see _train_epoch)."""

    epoch: int
    test: torch.Tensor | None
    sq_norm: torch.Tensor
    lam: float
    lr: float
    elapsed_s: float
    stats: tuple[ParamStats, ...] | None


class Trainer:
    """One training run. Construct it (validates and loads everything, may raise ConfigError),
    then `start()` it on a thread or `run()` it on this one."""

    def __init__(
        self,
        config: RunConfig,
        on_event: EventSink,
        *,
        dataset: Dataset | None = None,
        stats_interval_s: float = STATS_INTERVAL_S,
    ) -> None:
        self.config = config.resolved()
        self.device = resolve_device(self.config.device)
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
        d = self.dataset
        check_fits(self.config, d.n_features, d.n_train + d.n_test, self.device)
        self._on_event = on_event
        self._stats_interval_s = stats_interval_s

        self.model = build_model(self.config, self.dataset.n_features).to(self.device)
        penalized, free = split_parameters(self.model, self.config.decay_bias)
        self._penalized_names = {name for name, _ in penalized}
        self._penalized = [p for _, p in penalized]
        self._lam = self.config.effective_lam
        self._loss_lam = loss_lam(self.config.reg, self._lam)  # λ inside the loss (l2 only)
        self._lr = float(self.config.lr)  # type: ignore[arg-type]
        self.optimizer = build_optimizer(
            self.config, self._penalized, [p for _, p in free], self._lam, self._lr
        )

        self._x, self._y = d.x_train.to(self.device), d.y_train.to(self.device)
        self._x_test = None if d.x_test is None else d.x_test.to(self.device)
        self._y_test = None if d.y_test is None else d.y_test.to(self.device)
        self._batch_generator = torch.Generator().manual_seed(self.config.seed + 2)

        self._lock = threading.Lock()
        self._commands: list[tuple[str, Any]] = []
        self._wake = threading.Event()  # set whenever a command is queued
        self._stop = threading.Event()
        self._paused = False
        self._recorder: RunRecorder | None = None
        self._thread: threading.Thread | None = None
        self.status = "ready"
        self.epoch = 0  # epochs trained and reported
        self._diverged: tuple[str, str] | None = None
        self.run_dir = (
            new_run_dir(self.config.runs_dir, self._run_label()) if self.config.save else None
        )

    # ----- commands: safe from any thread -------------------------------------------------

    def set_lam(self, lam: float) -> None:
        lam = check_lam(lam)
        if self.config.reg == "none":
            raise ConfigError("mode 'none' has no penalty: restart with --reg l2 or wd to use λ")
        self._queue("lam", lam)

    def set_lr(self, lr: float) -> None:
        self._queue("lr", check_lr(lr))

    def pause(self) -> None:
        self._queue("pause", None)

    def resume(self) -> None:
        self._queue("resume", None)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="wdtui-trainer", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def lam(self) -> float:
        return self._lam

    @property
    def lr(self) -> float:
        return self._lr

    def parameter_info(self) -> tuple[ParamInfo, ...]:
        return tuple(
            ParamInfo(name, tuple(p.shape), name in self._penalized_names)
            for name, p in self.model.named_parameters()
        )

    def ridge(self) -> RidgePath | None:
        """The closed-form optimum, where training converges to it (see converges_to_ridge)."""
        if not converges_to_ridge(self.config):
            return None
        return RidgePath(self.dataset.x_train, self.dataset.y_train, self.config.decay_bias)

    # ----- the loop -------------------------------------------------------------------------

    def run(self) -> Finished:
        """Train to the end (or stop/divergence/failure) on the calling thread."""
        with cpu_threads(self.device, self.config.cpu_threads):
            return self._run()

    def _run(self) -> Finished:
        recorder: RunRecorder | None = None
        status, message = "completed", ""
        self._t0, self._paused_s, self._last_stats = time.perf_counter(), 0.0, float("-inf")
        self._pending: _EpochEnd | None = None
        self._partial_steps = 0
        try:
            self.status = "running"
            if self.run_dir is not None:
                recorder = self._recorder = RunRecorder(
                    self.run_dir, config_record(self.config.to_dict(), self.device, self.dataset)
                )
            self._emit(self._started_event())
            for epoch in range(1, int(self.config.epochs) + 1):  # type: ignore[arg-type]
                ended = self._train_epoch(epoch)
                if ended:
                    status, message = ended
                    break
            else:
                self._report_last_epoch()
                if self._diverged is not None:
                    status, message = self._diverged
        except Exception as exc:  # the thread must end with an event, never a traceback
            status, message = "failed", f"{type(exc).__name__}: {exc}"
        finished = Finished(
            status,
            self.epoch,
            message,
            self._weights(),
            self._run_dir_text(),
            self._partial_steps,
        )
        try:
            if recorder is not None:
                recorder.close(self.model.state_dict())
        except Exception as exc:
            note = f"saving failed: {exc}"
            message = f"{message}; {note}" if message else note
            finished = replace(finished, status="failed", message=message)
        self.status = finished.status  # only once the files are saved
        # A consumer that fails on the last event cannot be told anything more.
        with contextlib.suppress(Exception):
            self._emit(finished)
        return finished

    def _train_epoch(self, epoch: int) -> tuple[str, str] | None:
        """One pass over the training rows, then the epoch's report. Returns (status, message)
        when the run ends here instead: a stop, or a divergence found in a report.

        The whole step is visible here. Commands and the stop flag are looked at before a step,
        never after it, so a stop leaves the weights of the last step that was reported. A
        full-batch step's data loss is the previous epoch's train loss (the same weights, the
        same rows), so that epoch is reported from this forward pass instead of a second one.
        """
        model, optimizer = self.model, self.optimizer
        batches = epoch_batches(
            self._x.shape[0],
            int(self.config.batch_size),  # type: ignore[arg-type]
            self._batch_generator,
            self.device,
        )
        batch_mean = self.config.train_loss == "batch-mean"
        loss_sum = torch.zeros((), device=self.device) if batch_mean else None
        for step, idx in enumerate(batches if batches is not None else (None,)):
            xb, yb = (self._x, self._y) if idx is None else (self._x[idx], self._y[idx])
            data_loss = F.mse_loss(model(xb), yb)
            if self._pending is not None and not self._report(data_loss.detach()):
                return self._diverged  # type: ignore[return-value]
            if self._wake.is_set():
                self._service_commands()
            if self._stop.is_set():
                self._partial_steps = step
                steps = 0 if batches is None else len(batches)
                return "stopped", stopped_message(self.epoch, step, steps)
            loss = data_loss
            if self._loss_lam:  # l2 mode: the penalty is part of the loss
                loss = loss + self._loss_lam * squared_norm(self._penalized)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if loss_sum is not None:
                loss_sum += data_loss.detach() * yb.shape[0]
        self._pending = self._epoch_end(epoch)
        if loss_sum is not None:
            train = loss_sum / self._y.shape[0]
        elif batches is not None:  # minibatches: the loss at the final weights costs a pass
            train = self._full_train_loss()
        else:
            return None  # reported by the next step's forward pass, or _report_last_epoch
        return None if self._report(train) else self._diverged

    def _report_last_epoch(self) -> None:
        if self._pending is not None:
            self._report(self._full_train_loss())

    @torch.no_grad()
    def _full_train_loss(self) -> torch.Tensor:
        return F.mse_loss(self.model(self._x), self._y)

    @torch.no_grad()
    def _epoch_end(self, epoch: int) -> _EpochEnd:
        """What an epoch's report needs from its final weights, before the next step moves
        them: the test loss and ‖w‖² as device tensors (no host sync yet), the statistics."""
        now = time.perf_counter()
        stats = None
        if epoch == self.config.epochs or now - self._last_stats >= self._stats_interval_s:
            stats, self._last_stats = self._param_stats(), now
        test = None
        if self._x_test is not None:
            test = F.mse_loss(self.model(self._x_test), self._y_test)
        return _EpochEnd(
            epoch,
            test,
            squared_norm(self._penalized),
            self._lam,
            self._lr,
            now - self._t0 - self._paused_s,
            stats,
        )

    def _report(self, train: torch.Tensor) -> bool:
        """Complete the pending epoch with its train loss (one host sync), record it, then tell
        the consumer. False when the run diverged there (self._diverged says how)."""
        end, self._pending = self._pending, None
        assert end is not None
        test = train if end.test is None else end.test
        train_loss, test_loss, sq_norm = torch.stack([train, test, end.sq_norm]).tolist()
        penalty = end.lam * sq_norm
        event = Epoch(
            epoch=end.epoch,
            train_loss=train_loss,
            test_loss=test_loss if end.test is not None else None,
            penalty=penalty,
            objective=train_loss + penalty,
            weight_sq_norm=sq_norm,
            lam=end.lam,
            lr=end.lr,
            elapsed_s=end.elapsed_s,
            param_stats=end.stats,
        )
        if self._recorder is not None:  # on disk before any consumer sees it
            self._recorder.log_epoch(
                (
                    event.epoch,
                    event.train_loss,
                    event.test_loss,
                    event.penalty,
                    event.objective,
                    event.weight_sq_norm,
                    event.lam,
                    event.lr,
                    round(event.elapsed_s, 6),
                )
            )
        self.epoch = end.epoch
        self._emit(event)
        if math.isfinite(train_loss):
            return True
        self._diverged = (
            "diverged",
            f"diverged at epoch {end.epoch}: the training loss is {train_loss} "
            f"({self._divergence_hint(end)})",
        )
        return False

    def _divergence_hint(self, end: _EpochEnd) -> str:
        return divergence_cause(self.config, self.dataset, end.lam, end.lr)

    def _param_stats(self) -> tuple[ParamStats, ...]:
        named = list(self.model.named_parameters())
        rows = torch.stack(
            [
                torch.stack([p.norm(), p.mean(), p.std(unbiased=False), p.abs().max()])
                for _, p in named
            ]
        ).tolist()
        show_values = sum(p.numel() for _, p in named) <= SMALL_MODEL_WEIGHTS
        return tuple(
            ParamStats(
                name=name,
                shape=tuple(p.shape),
                penalized=name in self._penalized_names,
                norm=row[0],
                mean=row[1],
                std=row[2],
                max_abs=row[3],
                values=tuple(p.detach().reshape(-1).tolist()) if show_values else None,
            )
            for (name, p), row in zip(named, rows, strict=True)
        )

    def _service_commands(self) -> None:
        """Apply queued commands; while paused, wait here, between two optimizer steps."""
        was_paused, paused_at = self._paused, 0.0
        while True:
            with self._lock:
                commands, self._commands = self._commands, []
                self._wake.clear()
            for name, value in commands:
                if name == "lam":
                    self._lam, self._loss_lam = value, loss_lam(self.config.reg, value)
                    set_optimizer_lam(self.optimizer, self.config.reg, value)
                elif name == "lr":
                    self._lr = value
                    set_optimizer_lr(self.optimizer, value)
                elif name == "pause":
                    self._paused = True
                elif name == "resume":
                    self._paused = False
            if self._paused != was_paused:
                was_paused = self._paused
                if self._paused:
                    paused_at = time.perf_counter()  # the pause is not training time
                    if self._recorder is not None:
                        # Whoever sees `paused` finds every reported epoch on disk.
                        self._recorder.flush()
                else:
                    self._paused_s += time.perf_counter() - paused_at
                self.status = "paused" if self._paused else "running"
                self._emit(StateChanged(self.status))
            if not self._paused or self._stop.is_set():
                break
            self._wake.wait()

    def _queue(self, name: str, value: Any) -> None:
        with self._lock:
            self._commands.append((name, value))
            self._wake.set()

    def _emit(self, event: Event) -> None:
        self._on_event(event)

    # ----- descriptions -------------------------------------------------------------------

    def _started_event(self) -> Started:
        return Started(
            config=self.config.to_dict(),
            device=str(self.device),
            parameters=self.parameter_info(),
            run_dir=self._run_dir_text(),
            n_train=self.dataset.n_train,
            n_test=self.dataset.n_test,
            feature_names=tuple(self.dataset.feature_names),
            true_weights=self._true_weights(),
        )

    def _true_weights(self) -> dict[str, list[float]] | None:
        d = self.dataset
        if self.config.model != "linear" or d.true_weight is None or d.true_bias is None:
            return None
        return {"weight": d.true_weight.tolist(), "bias": [d.true_bias]}

    def _weights(self) -> TensorWeights:
        return TensorWeights(
            {name: p.detach().cpu().clone() for name, p in self.model.named_parameters()}
        )

    def _run_dir_text(self) -> str | None:
        return None if self.run_dir is None else str(self.run_dir)

    def _run_label(self) -> str:
        c = self.config
        return f"{c.source_name}-{c.model}-{c.optimizer}-{c.reg}"
