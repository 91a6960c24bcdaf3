"""A λ sweep fanned out over Ray workers: still one sweep.

The λ list is cut into contiguous slices, one per worker (engine/sweep/slices.py); each worker
trains its slice as a whole batched `Sweep` on its own device (engine/sweep/slice_worker.py).
This driver, on the machine that ran the command, polls the workers, merges their events into
the events one `Sweep` would emit (one `sweep_epoch` per epoch with every member, in the order
of `lams`), writes the sweep's files here, and ends with one `SweepFinished`.

Faults stay local to a slice: a worker that dies, is killed or loses its node fails its own
members, with the reason; the others train on. A stop (Ctrl+C) first asks every worker to wait
at its next epoch's end, then lets each train on to the furthest epoch any reached, so the
stopped sweep equals a local sweep of that many epochs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from engine.config import ConfigError, RunConfig
from engine.data import Dataset, load_dataset
from engine.events import ParamInfo
from engine.job import Job, save_files, stopped_message, with_note
from engine.store import SweepRecorder, check_runs_dir, config_record, new_run_dir
from engine.sweep.best import best_by, choose_by
from engine.sweep.events import MemberResult, SweepEvent, SweepFinished, SweepStarted
from engine.sweep.ray_cluster import LOCAL, connect, import_ray
from engine.sweep.runner import checked_sweep, diverged_note, sweep_label, sweep_settings
from engine.sweep.slice_worker import SliceWorker
from engine.sweep.slices import MergedEpoch, SliceMerger, split_lams
from engine.tasks import task_for

POLL_WAIT_S = 0.2  # how long one poll waits for a worker's first event
LINGER_S = 0.05  # then how long it gathers more: one reply per epoch costs ~1.5 ms of training
PLACE_TIMEOUT_S = 120.0  # workers placed and built: a cluster short of CPUs/GPUs never says so
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WorkerInfo:
    """One Ray worker and its slice of the λ list."""

    members: range  # indices into `lams`
    device: str
    pid: int


class RaySweep(Job[SweepEvent, SweepFinished]):
    """A `Sweep` (same events, files and exit codes) whose slices train on Ray workers.

    Construct it (validates and loads the data; may raise ConfigError), optionally `launch()` it
    (connects and places the workers; may raise ConfigError, e.g. an unreachable cluster), then
    `start()` or `run()` it as any job; `stop()` from any thread."""

    thread_name = "wdtui-ray-sweep"

    def __init__(
        self,
        config: RunConfig,
        lams: Sequence[float],
        on_event: Callable[[SweepEvent], None],
        *,
        address: str = LOCAL,
        workers: int | None = None,
        dataset: Dataset | None = None,
        local_cpus: int | None = None,
    ) -> None:
        self.config, self.lams = checked_sweep(config, lams)
        if workers is not None and workers < 1:
            raise ConfigError(f"--ray-workers must be at least 1, got {workers}")
        if self.config.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(
                f"--ray trains on CPUs or on each worker's own GPU: use --device auto, cpu or "
                f"cuda, not {self.config.device}"
            )
        self.dataset = dataset if dataset is not None else load_dataset(self.config)
        self.task = task_for(self.dataset)
        self.best_by = best_by(self.dataset.classes is not None, self.dataset.n_test > 0)
        self.address = address
        self.workers: tuple[WorkerInfo, ...] = ()
        self._requested_workers = workers
        self._local_cpus = local_cpus
        self._actors: list[Any] = []
        self.opened_connection = False  # True if this sweep connected (and so disconnects)
        self._hurry = threading.Event()  # a second stop: no waiting for an epoch's end
        self._merger: SliceMerger | None = None
        self._recorder: SweepRecorder | None = None
        self._settings = sweep_settings(self.config, self.task.name, self.lams)
        super().__init__(on_event, torch.device("cpu"), 0, None)

    # ----- placing the workers -------------------------------------------------------------

    def launch(self) -> None:
        """Connect, place one worker per slice and build each slice there (a ConfigError from a
        worker, such as a model too large for its GPU, comes back as one). Once only."""
        if self._actors:
            return
        if self.config.save:
            check_runs_dir(self.config.runs_dir)  # before Ray starts, not once a slice trains
        self.opened_connection = connect(self.address, num_cpus=self._local_cpus)
        ray = import_ray()
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        use_gpus = gpus > 0 and self.config.device != "cpu"
        if self.config.device == "cuda" and not gpus:
            raise ConfigError("--device cuda: the Ray cluster has no GPUs")
        capacity = gpus if use_gpus else cpus
        count = self._requested_workers or max(1, min(capacity, len(self.lams)))
        if count > max(capacity, 0):
            unit = "GPU" if use_gpus else "CPU"
            raise ConfigError(
                f"--ray-workers {count}: the Ray cluster has {capacity} {unit}s, one per worker"
            )
        device = "cuda" if use_gpus else "cpu"  # never "auto" there: see docs/design.md
        slices = split_lams(len(self.lams), count)
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0, "max_concurrency": 4}
        if use_gpus:
            options["num_gpus"] = 1
        worker_class = ray.remote(SliceWorker)
        dataset_ref = ray.put(self.dataset)  # --data FILE exists on this machine only
        actors = [worker_class.options(**options).remote() for _ in slices]
        worker_config = replace(self.config, device=device, save=False)
        try:
            builds = [
                actor.build.remote(worker_config, [self.lams[k] for k in members], dataset_ref)
                for actor, members in zip(actors, slices, strict=True)
            ]
            devices = self._get(ray, builds, PLACE_TIMEOUT_S, f"{count} Ray workers to start")
            pids = self._get(ray, [a.pid.remote() for a in actors], CALL_TIMEOUT_S, "the workers")
        except BaseException:
            for actor in actors:
                ray.kill(actor)
            raise
        self._actors = actors
        self.workers = tuple(
            WorkerInfo(members, dev, pid)
            for members, dev, pid in zip(slices, devices, pids, strict=True)
        )
        self.device = torch.device(device)
        self._merger = SliceMerger(self.lams, slices)

    @staticmethod
    def _get(ray: Any, refs: list[Any], timeout: float, what: str) -> list[Any]:
        try:
            return list(ray.get(refs, timeout=timeout))
        except ray.exceptions.GetTimeoutError:
            raise ConfigError(
                f"waited {timeout:g} s for {what}: the Ray cluster has no room for them "
                f"(it has {_resources_text(ray.available_resources())} free)"
            ) from None
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, ConfigError):
                raise ConfigError(str(cause)) from None
            raise RuntimeError(f"a Ray worker failed: {type(cause).__name__}: {cause}") from None

    @property
    def device_text(self) -> str:
        devices = sorted({w.device for w in self.workers})
        where = ", ".join(devices) or str(self.device)
        return f"{len(self.workers)} Ray worker{'s' * (len(self.workers) != 1)} ({where})"

    def stop(self) -> None:
        """The first stop ends every slice after one same epoch; a second, at its next step."""
        if self._stop.is_set():
            self._hurry.set()
        super().stop()

    # ----- the loop -------------------------------------------------------------------------

    def _train(self) -> tuple[str, str]:
        try:
            self.launch()  # done already by the command line; the explorer's thread does it here
        except ConfigError as exc:
            return "failed", str(exc)
        ray = import_ray()
        try:
            if self._stop.is_set():  # stopped while connecting: nothing trained
                self._merger = None
                return "stopped", stopped_message(0, 0, 0)
            self._get(ray, [a.start.remote() for a in self._actors], CALL_TIMEOUT_S, "workers")
            self._drive(ray)
        finally:
            for actor in self._actors:
                ray.kill(actor)  # a worker halted or finished frees its CPU/GPU for the next job
        if self._stop.is_set():
            return "stopped", stopped_message(self.epoch, 0, 0)
        return "completed", ""

    def _drive(self, ray: Any) -> None:
        """Poll every worker until each has ended; merge and announce. On a stop, halt them all
        at an epoch's end, then let each train on to the furthest epoch reached (a worker lost
        meanwhile counts as halted); on a second stop, stop each at its next step."""
        merger = self._merger
        assert merger is not None
        inflight: dict[Any, tuple[str, int]] = {}

        def ask(kind: str, make: Callable[[Any], Any]) -> None:
            for i, actor in enumerate(self._actors):
                if not merger.slices[i].ended:
                    inflight[make(actor)] = (kind, i)

        ask("poll", lambda a: a.poll.remote(POLL_WAIT_S, LINGER_S))
        reached: dict[int, int] = {}
        halting = finishing = hurried = False
        while any(kind == "poll" for kind, _ in inflight.values()):
            if self._stop.is_set() and not halting:
                halting = True
                ask("halt", lambda a: a.halt.remote())
            if self._hurry.is_set() and not hurried:
                hurried = True
                ask("stop", lambda a: a.stop.remote())
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
            for ref in ready:
                kind, i = inflight.pop(ref)
                try:
                    value = ray.get(ref, timeout=CALL_TIMEOUT_S)
                except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as exc:
                    self._announce(merger.fail(i, _lost_reason(exc)))
                else:
                    if kind == "poll":
                        for event in value:
                            self._announce(merger.feed(i, event))
                        if not merger.slices[i].ended:
                            inflight[self._actors[i].poll.remote(POLL_WAIT_S, LINGER_S)] = (
                                "poll",
                                i,
                            )
                    elif kind == "halt":
                        reached[i] = value
                if halting and not finishing and all(k != "halt" for k, _ in inflight.values()):
                    finishing = True
                    target = max(reached.values(), default=0)
                    ask("finish", lambda a: a.finish_at.remote(target))  # noqa: B023 (called at once)

    def _announce(self, merged: list[SweepStarted | MergedEpoch]) -> None:
        for item in merged:
            if isinstance(item, SweepStarted):
                self._emit(self._started(item))
                continue
            if self._recorder is not None:
                self._recorder.log_epoch(item.event, item.trained)
            self.epoch = item.event.epoch  # on disk first, then announced
            self._emit(item.event)

    def _started(self, started: SweepStarted) -> SweepStarted:
        """The merged first event; the folder is made now that a slice trains (a sweep that
        could not start, or was stopped while connecting, leaves none)."""
        if self.config.save:
            self.run_dir = new_run_dir(self.config.runs_dir, sweep_label(self.config, self.lams))
            record = config_record(self._settings, self.device, self.dataset)
            self._recorder = SweepRecorder(self.run_dir, record, self.lams)
        return replace(
            started, config=self._settings, device=self.device_text, run_dir=self.run_dir_text
        )

    # ----- the end ----------------------------------------------------------------------------

    def _finish(self, status: str, message: str) -> SweepFinished:
        merger = self._merger
        results = merger.results() if merger is not None else self._unstarted(status)
        settled = [r for r in results if r.status not in ("failed", "diverged")]
        failures = [] if merger is None else merger.failures()
        if not settled and not failures and status != "failed":
            # As one sweep says it (engine/sweep/runner.py): nothing to choose from.
            status, message = "failed", "every member diverged"
        ragged = len({r.epochs for r in settled}) > 1
        if status == "stopped" and ragged:  # a second stop: each slice at its own step
            message = "stopped by request at once: each member after its own epoch (its epochs)"
        for members, reason in failures:
            which = ", ".join(f"{self.lams[k]:g}" for k in members)
            message = with_note(message, f"λ {which} failed: {reason}")
        diverged = [r.lam for r in results if r.status == "diverged"]
        if diverged and not message.startswith("every"):
            message = with_note(message, diverged_note(diverged, len(self.lams)))
        if not settled and status != "failed":
            status = "failed"
            message = with_note("no member finished", message)
        finished = SweepFinished(
            status=status,
            epochs=self.epoch,
            message=message,
            best_lam=choose_by(
                self.best_by,
                self.lams,
                [r.status not in ("failed", "diverged") for r in results],
                [r.train_loss for r in results],
                [r.test_loss for r in results],
                [r.train_accuracy for r in results],
                [r.test_accuracy for r in results],
            ),
            results=results,
            run_dir=self.run_dir_text,
            best_by=self.best_by,
        )
        parameters = () if merger is None or merger.started is None else merger.started.parameters
        return save_files(finished, self._recorder, lambda: _stacked(results, parameters))

    def _unstarted(self, status: str) -> tuple[MemberResult, ...]:
        """Every member, when none trained: the sweep failed to start, or was stopped first."""
        return tuple(MemberResult(lam, status, 0, None, None, None, {}) for lam in self.lams)


def _stacked(
    results: Sequence[MemberResult], parameters: Sequence[ParamInfo]
) -> dict[str, torch.Tensor]:
    """weights.pt's stacked state dict, as one sweep saves it: member k at index k. A member
    whose weights were lost with its worker is NaN there (results.json says it failed); with
    every worker lost, every member is, in the parameters' shapes."""
    shapes = next((r.weights for r in results if r.weights), None)
    if shapes is None:
        k = len(results)
        return {p.name: torch.full((k, *p.shape), float("nan")) for p in parameters}
    out = {}
    for name in shapes:
        like = shapes.tensor(name)  # type: ignore[attr-defined]
        out[name] = torch.stack(
            [
                r.weights.tensor(name)  # type: ignore[attr-defined]
                if r.weights
                else torch.full_like(like, float("nan"))
                for r in results
            ]
        )
    return out


def _lost_reason(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):  # an error inside a worker's method
        return f"{type(cause).__name__}: {cause}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"its Ray worker was lost ({type(exc).__name__}: {first})"


def _resources_text(resources: dict[str, float]) -> str:
    shown = [f"{resources.get(key, 0):g} {key}" for key in ("CPU", "GPU")]
    return ", ".join(shown)
