"""The batched λ sweep: one member per λ, all trained at once as one stacked model.

Every member is exactly the run `Trainer` makes with its λ: the same data, the same initial
weights (one `build_model` init, copied K times), the same minibatches (one shared shuffle from
the generator a run uses), the same optimizer arithmetic, the same epoch-end measurements.

Why the members' losses are summed: member j's loss does not depend on member k's parameters,
so ∂(Σ_j L_j)/∂θ_k = ∂L_k/∂θ_k exactly, and one backward pass gives every member its own
gradient. A mean would scale each gradient by 1/K: a different run (and, with Adam, a different
ε balance). SGD, Adam and AdamW are element-wise, so one optimizer over the stacked tensors is K
independent optimizers; per-member λ is applied by hand (see engine/sweep/decay.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import torch

from engine.config import ConfigError, RunConfig, check_lam, check_lr
from engine.data import Dataset, load_dataset
from engine.device import resolve_device
from engine.events import ParamInfo, TensorWeights
from engine.job import DeviceData, Job, describe, save_files, stopped_message, with_note
from engine.limits import check_fits
from engine.models import (
    SMALL_MODEL_WEIGHTS,
    STATS_INTERVAL_S,
    build_model,
    check_batch_norm_rows,
)
from engine.regularization import build_optimizer, penalized_names
from engine.ridge import member_optima
from engine.store import SweepRecorder, config_record, new_run_dir
from engine.sweep.best import best_by, choose_by
from engine.sweep.decay import MemberDecay
from engine.sweep.events import (
    MemberResult,
    SweepEpoch,
    SweepEvent,
    SweepFinished,
    SweepStarted,
)
from engine.sweep.freeze import FrozenMembers
from engine.sweep.model import StackedModel
from engine.tasks import exact_share, task_for

SweepSink = Callable[[SweepEvent], None]


class _Measured(NamedTuple):
    """One member's numbers at its last measured epoch."""

    train: float
    test: float | None
    sq_norm: float
    train_accuracy: float | None
    test_accuracy: float | None


class Sweep(Job[SweepEvent, SweepFinished]):
    """One λ sweep. Construct it (validates and loads everything, may raise ConfigError), then
    `start()` it on a thread or `run()` it on this one; `stop()` from any thread."""

    thread_name = "wdtui-sweep"

    def __init__(
        self,
        config: RunConfig,
        lams: Sequence[float],
        on_event: SweepSink,
        *,
        dataset: Dataset | None = None,
    ) -> None:
        self.config, self.lams = checked_sweep(config, lams)
        device = resolve_device(self.config.device)
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
        self.task = task_for(self.dataset)
        d = self.dataset
        outputs = self.task.output_width(d)
        rows = d.n_train + d.n_test
        check_fits(self.config, d.n_features, rows, device, members=len(lams), n_outputs=outputs)
        check_batch_norm_rows(self.config, d.n_train)
        k = len(self.lams)

        single = build_model(self.config, d.n_features, outputs)
        penalized = penalized_names(single, self.config)  # a run's rule (mode none is refused)
        self._param_info = tuple(
            ParamInfo(name, tuple(p.shape), name in penalized)
            for name, p in single.named_parameters()
        )
        self.model = StackedModel(single, k, self.config.activation, penalized, device)
        self._lr = check_lr(self.config.lr)
        # The same groups and hyper-parameters as a run's optimizer, weight_decay 0 everywhere.
        self.optimizer = build_optimizer(
            self.config, self.model.penalized, self.model.free, 0.0, self._lr
        )
        self._decay = MemberDecay(self.config.reg, self.config.optimizer, self.lams, device)
        self._frozen = FrozenMembers(self.model.params, self.optimizer)
        self.data = DeviceData(d, device, self.config.seed, self.config.batch_size or 0)

        self._batch_mean = self.config.train_loss == "batch-mean"
        self._loss_sums: torch.Tensor | None = None
        self._correct_sums: torch.Tensor | None = None
        self._partial_steps, self._partial_of = 0, 0
        self.member_status = ["running"] * k
        self.member_epochs = [0] * k
        self._last: list[_Measured | None] = [None] * k
        self.best_by = best_by(d.classes is not None, d.n_test > 0)
        self._t0 = time.perf_counter()
        self._recorder: SweepRecorder | None = None
        # Live weights for small models, throttled like a run's param_stats: one extra host
        # sync at most every STATS_INTERVAL_S, never per epoch.
        n_weights = sum(math.prod(p.shape) for p in self._param_info)
        self._live_weights = n_weights <= SMALL_MODEL_WEIGHTS
        self._weights_at = float("-inf")
        super().__init__(
            on_event,
            device,
            self.config.cpu_threads,
            new_run_dir(self.config.runs_dir, sweep_label(self.config, self.lams))
            if self.config.save
            else None,
        )

    def parameter_info(self) -> tuple[ParamInfo, ...]:
        """One member's parameters, named and shaped as in a single run."""
        return self._param_info

    # ----- the loop -------------------------------------------------------------------------

    def _train(self) -> tuple[str, str]:
        # One CPU thread by default (config.cpu_threads): measured on this 2-core box, 32 λ ×
        # 100 epochs of highdim took 0.06 s on one thread and 0.09 to 11.6 s on two, since its
        # stacked GEMMs get split and every split waits while the live run holds a core.
        self._t0 = time.perf_counter()
        if self.run_dir is not None:
            record = config_record(self._config_dict(), self.device, self.dataset)
            self._recorder = SweepRecorder(self.run_dir, record, self.lams)
        self._emit(self._started_event())
        for epoch in range(1, (self.config.epochs or 0) + 1):
            if "running" not in self.member_status:
                break
            if not self._train_epoch():
                return "stopped", stopped_message(self.epoch, self._partial_steps, self._partial_of)
            event = self._measure(epoch)
            if self._recorder is not None:
                trained = [e == epoch for e in self.member_epochs]
                self._recorder.log_epoch(event, trained)
            self.epoch = epoch  # on disk first, then announced
            self._emit(event)
        return "completed", ""

    def _train_epoch(self) -> bool:
        """One pass over the training rows for every member; False if a stop arrived (looked at
        before each step, so that a stop leaves the weights of the last reported epoch)."""
        model, optimizer, decay, data = self.model, self.optimizer, self._decay, self.data
        order = data.epoch_order()
        self._loss_sums = self._correct_sums = None
        for step, idx in enumerate(order or (None,)):
            if self._stop.is_set():
                self._partial_steps = step
                self._partial_of = 0 if order is None else len(order)
                return False
            xb, yb = data.batch(idx)
            prediction = model.forward(xb)
            member_losses = self.task.member_loss(prediction, yb)
            loss = member_losses.sum()  # the sum, never the mean: see the docstring
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            decay.before_step(model.penalized, self._lr)  # λ_k: l2 and wd, see decay.py
            optimizer.step()
            self._frozen.restore()
            if self._batch_mean:
                batch_sum = member_losses.detach() * yb.shape[0]
                previous: torch.Tensor | None = self._loss_sums
                self._loss_sums = batch_sum if previous is None else previous + batch_sum
                # The rows each member got right in this batch, at the weights it was scored
                # with (before the step), as its loss is.
                accuracy = self.task.member_accuracy(prediction.detach(), yb)
                if accuracy is not None:
                    correct = accuracy * yb.shape[0]
                    counted: torch.Tensor | None = self._correct_sums
                    self._correct_sums = correct if counted is None else counted + correct
        return True

    @torch.no_grad()
    def _measure(self, epoch: int) -> SweepEpoch:
        """The epoch's numbers for every member at its final weights, with one host sync: the
        losses, ‖w‖² and (classification) the accuracies are stacked into one tensor."""
        model, data, task = self.model, self.data, self.task
        if self._batch_mean and self._loss_sums is not None:
            # As a run does: the mean of the epoch's minibatch losses, and of their accuracies.
            train_losses = self._loss_sums / data.rows
            train_accuracy = None if self._correct_sums is None else self._correct_sums / data.rows
        else:
            prediction = model.forward(data.x, training=False)  # as a run's eval pass
            train_losses = task.member_loss(prediction, data.y)
            train_accuracy = task.member_accuracy(prediction, data.y)
        rows = [train_losses, model.member_sq_norms()]
        test_accuracy = None
        if data.test is not None:
            x_test, y_test = data.test
            prediction = model.forward(x_test, training=False)
            rows.append(task.member_loss(prediction, y_test))
            test_accuracy = task.member_accuracy(prediction, y_test)
        accuracies = [a for a in (train_accuracy, test_accuracy) if a is not None]
        values = torch.stack(rows + accuracies).tolist()
        train, sq = values[0], values[1]
        test = values[2] if data.test is not None else None
        train_acc = test_acc = None
        if train_accuracy is not None:
            at = len(rows)
            train_acc = [exact_share(v, data.rows) for v in values[at]]
            if test_accuracy is not None and data.x_test is not None:
                test_acc = [exact_share(v, data.x_test.shape[0]) for v in values[at + 1]]
        weights = None
        now = time.perf_counter()
        last = epoch == self.config.epochs
        if self._live_weights and (last or now - self._weights_at >= STATS_INTERVAL_S):
            weights = tuple(map(tuple, self.model.flat_weights().tolist()))
            self._weights_at = now
        newly_diverged = []
        for k, status in enumerate(self.member_status):
            if status != "running":
                continue
            self.member_epochs[k] = epoch
            self._last[k] = _Measured(
                train[k],
                None if test is None else test[k],
                sq[k],
                None if train_acc is None else train_acc[k],
                None if test_acc is None else test_acc[k],
            )
            # As a run: a non-finite train loss, or test loss, is a divergence at this epoch.
            if not math.isfinite(train[k]) or (test is not None and not math.isfinite(test[k])):
                self.member_status[k] = "diverged"
                newly_diverged.append(k)
        if newly_diverged:
            # From now on these members' parameters and optimizer state never change.
            self._frozen.freeze(newly_diverged)
        return SweepEpoch(
            epoch=epoch,
            train_loss=tuple(train),
            test_loss=None if test is None else tuple(test),
            weight_sq_norm=tuple(sq),
            elapsed_s=now - self._t0,  # wall time, as a run reports it
            statuses=tuple(self.member_status),
            weights=weights,
            train_accuracy=None if train_acc is None else tuple(train_acc),
            test_accuracy=None if test_acc is None else tuple(test_acc),
        )

    # ----- results ----------------------------------------------------------------------------

    def best_lam(self) -> float | None:
        """The best λ by the rule `best_by` names (engine/sweep/best.py), among the members
        that did not diverge, at their last measured epoch; None if there is none."""
        last = self._last

        def column(read: Callable[[_Measured], float | None]) -> list[float | None]:
            return [None if m is None else read(m) for m in last]

        return choose_by(
            self.best_by,
            self.lams,
            [
                s != "diverged" and m is not None
                for s, m in zip(self.member_status, last, strict=True)
            ],
            column(lambda m: m.train),
            column(lambda m: m.test),
            column(lambda m: m.train_accuracy),
            column(lambda m: m.test_accuracy),
        )

    def _finish(self, status: str, message: str) -> SweepFinished:
        if status == "completed" and "running" not in self.member_status:
            # Nothing to choose from: as a diverged run does, this ends with a failure status.
            status, message = "failed", "every member diverged"
        diverged = [
            lam for lam, s in zip(self.lams, self.member_status, strict=True) if s != "running"
        ]
        if diverged and not message.startswith("every"):
            message = with_note(message, diverged_note(diverged, len(self.lams)))
        try:
            finished = self._finished_event(status, message)
        except Exception as exc:  # e.g. the device failed: report without the weights
            message = with_note(message, f"reading the results failed: {describe(exc)}")
            finished = SweepFinished(
                "failed", self.epoch, message, None, (), self.run_dir_text, best_by=self.best_by
            )
        return save_files(finished, self._recorder, self.model.state_dict)

    def _finished_event(self, status: str, message: str) -> SweepFinished:
        results = []
        stacked = self.model.state_dict()  # one copy to the CPU for every member's weights
        for k, lam in enumerate(self.lams):
            last = self._last[k]
            member = self.member_status[k]
            results.append(
                MemberResult(
                    lam=lam,
                    status=status if member == "running" else member,
                    epochs=self.member_epochs[k],
                    train_loss=None if last is None else last.train,
                    test_loss=None if last is None else last.test,
                    weight_sq_norm=None if last is None else last.sq_norm,
                    weights=TensorWeights({name: t[k] for name, t in stacked.items()}),
                    train_accuracy=None if last is None else last.train_accuracy,
                    test_accuracy=None if last is None else last.test_accuracy,
                )
            )
        return SweepFinished(
            status=status,
            epochs=self.epoch,
            message=message,
            best_lam=self.best_lam(),
            results=tuple(results),
            run_dir=self.run_dir_text,
            partial_epoch_steps=self._partial_steps,
            best_by=self.best_by,
        )

    # ----- descriptions -------------------------------------------------------------------

    def _config_dict(self) -> dict[str, Any]:
        return sweep_settings(self.config, self.task.name, self.lams)

    def _started_event(self) -> SweepStarted:
        return SweepStarted(
            config=self._config_dict(),
            device=str(self.device),
            lams=self.lams,
            parameters=self._param_info,
            run_dir=self.run_dir_text,
            n_train=self.dataset.n_train,
            n_test=self.dataset.n_test,
            feature_names=tuple(self.dataset.feature_names),
            ridge=member_optima(self.config, self.dataset, self.lams),
            baseline_test_loss=self.task.baseline_test_loss(self.dataset),
        )


def diverged_note(diverged: Sequence[float], members: int) -> str:
    """What a sweep's end says of its diverged members: "2 of 14 diverged (λ 30, 100)"."""
    which = ", ".join(f"{v:g}" for v in diverged)
    return f"{len(diverged)} of {members} diverged (λ {which})"


def checked_sweep(config: RunConfig, lams: Sequence[float]) -> tuple[RunConfig, tuple[float, ...]]:
    """A sweep's settings resolved and its λ values checked (ConfigError otherwise), wherever
    it trains. A run's λ/lr changes do not apply to K members with K λ (the CLI says so)."""
    resolved = replace(config, schedule=()).resolved()
    if resolved.reg == "none":
        raise ConfigError("a sweep varies λ: mode 'none' has no penalty (use --reg l2 or wd)")
    if isinstance(lams, (str, bytes)) or not len(lams):
        raise ConfigError("a sweep needs at least one λ")
    return resolved, tuple(check_lam(lam) for lam in lams)


def sweep_settings(config: RunConfig, task: str, lams: Sequence[float]) -> dict[str, Any]:
    """A sweep's settings as config.json and `sweep_started` hold them: the task resolved
    ("auto" → the problem's own), no single λ, the λ list."""
    return {**config.to_dict(), "task": task, "lam": None, "lams": list(lams)}


def sweep_label(config: RunConfig, lams: Sequence[float]) -> str:
    """The sweep's folder name, after its date: what it trained, and its λ grid."""
    grid = f"lam{min(lams):g}" if len(lams) == 1 else f"lam{min(lams):g}-{max(lams):g}x{len(lams)}"
    return f"sweep-{config.source_name}-{config.model}-{config.optimizer}-{config.reg}-{grid}"
