"""What a run and a sweep share: a thread, stop/join, the CPU thread count, ending with an event,
and the data on the device with its minibatch order.

The two training loops stay apart (a run takes live λ/lr commands and reports per-parameter
statistics; a sweep stacks K members and freezes the ones that diverge); what is around the
loops is here, once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import torch

from engine.data import Dataset, epoch_batches


class FinishedEvent(Protocol):
    """The last event of a job: Finished (a run) or SweepFinished (a sweep), both dataclasses."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...


F = TypeVar("F", bound=FinishedEvent)
F_contra = TypeVar("F_contra", bound=FinishedEvent, contravariant=True)
E = TypeVar("E")  # the job's events; F is the last of them


def with_note(message: str, note: str) -> str:
    return f"{message}; {note}" if message else note


def failed(finished: F, note: str) -> F:
    """`finished`, turned into a failure that says why (e.g. its files could not be saved)."""
    return replace(finished, status="failed", message=with_note(finished.message, note))


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def stopped_message(epochs: int, partial_steps: int, steps_per_epoch: int) -> str:
    """What a stop says: the epochs done, and the steps into the next one the weights include."""
    message = f"stopped by request after epoch {epochs}"
    if partial_steps:
        message += (
            f" and {partial_steps} of {steps_per_epoch} steps of epoch {epochs + 1} "
            "(the final weights include those steps)"
        )
    return message


@contextlib.contextmanager
def cpu_threads(device: torch.device, count: int) -> Iterator[None]:
    """Use `count` threads for this thread's CPU ops (0 or a GPU device: leave torch's setting).

    wdtui trains on one CPU thread by default. Its models are small: torch's OpenMP/MKL splits
    buy little there, and when another thread or process holds a core (the explorer's UI, a
    sweep beside the live run) every split waits for a time slice. Measured on a 2-core box under
    load: an MLP 64-64 on `highdim` ran at 62 epochs/s on two threads and 2,235 on one.
    torch.set_num_threads sets the calling thread's OpenMP and MKL counts, so other threads (the
    UI, another run) keep theirs; the previous count is restored afterwards.
    """
    if device.type != "cpu" or count <= 0:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class DeviceData:
    """A dataset on the device, once, and the order its training rows are visited in.

    The minibatch order comes from a generator seeded `seed + 2` and drawn once per epoch: a run
    and every member of a sweep draw the same sequence, which is what makes a sweep member
    exactly the run of its λ.
    """

    def __init__(self, dataset: Dataset, device: torch.device, seed: int, batch_size: int) -> None:
        self.x, self.y = dataset.x_train.to(device), dataset.y_train.to(device)
        self.x_test = None if dataset.x_test is None else dataset.x_test.to(device)
        self.y_test = None if dataset.y_test is None else dataset.y_test.to(device)
        self.device = device
        self.batch_size = batch_size
        self._generator = torch.Generator().manual_seed(seed + 2)

    @property
    def rows(self) -> int:
        return self.x.shape[0]

    @property
    def test(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self.x_test is None or self.y_test is None:
            return None
        return self.x_test, self.y_test

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch: one full batch, or the minibatches (the last one
        smaller)."""
        if self.batch_size == 0 or self.batch_size >= self.rows:
            return 1
        return -(-self.rows // self.batch_size)

    def epoch_order(self) -> list[torch.Tensor] | None:
        """This epoch's minibatches as row indices (one fresh shuffle), or None: one full batch."""
        return epoch_batches(self.rows, self.batch_size, self._generator, self.device)

    def batch(self, idx: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of one step, sliced when the loop reaches it (a stop slices nothing more)."""
        return (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])


class Job(Generic[E, F]):
    """One training job on a thread of its own. Subclasses write `_train` (the loop) and
    `_finish` (the last event, files saved); this class runs them so that the thread always ends
    with an event, never a traceback, and sets `status` only once the files are saved."""

    thread_name: ClassVar[str] = "wdtui-job"

    def __init__(
        self,
        on_event: Callable[[E | F], None],
        device: torch.device,
        cpu_thread_count: int,
        run_dir: Path | None,
    ) -> None:
        self._on_event = on_event
        self.device = device
        self.run_dir = run_dir
        self.status = "ready"
        self.epoch = 0  # epochs trained and reported
        self._cpu_thread_count = cpu_thread_count
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ----- control: safe from any thread ---------------------------------------------------

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
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

    # ----- the run ----------------------------------------------------------------------------

    def run(self) -> F:
        """Train to the end (or a stop, divergence, failure) on the calling thread."""
        with cpu_threads(self.device, self._cpu_thread_count):
            self.status = "running"
            try:
                status, message = self._train()
            except Exception as exc:  # the thread must end with an event, never a traceback
                status, message = "failed", describe(exc)
            finished = self._finish(status, message)
            self.status = finished.status  # only once the files are saved
            # A consumer that fails on the last event cannot be told anything more.
            with contextlib.suppress(Exception):
                self._emit(finished)
            return finished

    def _train(self) -> tuple[str, str]:
        """The loop: (status, message) when it ends."""
        raise NotImplementedError

    def _finish(self, status: str, message: str) -> F:
        """The last event, after saving what the job wrote; must not raise."""
        raise NotImplementedError

    def _emit(self, event: E | F) -> None:
        self._on_event(event)

    @property
    def run_dir_text(self) -> str | None:
        return None if self.run_dir is None else str(self.run_dir)


class Recorder(Protocol[F_contra]):
    """A job's files (engine/store/writing.py): the CSV, the weights, how it ended."""

    def close_log(self) -> None: ...

    def save_weights(self, state_dict: dict[str, torch.Tensor]) -> None: ...

    def save_summary(self, finished: F_contra) -> None: ...

    def save_results(self, finished: F_contra) -> None: ...


def save_files(
    finished: F,
    recorder: Recorder[F] | None,
    state_dict: Callable[[], dict[str, torch.Tensor]],
) -> F:
    """Close the CSV, save the weights, summary.json, then results.json. The weights are tried
    even when the CSV could not be written (a full disk may have room again); results.json comes
    last, from the finished event as it then stands."""
    if recorder is None:
        return finished
    return save_each(
        finished,
        [
            lambda _: recorder.close_log(),
            lambda _: recorder.save_weights(state_dict()),
            recorder.save_summary,
            recorder.save_results,
        ],
    )


def save_each(finished: F, saves: Sequence[Callable[[F], None]]) -> F:
    """Run each save on its own (a CSV that could not be written must not cost the weights),
    each given the finished event as it stands, with the failures before it folded in: the
    last save (results.json) records how the job really ended."""
    for save in saves:
        try:
            save(finished)
        except Exception as exc:
            finished = failed(finished, f"saving failed: {exc}")
    return finished
