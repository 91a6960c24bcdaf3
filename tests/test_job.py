"""What a run and a sweep share: the task's loss, the data on the device, the job's thread."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.config import RunConfig
from engine.data import load_dataset
from engine.job import DeviceData, Job, save_each
from engine.tasks import Regression, task_for


def test_regression_loss_is_torchs_mse_and_each_member_loss_is_its_own() -> None:
    g = torch.Generator().manual_seed(0)
    predictions, target = torch.randn(4, 7, 1, generator=g), torch.randn(7, 1, generator=g)
    task = Regression()
    member = task.member_loss(predictions, target)
    assert member.shape == (4,)
    for k in range(4):
        assert task.loss(predictions[k], target) == F.mse_loss(predictions[k], target)
        assert torch.allclose(member[k], F.mse_loss(predictions[k], target), rtol=1e-6)


def test_the_task_knows_where_a_closed_form_exists() -> None:
    def closed(**settings: object) -> bool:
        config = RunConfig(**settings).resolved()  # type: ignore[arg-type]
        return task_for(load_dataset(config)).has_closed_form(config)

    assert closed() and closed(reg="wd", optimizer="adam") and closed(reg="none")
    assert not closed(reg="wd", optimizer="adamw")  # decoupled decay: another fixed point
    assert not closed(model="mlp")
    assert not closed(preset="cancer")  # regularized logistic regression: no closed form


def test_device_data_draws_the_same_minibatches_for_the_same_seed() -> None:
    config = RunConfig(preset="highdim").resolved()
    dataset = load_dataset(config)
    cpu = torch.device("cpu")
    a, b = (DeviceData(dataset, cpu, seed=3, batch_size=5) for _ in range(2))
    other = DeviceData(dataset, cpu, seed=4, batch_size=5)
    for _ in range(3):
        order_a, order_b, order_other = a.epoch_order(), b.epoch_order(), other.epoch_order()
        assert order_a is not None and order_b is not None and order_other is not None
        assert all(torch.equal(i, j) for i, j in zip(order_a, order_b, strict=True))
        assert not all(torch.equal(i, j) for i, j in zip(order_a, order_other, strict=True))
        assert sorted(torch.cat(order_a).tolist()) == list(range(20))  # every row once
        x, y = a.batch(order_a[0])
        assert torch.equal(x, dataset.x_train[order_a[0]]) and y.shape == (5, 1)
    full = DeviceData(dataset, cpu, seed=3, batch_size=0)
    assert full.epoch_order() is None and full.batch(None)[0] is full.x


@dataclass(frozen=True)
class Done:
    status: str
    message: str


class Exploding(Job[str, Done]):
    def _train(self) -> tuple[str, str]:
        self._emit("started")
        raise RuntimeError("the device fell over")

    def _finish(self, status: str, message: str) -> Done:
        return save_each(Done(status, message), [lambda _: None, self._save])

    def _save(self, finished: Done) -> None:
        raise OSError("No space left on device")


def test_a_job_ends_with_an_event_never_a_traceback() -> None:
    seen: list[object] = []
    job = Exploding(seen.append, torch.device("cpu"), cpu_thread_count=1, run_dir=None)
    job.start()
    assert job.join(timeout=30)
    last = Done(
        "failed",
        "RuntimeError: the device fell over; saving failed: No space left on device",
    )
    assert seen == ["started", last]
    assert job.status == "failed"
