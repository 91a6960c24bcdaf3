"""The training loop, on its own thread, steerable while it runs.

Commands (λ, lr, pause, resume, a one-epoch step while paused, the pace, a snapshot of the
weights, stop) are queued from any thread and applied between two optimizer steps, so the next
epoch event shows them.
A scripted schedule (engine/schedule.py) changes λ and lr at chosen steps the same way; every
change applied, scripted or live, is recorded with its step, so a replay repeats it exactly.
The pace caps epochs per second, for a person to watch; it never changes what is trained.
Events go to one callback, called on the trainer's thread; the trainer never waits for whoever
consumes them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from engine.config import ConfigError, RunConfig, check_lam, check_lr, check_pace
from engine.data import Dataset, load_dataset, true_parameters
from engine.device import resolve_device
from engine.diagnosis import divergence_cause
from engine.events import (
    Changed,
    Epoch,
    Event,
    Finished,
    ParamInfo,
    ParamStats,
    Started,
    StateChanged,
    TensorWeights,
    WeightsSnapshot,
)
from engine.job import DeviceData, Job, describe, save_files, stopped_message, with_note
from engine.limits import check_fits
from engine.models import (
    LINEAR_CLASSIFIER_WEIGHTS,
    SMALL_MODEL_WEIGHTS,
    STATS_INTERVAL_S,
    build_model,
    check_batch_norm_rows,
    evaluating,
    has_batch_norm,
    parameter_stats,
)
from engine.regularization import (
    build_optimizer,
    decayed_names,
    float32_square,
    float32_sum,
    loss_lam,
    scale_invariant,
    set_optimizer_lam,
    set_optimizer_lr,
    split_parameters,
    squared_norm,
)
from engine.ridge import RidgePath
from engine.schedule import Change, schedule_label, steps_of
from engine.store import RunRecorder, config_record, new_run_dir
from engine.tasks import exact_share, task_for
from engine.update_split import NoSplit, UpdateSplit, combined

EventSink = Callable[[Event], None]


@dataclass(frozen=True)
class _EpochEnd:
    """An epoch measured at its final weights, waiting for its train loss (see _train_epoch)."""

    epoch: int
    test: torch.Tensor | None
    test_accuracy: torch.Tensor | None
    # Each weight's ‖w‖ (`layer_names` on Started), then the per-parameter norms of the
    # epoch's update and its data and decay parts (engine/update_split.py; none when not
    # measured), all in the report's one host sync.
    norms: list[torch.Tensor]
    lam: float
    lr: float
    elapsed_s: float
    stats: tuple[ParamStats, ...] | None


class Trainer(Job[Event, Finished]):
    """One training run. Construct it (validates and loads everything, may raise ConfigError),
    then `start()` it on a thread or `run()` it on this one."""

    thread_name = "wdtui-trainer"

    def __init__(
        self,
        config: RunConfig,
        on_event: EventSink,
        *,
        dataset: Dataset | None = None,
        stats_interval_s: float = STATS_INTERVAL_S,
        pace: float | None = None,
        split_updates: bool = True,
    ) -> None:
        self.config = config.resolved()
        device = resolve_device(self.config.device)
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
        self.task = task_for(self.dataset)
        d = self.dataset
        outputs = self.task.output_width(d)
        check_fits(self.config, d.n_features, d.n_train + d.n_test, device, n_outputs=outputs)
        check_batch_norm_rows(self.config, d.n_train)
        self._stats_interval_s = stats_interval_s

        self.model = build_model(self.config, d.n_features, outputs).to(device)
        penalized, free = split_parameters(self.model, self.config)
        # What λ decays in l2 and wd; ‖w‖² (weight_sq_norm) is over these in every mode, so
        # mode none's ‖w‖² compares with λ = 0's. Mode none penalizes nothing: every
        # parameter is reported unpenalized (ParamInfo, ParamStats).
        self._penalized: list[torch.Tensor] = [p for _, p in penalized]
        self._penalized_names = decayed_names(self.model, self.config)
        # BatchNorm: the reported losses are measured in eval mode (running statistics), so a
        # full batch too takes the extra pass (see _train_epoch).
        self._eval_passes = has_batch_norm(self.model)
        self._lam = self.config.effective_lam
        self._loss_lam = loss_lam(self.config.reg, self._lam)  # λ inside the loss (l2 only)
        self._lr = check_lr(self.config.lr)
        self.optimizer = build_optimizer(
            self.config, self._penalized, [p for _, p in free], self._lam, self._lr
        )
        self.data = DeviceData(d, device, self.config.seed, self.config.batch_size or 0)
        # Each epoch's update split into its data and decay parts; off only for a benchmark's
        # side-by-side comparison (benchmarks/bench_update_split.py).
        self._split: UpdateSplit | NoSplit = (
            UpdateSplit(
                self._penalized,
                self.optimizer,
                optimizer_name=self.config.optimizer,
                reg=self.config.reg,
                momentum=self.config.momentum,
            )
            if split_updates
            else NoSplit(self._penalized)
        )
        self._layer_names = tuple(name for name, _ in penalized)
        self._steps_per_epoch = self.data.steps_per_epoch
        self._scheduled = deque(steps_of(self.config.schedule, self._steps_per_epoch))
        self._at = (1, 0)  # (epoch, optimizer steps taken): where a change now would apply
        self.changes: list[Change] = []  # every change applied, in order

        self._lock = threading.Lock()
        self._commands: list[tuple[str, Any]] = []
        self._wake = threading.Event()  # set whenever a command is queued
        self._paused = False
        self._pace = check_pace(pace)  # the most epochs/s; None: as fast as it can
        self._pause_before: int | None = None  # one-epoch step: pause again at this epoch
        self._classes = self.dataset.classes is not None  # accuracies are measured too
        self._recorder: RunRecorder | None = None
        self._diverged: tuple[str, str] | None = None
        super().__init__(
            on_event,
            device,
            self.config.cpu_threads,
            new_run_dir(self.config.runs_dir, self._run_label()) if self.config.save else None,
        )

    # ----- commands: safe from any thread -------------------------------------------------

    def set_lam(self, lam: float) -> None:
        lam = check_lam(lam)
        if self.config.reg == "none":
            raise ConfigError(
                "mode 'none' has no penalty: set mode l2 or wd (--reg) and restart to use λ"
            )
        self._queue("lam", lam)

    def set_lr(self, lr: float) -> None:
        self._queue("lr", check_lr(lr))

    def pause(self) -> None:
        self._queue("pause", None)

    def resume(self) -> None:
        self._queue("resume", None)

    def step_epoch(self) -> None:
        """While paused: train to the end of the epoch under way, then pause again."""
        self._queue("step", None)

    def set_pace(self, pace: float | None) -> None:
        """Train at most `pace` epochs per second from now on (None: as fast as it can)."""
        self._queue("pace", check_pace(pace))

    def snapshot(self) -> None:
        """Send a WeightsSnapshot of the weights as they are now, between two steps, once
        every reported epoch is in metrics.csv (the explorer's download, D). Nothing in the
        run folder changes, and nothing trained does. A run that ends first sends none."""
        self._queue("snapshot", None)

    def stop(self) -> None:
        super().stop()
        self._wake.set()

    @property
    def lam(self) -> float:
        return self._lam

    @property
    def position(self) -> tuple[int, int]:
        """(epoch, optimizer steps taken over the run): where a change now would apply."""
        return self._at

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    @property
    def lr(self) -> float:
        return self._lr

    def parameter_info(self) -> tuple[ParamInfo, ...]:
        return tuple(
            ParamInfo(name, tuple(p.shape), name in self._penalized_names)
            for name, p in self.model.named_parameters()
        )

    def ridge(self) -> RidgePath | None:
        """The closed-form optimum, where training converges to it (the task says where)."""
        if not self.task.has_closed_form(self.config):
            return None
        return RidgePath(self.dataset.x_train, self.dataset.y_train, self.config.decay_bias)

    # ----- the loop -------------------------------------------------------------------------

    def _train(self) -> tuple[str, str]:
        self._t0, self._paused_s, self._last_stats = time.perf_counter(), 0.0, float("-inf")
        self._epoch_due = 0.0  # when the next epoch may start, at the pace
        self._pending: _EpochEnd | None = None
        self._partial_steps = 0
        if self.run_dir is not None:
            self._recorder = RunRecorder(
                self.run_dir, config_record(self.config.to_dict(), self.device, self.dataset)
            )
        self._emit(self._started_event())
        for epoch in range(1, (self.config.epochs or 0) + 1):
            ended = self._train_epoch(epoch)
            if ended:
                return ended
        self._report_last_epoch()
        return self._diverged or ("completed", "")

    def _finish(self, status: str, message: str) -> Finished:
        try:
            weights = self._weights()
        except Exception as exc:  # e.g. the device failed: report without the weights
            weights, status = TensorWeights({}), "failed"
            message = with_note(message, f"reading the weights failed: {describe(exc)}")
        finished = Finished(
            status, self.epoch, message, weights, self.run_dir_text, self._partial_steps
        )
        return save_files(finished, self._recorder, self.model.state_dict)

    def _train_epoch(self, epoch: int) -> tuple[str, str] | None:
        """One pass over the training rows, then the epoch's report. Returns (status, message)
        when the run ends here instead: a stop, or a divergence found in a report.

        The whole step is visible here. Commands and the stop flag are looked at before a step,
        never after it, so a stop leaves the weights of the last step that was reported. A
        full-batch step's data loss is the previous epoch's train loss (the same weights, the
        same rows), so that epoch is reported from this forward pass instead of a second one.
        """
        model, optimizer, data, task = self.model, self.optimizer, self.data, self.task
        order = data.epoch_order()
        batch_mean = self.config.train_loss == "batch-mean"
        # Σ over the epoch's minibatches of (loss, accuracy) × rows, for batch-mean.
        sums = torch.zeros(2, device=self.device) if batch_mean else None
        for step, idx in enumerate(order or (None,)):
            xb, yb = data.batch(idx)
            out = model(xb)
            data_loss = task.loss(out, yb)
            if self._pending is not None and (
                diverged := self._report(data_loss.detach(), task.accuracy(out.detach(), yb))
            ):
                return diverged
            self._at = (epoch, (epoch - 1) * self._steps_per_epoch + step)
            while self._scheduled and self._scheduled[0][0] == self._at[1]:
                self._apply(self._scheduled.popleft()[1])
            if step == 0:
                self._epoch_starts(epoch)
            if self._wake.is_set():
                self._service_commands()
            if self._stop.is_set():
                self._partial_steps = step
                steps = 0 if order is None else len(order)
                return "stopped", stopped_message(self.epoch, step, steps)
            loss = data_loss
            if self._loss_lam:  # l2 mode: the penalty is part of the loss
                loss = loss + self._loss_lam * squared_norm(self._penalized)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._split.before_step(self._lam, self._lr)  # the decay's part of this step
            optimizer.step()
            self._split.after_step()
            if sums is not None:
                accuracy = task.accuracy(out.detach(), yb)
                sums[0] += data_loss.detach() * yb.shape[0]
                sums[1] += (0.0 if accuracy is None else accuracy) * yb.shape[0]
        self._pending = self._epoch_end(epoch)
        if sums is not None:
            train, accuracy = sums / data.rows
            return self._report(train, accuracy if self._classes else None)
        # Minibatches: the loss at the final weights costs a pass. So does a full batch with
        # BatchNorm: the next step's forward pass is in training mode (batch statistics), not
        # the eval-mode loss reported.
        if order is not None or self._eval_passes:
            return self._report(*self._full_train_loss())
        return None  # reported by the next step's forward pass, or _report_last_epoch

    def _epoch_starts(self, epoch: int) -> None:
        """Before an epoch's first step: pause here after a one-epoch step, and wait for the
        pace (answering commands meanwhile; the wait counts as training time, so epochs/s
        shows the pace)."""
        if epoch == self._pause_before:
            self._pause_before = None
            self._queue("pause", None)
        while self._pace is not None and not self._stop.is_set() and not self._paused:
            remaining = self._epoch_due - time.perf_counter()
            if remaining <= 0:
                break
            if self._wake.wait(remaining):
                self._service_commands()
        if self._pace is not None:
            self._epoch_due = time.perf_counter() + 1 / self._pace

    def _report_last_epoch(self) -> None:
        if self._pending is not None:
            self._report(*self._full_train_loss())

    @torch.no_grad()
    def _full_train_loss(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The loss and the accuracy over every training row, at the weights now (in eval mode:
        BatchNorm's running statistics)."""
        with evaluating(self.model, self._eval_passes):
            out = self.model(self.data.x)
        return self.task.loss(out, self.data.y), self.task.accuracy(out, self.data.y)

    @torch.no_grad()
    def _epoch_end(self, epoch: int) -> _EpochEnd:
        """What an epoch's report needs from its final weights, before the next step moves
        them: the test loss and ‖w‖² as device tensors (no host sync yet), the statistics."""
        now = time.perf_counter()
        stats = None
        if epoch == self.config.epochs or now - self._last_stats >= self._stats_interval_s:
            stats, self._last_stats = self._param_stats(), now
        test = test_accuracy = None
        if self.data.test is not None:
            x_test, y_test = self.data.test
            with evaluating(self.model, self._eval_passes):  # BatchNorm: running statistics
                out = self.model(x_test)
            test, test_accuracy = self.task.loss(out, y_test), self.task.accuracy(out, y_test)
        return _EpochEnd(
            epoch,
            test,
            test_accuracy,
            self._split.epoch_end(),  # each weight's ‖w‖, then the update split's norms
            self._lam,
            self._lr,
            now - self._t0 - self._paused_s,
            stats,
        )

    def _report(
        self, train: torch.Tensor, train_accuracy: torch.Tensor | None
    ) -> tuple[str, str] | None:
        """Complete the pending epoch with its train loss and accuracy (one host sync),
        record it, then tell the consumer. Returns ("diverged", why) when the run diverged
        there."""
        end, self._pending = self._pending, None
        assert end is not None
        test = train if end.test is None else end.test
        measured = [train, test]
        if train_accuracy is not None:  # classification: the accuracies in the same sync
            measured.append(train_accuracy)
            measured.append(train_accuracy if end.test_accuracy is None else end.test_accuracy)
        numbers = torch.stack([*measured, *end.norms]).tolist()
        train_loss, test_loss, *accuracies = numbers[: len(measured)]
        layers = len(measured) + len(self._penalized)
        layer_sq = [float32_square(v) for v in numbers[len(measured) : layers]]
        sq_norm = float32_sum(layer_sq)  # Σ‖w‖², from the norms: no ops of its own
        update = data_part = decay_part = None
        if len(numbers) > layers:
            update, data_part, decay_part = combined(numbers[layers:])
        train_acc = test_acc = None
        if accuracies:
            train_acc = exact_share(accuracies[0], self.dataset.n_train)
            if end.test_accuracy is not None:
                test_acc = exact_share(accuracies[1], self.dataset.n_test)
        # λ = 0 adds nothing, even to an overflowed ‖w‖² (0·inf would be nan).
        penalty = end.lam * sq_norm if end.lam else 0.0
        # Diverged: the first non-finite train loss, or test loss (weights grown so large that
        # the held-out rows' error overflows while the training rows' does not yet).
        diverged = not (
            math.isfinite(train_loss) and (end.test is None or math.isfinite(test_loss))
        )
        stats = end.stats
        if diverged and stats is None:
            # The run ends here: its last epoch carries fresh statistics, as a completed run's
            # does. The weights are still this epoch's final ones (no step since _epoch_end).
            stats = self._param_stats()
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
            param_stats=stats,
            train_accuracy=train_acc,
            test_accuracy=test_acc,
            update_norm=update,
            data_update_norm=data_part,
            decay_update_norm=decay_part,
            layer_sq_norms=tuple(layer_sq),
        )
        if self._recorder is not None:  # on disk before any consumer sees it
            self._recorder.log_epoch(event)
        self.epoch = end.epoch
        self._emit(event)
        if not diverged:
            return None
        on_test = math.isfinite(train_loss)  # only the test loss is non-finite
        hint = divergence_cause(
            self.config, self.dataset, end.lam, end.lr, loss="test" if on_test else "train"
        )
        which = f"test loss is {test_loss}" if on_test else f"training loss is {train_loss}"
        self._diverged = ("diverged", f"diverged at epoch {end.epoch}: the {which} ({hint})")
        return self._diverged

    def _param_stats(self) -> tuple[ParamStats, ...]:
        # A linear classifier's weights come along (its class templates: the explorer's t).
        linear_classifier = self._classes and self.config.model == "linear"
        limit = LINEAR_CLASSIFIER_WEIGHTS if linear_classifier else SMALL_MODEL_WEIGHTS
        return parameter_stats(self.model.named_parameters(), self._penalized_names, limit)

    def _service_commands(self) -> None:
        """Apply queued commands; while paused, wait here, between two optimizer steps."""
        was_paused, paused_at = self._paused, 0.0
        while True:
            with self._lock:
                commands, self._commands = self._commands, []
                self._wake.clear()
            for name, value in commands:
                if name in ("lam", "lr"):
                    self._apply(Change(self._at[0], name, value, self._at[1], "live"))
                elif name == "pause":
                    self._paused = True
                elif name == "resume":
                    self._paused = False
                elif name == "step" and self._paused:  # not held back by the pace
                    self._paused, self._pause_before = False, self.epoch + 2
                    self._epoch_due = 0.0
                elif name == "pace":
                    self._pace, self._epoch_due = value, 0.0
                elif name == "snapshot":
                    self._emit(self._snapshot())
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

    @torch.no_grad()
    def _snapshot(self) -> WeightsSnapshot:
        if self._recorder is not None:
            # Whoever gets the snapshot finds every reported epoch in metrics.csv.
            self._recorder.flush()
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return WeightsSnapshot(self.epoch, self._at[1], state)

    def _apply(self, change: Change) -> None:
        """Change λ or lr before the next optimizer step; record it with that step."""
        if change.key == "lam":
            self._lam, self._loss_lam = change.value, loss_lam(self.config.reg, change.value)
            set_optimizer_lam(self.optimizer, self.config.reg, change.value)
        else:
            self._lr = change.value
            set_optimizer_lr(self.optimizer, change.value)
        timed = Change(self._at[0], change.key, change.value, self._at[1], change.source)
        self.changes.append(timed)
        if self._recorder is not None:
            self._recorder.log_change(timed)
        self._emit(Changed(timed))

    def _queue(self, name: str, value: Any) -> None:
        with self._lock:
            self._commands.append((name, value))
            self._wake.set()

    # ----- descriptions -------------------------------------------------------------------

    def _started_event(self) -> Started:
        invariant = scale_invariant(self.model)
        return Started(
            config={**self.config.to_dict(), "task": self.task.name},  # "auto", resolved
            device=str(self.device),
            parameters=self.parameter_info(),
            run_dir=self.run_dir_text,
            n_train=self.dataset.n_train,
            n_test=self.dataset.n_test,
            feature_names=tuple(self.dataset.feature_names),
            true_weights=true_parameters(self.config, self.dataset),
            baseline_test_loss=self.task.baseline_test_loss(self.dataset),
            test_target_variance=self.task.test_target_variance(self.dataset),
            classes=self.dataset.classes,
            layer_names=self._layer_names,
            scale_invariant=tuple(n for n, _ in self.model.named_parameters() if n in invariant),
        )

    def _weights(self) -> TensorWeights:
        return TensorWeights(
            {name: p.detach().cpu().clone() for name, p in self.model.named_parameters()}
        )

    def _run_label(self) -> str:
        c = self.config
        label = f"{c.source_name}-{c.model}-{c.optimizer}-{c.reg}-lam{c.effective_lam:g}"
        return "-".join(filter(None, (label, schedule_label(c.schedule))))
