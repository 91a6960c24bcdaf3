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

import contextlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from engine.config import ConfigError, RunConfig, check_lam
from engine.data import Dataset, epoch_batches, load_dataset
from engine.device import resolve_device
from engine.events import ParamInfo, TensorWeights
from engine.limits import check_fits
from engine.models import build_model
from engine.regularization import build_optimizer, is_penalized
from engine.ridge import RidgePath, converges_to_ridge
from engine.store import CsvLog, config_record, new_run_dir, save_tensors, write_json
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
from engine.threads import cpu_threads
from engine.trainer import SMALL_MODEL_WEIGHTS, STATS_INTERVAL_S, stopped_message

SweepSink = Callable[[SweepEvent], None]
SWEEP_COLUMNS = ("epoch", "lam", "train_loss", "test_loss", "weight_sq_norm")


class Sweep:
    """One λ sweep. Construct it (validates and loads everything, may raise ConfigError), then
    `start()` it on a thread or `run()` it on this one; `stop()` from any thread."""

    def __init__(
        self,
        config: RunConfig,
        lams: Sequence[float],
        on_event: SweepSink,
        *,
        dataset: Dataset | None = None,
    ) -> None:
        self.config = config.resolved()
        if self.config.reg == "none":
            raise ConfigError("a sweep varies λ: mode 'none' has no penalty (use --reg l2 or wd)")
        if isinstance(lams, (str, bytes)) or not len(lams):
            raise ConfigError("a sweep needs at least one λ")
        self.lams = tuple(check_lam(lam) for lam in lams)
        self.device = resolve_device(self.config.device)
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
        d = self.dataset
        check_fits(self.config, d.n_features, d.n_train + d.n_test, self.device, members=len(lams))
        self._on_event = on_event
        k = len(self.lams)

        single = build_model(self.config, self.dataset.n_features)
        self._param_info = tuple(
            ParamInfo(name, tuple(p.shape), is_penalized(p, self.config.decay_bias))
            for name, p in single.named_parameters()
        )
        self.model = StackedModel(
            single, k, self.config.activation, self.config.decay_bias, self.device
        )
        self._lr = float(self.config.lr)  # type: ignore[arg-type]
        # The same groups and hyper-parameters as a run's optimizer, weight_decay 0 everywhere.
        self.optimizer = build_optimizer(
            self.config, self.model.penalized, self.model.free, 0.0, self._lr
        )
        self._decay = MemberDecay(self.config.reg, self.config.optimizer, self.lams, self.device)
        self._frozen = FrozenMembers(self.model.params, self.optimizer)

        self._x, self._y = d.x_train.to(self.device), d.y_train.to(self.device)
        self._x_test = None if d.x_test is None else d.x_test.to(self.device)
        self._y_test = None if d.y_test is None else d.y_test.to(self.device)
        self._batch_generator = torch.Generator().manual_seed(self.config.seed + 2)

        self._batch_mean = self.config.train_loss == "batch-mean"
        self._loss_sums: torch.Tensor | None = None
        self._partial_steps, self._partial_of = 0, 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = "ready"
        self.epoch = 0
        self.member_status = ["running"] * k
        self.member_epochs = [0] * k
        self._last: list[tuple[float, float | None, float] | None] = [None] * k
        self._t0 = time.perf_counter()
        # Live weights for small models, throttled like a run's param_stats: one extra host
        # sync ~20 times a second, never per epoch.
        n_weights = sum(math.prod(p.shape) for p in self._param_info)
        self._live_weights = n_weights <= SMALL_MODEL_WEIGHTS
        self._weights_at = float("-inf")
        self.run_dir = (
            new_run_dir(self.config.runs_dir, self._run_label()) if self.config.save else None
        )

    # ----- control: safe from any thread ---------------------------------------------------

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="wdtui-sweep", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True once it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def parameter_info(self) -> tuple[ParamInfo, ...]:
        """One member's parameters, named and shaped as in a single run."""
        return self._param_info

    # ----- the loop -------------------------------------------------------------------------

    def run(self) -> SweepFinished:
        """Train every member to the end (or stop/failure) on the calling thread."""
        # One CPU thread by default (config.cpu_threads): measured on this 2-core box, 32 λ ×
        # 100 epochs of highdim took 0.06 s on one thread and 0.09 to 11.6 s on two, since its
        # stacked GEMMs get split and every split waits while the live run holds a core.
        with cpu_threads(self.device, self.config.cpu_threads):
            return self._run()

    def _run(self) -> SweepFinished:
        log: CsvLog | None = None
        status, message = "completed", ""
        try:
            self.status = "running"
            self._t0 = time.perf_counter()
            if self.run_dir is not None:
                record = config_record(self._config_dict(), self.device, self.dataset)
                write_json(self.run_dir / "config.json", record)
                log = CsvLog(self.run_dir / "sweep.csv", SWEEP_COLUMNS)
            self._on_event(self._started_event())
            for epoch in range(1, int(self.config.epochs) + 1):  # type: ignore[arg-type]
                if "running" not in self.member_status:
                    break
                if not self._train_epoch():
                    message = stopped_message(self.epoch, self._partial_steps, self._partial_of)
                    status = "stopped"
                    break
                event = self._measure(epoch)
                if log is not None:
                    self._log_epoch(log, event)
                self.epoch = epoch  # on disk first, then announced
                self._on_event(event)
        except Exception as exc:  # the thread must end with an event, never a traceback
            status, message = "failed", f"{type(exc).__name__}: {exc}"
        if status == "completed" and "running" not in self.member_status:
            # Nothing to choose from: as a diverged run does, this ends with a failure status.
            status, message = "failed", "every member diverged"
        diverged = [
            lam for lam, s in zip(self.lams, self.member_status, strict=True) if s != "running"
        ]
        if diverged and not message.startswith("every"):
            which = ", ".join(f"{v:g}" for v in diverged)
            note = f"{len(diverged)} of {len(self.lams)} diverged (λ {which})"
            message = f"{message}; {note}" if message else note
        try:
            finished = self._finished_event(status, message)
        except Exception as exc:  # e.g. the device failed: report without the weights
            note = f"reading the results failed: {type(exc).__name__}: {exc}"
            message = f"{message}; {note}" if message else note
            finished = SweepFinished("failed", self.epoch, message, None, (), self._run_dir_text())
        # Each file on its own: a sweep.csv that could not be written must not cost the weights.
        saves: list[Callable[[], None]] = [] if log is None else [log.close]
        if self.run_dir is not None:
            saves.append(lambda: self._save_results(finished))
        for save in saves:
            try:
                save()
            except Exception as exc:
                note = f"saving failed: {exc}"
                message = f"{finished.message}; {note}" if finished.message else note
                finished = replace(finished, status="failed", message=message)
        self.status = finished.status
        # A consumer that fails on the last event cannot be told anything more.
        with contextlib.suppress(Exception):
            self._on_event(finished)
        return finished

    def _train_epoch(self) -> bool:
        """One pass over the training rows for every member; False if a stop arrived (looked at
        before each step, so that a stop leaves the weights of the last reported epoch)."""
        model, optimizer, decay = self.model, self.optimizer, self._decay
        batches = epoch_batches(
            self._x.shape[0],
            int(self.config.batch_size),  # type: ignore[arg-type]
            self._batch_generator,
            self.device,
        )
        self._loss_sums = None
        for step, idx in enumerate(batches if batches is not None else (None,)):
            if self._stop.is_set():
                self._partial_steps = step
                self._partial_of = 0 if batches is None else len(batches)
                return False
            xb, yb = (self._x, self._y) if idx is None else (self._x[idx], self._y[idx])
            member_losses = model.member_mse(xb, yb)
            loss = member_losses.sum()  # the sum, never the mean: see the docstring
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            decay.before_step(model.penalized, self._lr)  # λ_k: l2 and wd, see decay.py
            optimizer.step()
            self._frozen.restore()
            if self._batch_mean:
                batch_sum = member_losses.detach() * yb.shape[0]
                sums = self._loss_sums
                self._loss_sums = batch_sum if sums is None else sums + batch_sum
        return True

    @torch.no_grad()
    def _measure(self, epoch: int) -> SweepEpoch:
        """The epoch's numbers for every member at its final weights, with one host sync."""
        if self._batch_mean:  # as a run does: the mean of the epoch's minibatch losses
            train_losses = self._loss_sums / self._y.shape[0]  # type: ignore[operator]
        else:
            train_losses = self.model.member_mse(self._x, self._y)
        rows = [train_losses, self.model.member_sq_norms()]
        if self._x_test is not None:
            rows.append(self.model.member_mse(self._x_test, self._y_test))
        values = torch.stack(rows).tolist()
        train, sq = values[0], values[1]
        test = values[2] if self._x_test is not None else None
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
            self._last[k] = (train[k], None if test is None else test[k], sq[k])
            if not math.isfinite(train[k]):
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
        )

    def _log_epoch(self, log: CsvLog, event: SweepEpoch) -> None:
        # One row per member that trained this epoch, all in one unit: a kill or a full disk
        # leaves an epoch with all its members in sweep.csv or none. A diverged member's last
        # row is the epoch it diverged at (it is frozen afterwards: later rows would repeat it).
        rows = []
        for k, lam in enumerate(self.lams):
            if self.member_epochs[k] != event.epoch:
                continue
            test = None if event.test_loss is None else event.test_loss[k]
            rows.append((event.epoch, lam, event.train_loss[k], test, event.weight_sq_norm[k]))
        log.append(*rows)

    # ----- results ----------------------------------------------------------------------------

    def best_lam(self) -> float | None:
        """The λ with the lowest last test loss (train loss without a test split), among the
        members that did not diverge; the first such λ on a tie; None if there is none."""
        best: tuple[float, float] | None = None
        for lam, status, last in zip(self.lams, self.member_status, self._last, strict=True):
            if status == "diverged" or last is None:
                continue
            score = last[0] if last[1] is None else last[1]
            if math.isfinite(score) and (best is None or score < best[0]):
                best = (score, lam)
        return None if best is None else best[1]

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
                    train_loss=None if last is None else last[0],
                    test_loss=None if last is None else last[1],
                    weight_sq_norm=None if last is None else last[2],
                    weights=TensorWeights({name: t[k] for name, t in stacked.items()}),
                )
            )
        return SweepFinished(
            status=status,
            epochs=self.epoch,
            message=message,
            best_lam=self.best_lam(),
            results=tuple(results),
            run_dir=self._run_dir_text(),
            partial_epoch_steps=self._partial_steps,
        )

    def _save_results(self, finished: SweepFinished) -> None:
        run_dir: Path = self.run_dir  # type: ignore[assignment]
        save_tensors(
            run_dir / "weights.pt", {"lams": list(self.lams), "state_dict": self.model.state_dict()}
        )
        summary = finished.to_json()
        summary["results"] = [{**r, "weights": None} for r in summary["results"]]
        del summary["event"]
        write_json(run_dir / "results.json", summary)

    # ----- descriptions -------------------------------------------------------------------

    def _config_dict(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "lam": None, "lams": list(self.lams)}

    def _started_event(self) -> SweepStarted:
        return SweepStarted(
            config=self._config_dict(),
            device=str(self.device),
            lams=self.lams,
            parameters=self._param_info,
            run_dir=None if self.run_dir is None else str(self.run_dir),
            n_train=self.dataset.n_train,
            n_test=self.dataset.n_test,
            feature_names=tuple(self.dataset.feature_names),
            ridge=self._ridge(),
        )

    def _ridge(self) -> tuple[dict[str, Any], ...] | None:
        """The closed-form optimum per member, where training converges to it."""
        if not converges_to_ridge(self.config):
            return None
        path = RidgePath(self.dataset.x_train, self.dataset.y_train, self.config.decay_bias)
        weights, biases = path.path(self.lams)
        return tuple(
            {"weight": [w.tolist()], "bias": [float(b)]}
            for w, b in zip(weights, biases, strict=True)
        )

    def _run_dir_text(self) -> str | None:
        return None if self.run_dir is None else str(self.run_dir)

    def _run_label(self) -> str:
        c = self.config
        return f"sweep-{c.source_name}-{c.model}-{c.optimizer}-{c.reg}"
