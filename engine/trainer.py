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
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from engine.config import ConfigError, RunConfig, check_lam, check_lr
from engine.data import Dataset, epoch_batches, load_dataset
from engine.device import resolve_device
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
from engine.runs import RunRecorder, config_record, new_run_dir
from engine.threads import cpu_threads

EventSink = Callable[[Event], None]
STATS_INTERVAL_S = 0.05  # per-parameter statistics at most 20 times a second
SMALL_MODEL_WEIGHTS = 32  # show the weights themselves up to this many


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
        if self.config.reg == "none" and self.config.lam:
            self.config = replace(self.config, lam=0.0)
        self.device = resolve_device(self.config.device)
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
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

        d = self.dataset
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
        self.epoch = 0
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
        try:
            self.status = "running"
            if self.run_dir is not None:
                recorder = self._recorder = RunRecorder(
                    self.run_dir, config_record(self.config.to_dict(), self.device, self.dataset)
                )
            self._emit(self._started_event())
            for epoch in range(1, int(self.config.epochs) + 1):  # type: ignore[arg-type]
                if not self._train_epoch():
                    status, message = "stopped", f"stopped by request after epoch {self.epoch}"
                    break
                self.epoch = epoch
                event = self._measure(epoch, last=epoch == self.config.epochs)
                if recorder is not None:
                    recorder.log_epoch(
                        (
                            epoch,
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
                self._emit(event)
                if not math.isfinite(event.train_loss):
                    status = "diverged"
                    message = (
                        f"diverged at epoch {epoch}: the training loss is {event.train_loss} "
                        f"(lr {event.lr:g} is too large for this problem?)"
                    )
                    break
        except Exception as exc:  # the thread must end with an event, never a traceback
            status, message = "failed", f"{type(exc).__name__}: {exc}"
        finished = Finished(status, self.epoch, message, self._weights(), self._run_dir_text())
        self.status = status
        try:
            if recorder is not None:
                recorder.close(self.model.state_dict())
        except Exception as exc:
            finished = Finished("failed", self.epoch, f"saving failed: {exc}", finished.weights)
            self.status = "failed"
        # A consumer that fails on the last event cannot be told anything more.
        with contextlib.suppress(Exception):
            self._emit(finished)
        return finished

    def _train_epoch(self) -> bool:
        """One pass over the training rows; False if a stop arrived."""
        model, optimizer = self.model, self.optimizer
        batches = epoch_batches(
            self._x.shape[0],
            int(self.config.batch_size),
            self._batch_generator,
            self.device,  # type: ignore[arg-type]
        )
        for idx in batches if batches is not None else (None,):
            xb, yb = (self._x, self._y) if idx is None else (self._x[idx], self._y[idx])
            loss = F.mse_loss(model(xb), yb)
            if self._loss_lam:  # l2 mode: the penalty is part of the loss
                loss = loss + self._loss_lam * squared_norm(self._penalized)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if self._wake.is_set():
                self._service_commands()
            if self._stop.is_set():
                return False
        return True

    @torch.no_grad()
    def _measure(self, epoch: int, last: bool) -> Epoch:
        """The epoch's numbers at its final weights, with a single host sync."""
        train = F.mse_loss(self.model(self._x), self._y)
        test = (
            F.mse_loss(self.model(self._x_test), self._y_test)
            if self._x_test is not None
            else torch.full_like(train, float("nan"))
        )
        sq = squared_norm(self._penalized)
        train_loss, test_loss, sq_norm = torch.stack([train, test, sq]).tolist()
        now = time.perf_counter()
        stats = None
        if last or now - self._last_stats >= self._stats_interval_s:
            stats, self._last_stats = self._param_stats(), now
        penalty = self._lam * sq_norm
        return Epoch(
            epoch=epoch,
            train_loss=train_loss,
            test_loss=test_loss if self._x_test is not None else None,
            penalty=penalty,
            objective=train_loss + penalty,
            weight_sq_norm=sq_norm,
            lam=self._lam,
            lr=self._lr,
            elapsed_s=now - self._t0 - self._paused_s,
            param_stats=stats,
        )

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
        was_paused = self._paused
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
                self.status = "paused" if self._paused else "running"
                self._emit(StateChanged(self.status))
            if not self._paused or self._stop.is_set():
                break
            if self._recorder is not None:
                self._recorder.flush()  # a pause may be long: its rows reach the disk now
            waited_from = time.perf_counter()
            self._wake.wait()
            self._paused_s += time.perf_counter() - waited_from

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
