"""Bad or absurd input is refused up front, in one line: sizes, float32 limits, config files.

Also the divergence hint (engine/diagnosis.py) and the memory estimate (engine/limits.py).
"""

from __future__ import annotations

import os
from dataclasses import fields, replace

import pytest
import torch

from engine.config import (
    FLOAT32_TINY,
    MAX_CPU_THREADS,
    RECORD_KEYS,
    ConfigError,
    DataError,
    RunConfig,
    check_keys,
    check_lam,
    check_lr,
)
from engine.data import Dataset
from engine.diagnosis import divergence_cause
from engine.limits import (
    MAX_PARAMETERS,
    _cgroup_room,
    check_fits,
    cpu_available_bytes,
    estimate_bytes,
    format_bytes,
    parameter_count,
)
from engine.models import build_model

GB = 10**9


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# ----- RunConfig: threads, float32, preset/data, mode none, paths --------------------------


@pytest.mark.parametrize("threads", [MAX_CPU_THREADS + 1, 65536, 2147483648])
def test_cpu_threads_are_capped(threads: int) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig(cpu_threads=threads).resolved()
    assert f"CPU threads must be at most {MAX_CPU_THREADS}, got {threads}" in one_line(info)
    assert RunConfig(cpu_threads=MAX_CPU_THREADS).resolved().cpu_threads == MAX_CPU_THREADS


def test_lr_and_lam_must_survive_float32() -> None:
    for lr in (1e-50, 1e-39, FLOAT32_TINY / 2):
        assert float(torch.tensor(lr, dtype=torch.float32)) < FLOAT32_TINY  # 0 or subnormal
        with pytest.raises(ConfigError, match=r"learning rate must be at least 1\.18e-38"):
            check_lr(lr)
        with pytest.raises(ConfigError, match=r"λ must be 0 or at least 1\.18e-38"):
            check_lam(lr)
        with pytest.raises(ConfigError, match="smallest normal"):
            RunConfig(lr=lr).resolved()
    assert check_lr(FLOAT32_TINY) == FLOAT32_TINY
    assert check_lam(FLOAT32_TINY) == FLOAT32_TINY and check_lam(0) == 0.0


def test_hidden_widths_beyond_2_31_are_refused_before_torch_sees_them() -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig(model="mlp", hidden=(8, 99999999999999999999)).resolved()
    assert "hidden sizes must be at most 2147483648 (2**31)" in one_line(info)


def test_preset_and_data_exclude_each_other(tmp_path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("a,y\n1,2\n2,3\n3,5\n")
    with pytest.raises(ConfigError) as info:
        RunConfig(preset="highdim", data=str(csv), target="y").resolved()
    assert "--preset highdim and --data" in one_line(info)
    # Neither given: the line preset. A CSV config has preset None, a preset config data None.
    assert RunConfig().resolved().preset == "line"
    assert RunConfig(data=str(csv), target="y").resolved().preset is None
    assert RunConfig(preset="poly").resolved().data is None


def test_mode_none_resolves_lam_to_zero_never_the_presets_default() -> None:
    assert RunConfig(reg="none").resolved().lam == 0.0  # line's default λ is 0.01
    assert RunConfig(reg="l2").resolved().lam == 0.01
    with pytest.raises(ConfigError, match="λ must be a finite number >= 0"):
        RunConfig(reg="none", lam=-1.0).resolved()


def test_a_relative_csv_path_is_stored_absolute(tmp_path, monkeypatch) -> None:
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,3\n3,5\n")
    monkeypatch.chdir(tmp_path)
    config = RunConfig(data="d.csv", target="y").resolved()
    assert config.data == str(tmp_path / "d.csv") and os.path.isabs(config.data)
    assert config.resolved() == config  # idempotent
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(DataError) as info:
        RunConfig(data="d.csv", target="y").resolved()
    assert one_line(info) == "no such file: d.csv"  # the path as the user wrote it
    with pytest.raises(DataError, match="is not a regular file"):
        RunConfig(data=str(tmp_path), target="y").resolved()


def test_unknown_config_keys_are_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        check_keys({"preset": "line", "lamda": 99})
    assert one_line(info) == "config.json: unknown setting 'lamda' (did you mean 'lam'?)"
    with pytest.raises(ConfigError, match=r"unknown setting 'zzz'$"):
        RunConfig.from_dict({"zzz": 1})
    record_only = dict.fromkeys(RECORD_KEYS, None)
    check_keys({**RunConfig().to_dict(), **record_only})  # every written key is accepted


def test_every_key_a_run_writes_to_config_json_is_accepted() -> None:
    """A writer that adds a key to config.json must add it to RECORD_KEYS (or RunConfig)."""
    from engine.data import load_dataset
    from engine.store import config_record

    config = RunConfig(save=False).resolved()
    record = config_record(config.to_dict(), torch.device("cpu"), load_dataset(config))
    accepted = {f.name for f in fields(RunConfig)} | set(RECORD_KEYS)
    assert set(record) <= accepted, set(record) - accepted
    # The same run, its task resolved ("auto" → the problem's own), as config.json records it.
    assert config.task == "auto" and record["task"] == "regression"
    assert RunConfig.from_dict(record).resolved() == replace(config, task="regression")


# ----- the memory estimate ------------------------------------------------------------------


def wide(**settings: object) -> RunConfig:
    return RunConfig(model="mlp", hidden=(100_000, 100_000), **settings).resolved()  # type: ignore[arg-type]


def test_parameter_count_and_estimate() -> None:
    config = wide()
    params = 1 * 100_000 + 100_000 + 100_000 * 100_000 + 100_000 + 100_000 + 1
    assert parameter_count(config, 1) == params
    activations = 200 * (100_000 + 100_000 + 1) * 2
    assert estimate_bytes(config, 1, 200) == (params * 2 + activations) * 4  # values + grads
    assert estimate_bytes(wide(momentum=0.9), 1, 200) == (params * 3 + activations) * 4
    assert estimate_bytes(wide(optimizer="adamw"), 1, 200) == (params * 4 + activations) * 4
    assert estimate_bytes(config, 1, 200, members=3) == 3 * (params * 2 + activations) * 4
    assert estimate_bytes(config, 1, 200, training=False) == params * 4
    assert estimate_bytes(config, 1, 200, with_data=True) - estimate_bytes(config, 1, 200) == (
        200 * 2 * 4
    )
    assert format_bytes(37.4e9) == "37 GB" and format_bytes(4.36e12) == "4.4 TB"
    assert format_bytes(512) == "512 bytes" and format_bytes(8e6) == "8.0 MB"


def test_a_model_that_cannot_fit_is_refused_from_its_size(monkeypatch) -> None:
    monkeypatch.setattr("engine.limits.cpu_available_bytes", lambda: 22 * GB)
    with pytest.raises(ConfigError) as info:
        check_fits(wide(), 1, 200, "cpu")
    assert one_line(info) == (
        "this model (10,000,400,001 parameters) needs about 80 GB to train; "
        "the CPU has 22 GB available"
    )
    with pytest.raises(ConfigError) as info:
        check_fits(wide(), 1, 200, torch.device("cpu"), members=14)
    assert one_line(info).startswith("this sweep (14 models of 10,000,400,001 parameters)")
    # build_model refuses it too, before allocating a single layer.
    with pytest.raises(ConfigError, match="needs about 40 GB for its parameters alone"):
        build_model(wide(), 1)
    check_fits(RunConfig(model="mlp", hidden=(64, 64)).resolved(), 200, 120, "cpu")  # fits


def test_absurd_sizes_are_refused_even_where_memory_is_unknown(monkeypatch) -> None:
    monkeypatch.setattr("engine.limits.cpu_available_bytes", lambda: None)
    config = RunConfig(model="mlp", hidden=(2**31, 2**31)).resolved()
    assert parameter_count(config, 1) > MAX_PARAMETERS
    with pytest.raises(ConfigError) as info:
        check_fits(config, 1, 200, "cpu")
    assert "parameters; wdtui allows at most 1.1e+12 (2**40)" in one_line(info)
    check_fits(wide(), 1, 200, "cpu")  # unknown memory: only the absolute cap applies


def test_a_cuda_device_is_asked_for_its_free_memory(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10 * GB, 80 * GB))
    with pytest.raises(ConfigError) as info:
        check_fits(wide(), 1, 200, "cuda:0")
    assert one_line(info).endswith("needs about 80 GB to train; cuda:0 has 10 GB available")


def test_available_memory_reads_meminfo_and_a_cgroup_limit(tmp_path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684092 kB\nMemAvailable:   20000000 kB\n")
    no_cgroup = tmp_path / "none"
    assert cpu_available_bytes(meminfo, tmp_path, no_cgroup) == 20000000 * 1024
    # cgroup v2: 4 GB limit, 3 GB used of which 0.5 GB inactive page cache -> 1.5 GB room.
    (tmp_path / "v2" / "job").mkdir(parents=True)
    (tmp_path / "v2" / "job" / "memory.max").write_text(f"{4 * GB}\n")
    (tmp_path / "v2" / "job" / "memory.current").write_text(f"{3 * GB}\n")
    (tmp_path / "v2" / "job" / "memory.stat").write_text(f"anon 1\ninactive_file {GB // 2}\n")
    own = tmp_path / "cgroup"
    own.write_text("0::/job\n")
    assert _cgroup_room(tmp_path / "v2", own) == 3 * GB // 2
    assert cpu_available_bytes(meminfo, tmp_path / "v2", own) == 3 * GB // 2
    (tmp_path / "v2" / "job" / "memory.max").write_text("max\n")
    assert _cgroup_room(tmp_path / "v2", own) is None
    # cgroup v1, with "no limit" written as a huge number.
    v1 = tmp_path / "v1" / "memory" / "job"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(f"{2 * GB}\n")
    (v1 / "memory.usage_in_bytes").write_text(f"{GB}\n")
    own.write_text("4:memory:/job\n0::/\n")
    assert _cgroup_room(tmp_path / "v1", own) == GB
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert _cgroup_room(tmp_path / "v1", own) is None


# ----- the divergence hint ------------------------------------------------------------------


def dataset(x_scale: float = 1.0, y_scale: float = 1.0) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 3, generator=g) * x_scale
    y = torch.randn(20, 1, generator=g) * y_scale
    return Dataset("t", x, y, None, None, ["a", "b", "c"])


def test_divergence_blames_data_on_a_huge_scale() -> None:
    config = RunConfig().resolved()
    hint = divergence_cause(config, dataset(y_scale=1e30), 0.01, 0.01)
    assert hint.startswith("the data are on a huge scale (|y| up to ")
    assert "e+30" in hint and "rescale the target" in hint
    hint = divergence_cause(config, dataset(x_scale=1e8), 0.01, 0.01)  # not standardized
    assert hint.startswith("the data are on a huge scale (|x| up to ")
    assert hint.endswith("rescale the features or use --standardize")
    scaled = RunConfig(standardize=True).resolved()
    assert divergence_cause(scaled, dataset(x_scale=1e8), 0.01, 0.01).startswith("lr ")


def test_divergence_blames_lam_times_lr_when_the_decay_step_alone_is_unstable() -> None:
    data = dataset()
    hint = divergence_cause(RunConfig(lam=1e38).resolved(), data, 1e38, 0.01)
    assert hint.startswith("λ·lr is too large: each step multiplies w by 1−2λ·lr = -2e+36")
    adamw = RunConfig(optimizer="adamw", reg="wd").resolved()
    assert divergence_cause(adamw, data, 200.0, 0.01).startswith("λ·lr is too large")
    assert divergence_cause(adamw, data, 20.0, 0.01).startswith("lr 0.01 is too large")
    # Heavy-ball momentum widens the stable range to 2λ·lr < 2(1 + μ).
    heavy = RunConfig(momentum=0.9).resolved()
    assert divergence_cause(heavy, data, 150.0, 0.01).startswith("lr ")  # 2λ·lr = 3 < 3.8
    assert divergence_cause(heavy, data, 200.0, 0.01).startswith("λ·lr")  # 4 >= 3.8
    adam = RunConfig(optimizer="adam").resolved()
    assert divergence_cause(adam, data, 1e30, 0.01).startswith("λ 1e+30 is too large")
    assert divergence_cause(adam, data, 1e3, 0.01).startswith("lr ")


def test_divergence_otherwise_blames_the_lr() -> None:
    config = RunConfig().resolved()
    assert (
        divergence_cause(config, dataset(), 0.01, 100.0)
        == "lr 100 is too large for this problem; try a smaller one"
    )
    hint = divergence_cause(config, dataset(y_scale=1e8), 0.0, 100.0)
    assert hint.startswith("lr 100 is too large") and "the target reaches |y|" in hint


def test_a_diverged_run_names_the_likely_cause(tmp_path) -> None:
    """End to end, once engine/trainer.py hands its diverged message to divergence_cause."""
    from support.engine import finished_of, run_to_end

    _, events = run_to_end(lam=1e38, epochs=3)
    message = finished_of(events).message
    if "λ·lr" not in message and "too large for this problem?" in message:
        pytest.skip("engine/trainer.py does not call engine.diagnosis.divergence_cause yet")
    assert finished_of(events).status == "diverged"
    assert "λ·lr is too large: each step multiplies w by 1−2λ·lr = -2e+36" in message
    _, events = run_to_end(lr=100.0, epochs=500)
    assert "lr 100 is too large for this problem; try a smaller one" in finished_of(events).message
    csv = tmp_path / "huge.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{i + 1}e30\n" for i in range(10)))
    _, events = run_to_end(data=str(csv), target="y", epochs=3)
    assert "the data are on a huge scale (|y| up to " in finished_of(events).message


def test_minibatches_need_activations_for_a_batch_not_for_every_row() -> None:
    """A step keeps its batch's activations for backward; evaluation holds two layers' worth."""
    mlp = RunConfig(model="mlp", hidden=(1024, 1024), optimizer="sgd", save=False)
    rows, features = 1_000_000, 10
    full = estimate_bytes(replace(mlp, batch_size=0), features, rows)
    minibatch = estimate_bytes(replace(mlp, batch_size=256), features, rows)
    params = parameter_count(mlp, features) * 2 * 4  # values and gradients (plain SGD: no state)
    assert full == params + rows * (1024 + 1024 + 1) * 2 * 4
    assert minibatch == params + rows * 1024 * 2 * 4  # the evaluation pass dominates
