"""Presets reproduce their sources; CSV input is read, split and scaled as documented."""

from __future__ import annotations

import pytest
import torch

from engine.config import RunConfig
from engine.data import DataError, load_dataset
from support.engine import epochs_of, run_to_end


def test_highdim_weight_decay_generalises_like_d2l() -> None:
    _, overfit = run_to_end(preset="highdim", lam=0.0)
    _, decayed = run_to_end(preset="highdim", lam=3.0)
    free, reg = epochs_of(overfit)[-1], epochs_of(decayed)[-1]
    assert free.epoch == reg.epoch == 100
    assert free.test_loss > 10 * free.train_loss  # λ = 0 overfits
    assert reg.test_loss * 10 <= free.test_loss  # λ = 3: test loss at least 10× lower
    assert reg.weight_sq_norm * 100 <= free.weight_sq_norm  # and much smaller weights


def test_line_recovers_the_generating_line_without_penalty() -> None:
    trainer, _ = run_to_end(preset="line", lam=0.0, lr=0.1, epochs=300)
    assert trainer.model.weight.item() == pytest.approx(3.0, abs=0.2)
    assert trainer.model.bias.item() == pytest.approx(2.0, abs=0.2)


@pytest.mark.parametrize("preset", ["line", "highdim", "poly"])
def test_presets_are_deterministic_per_seed(preset: str) -> None:
    a = load_dataset(RunConfig(preset=preset).resolved())
    b = load_dataset(RunConfig(preset=preset).resolved())
    c = load_dataset(RunConfig(preset=preset, seed=1).resolved())
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    _, first = run_to_end(preset=preset, epochs=5)
    _, again = run_to_end(preset=preset, epochs=5)
    assert [e.train_loss for e in epochs_of(first)] == [e.train_loss for e in epochs_of(again)]


def test_preset_sizes_match_their_sources() -> None:
    line = load_dataset(RunConfig(preset="line").resolved())
    high = load_dataset(RunConfig(preset="highdim").resolved())
    poly = load_dataset(RunConfig(preset="poly").resolved())
    assert (line.n_train, line.n_test, line.n_features) == (100, 100, 1)
    assert (high.n_train, high.n_test, high.n_features) == (20, 100, 200)
    assert poly.n_features == 20 and poly.n_train < poly.n_features + 5


def test_standardize_uses_train_statistics_and_maps_true_weights() -> None:
    raw = load_dataset(RunConfig(preset="line").resolved())
    scaled = load_dataset(RunConfig(preset="line", standardize=True).resolved())
    assert scaled.x_train.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert scaled.x_train.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)
    mean, std = raw.x_train.mean(), raw.x_train.std(unbiased=False)
    torch.testing.assert_close(scaled.x_test, (raw.x_test - mean) / std)
    # y = 3x + 2 = (3σ)z + (2 + 3μ)
    assert scaled.true_weight.item() == pytest.approx(3 * std.item(), rel=1e-6)
    assert scaled.true_bias == pytest.approx(2 + 3 * mean.item(), rel=1e-6)


def write_csv(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_csv_target_may_be_any_column_and_split_is_seeded(tmp_path) -> None:
    lines = ["y,a,b"] + [f"{2 * i + 1},{i},{i % 3}" for i in range(20)]
    csv = write_csv(tmp_path / "d.csv", "\n".join(lines) + "\n")
    data = load_dataset(RunConfig(data=csv, target="y", test_fraction=0.25).resolved())
    assert data.feature_names == ["a", "b"]
    assert (data.n_train, data.n_test) == (15, 5)
    again = load_dataset(RunConfig(data=csv, target="y", test_fraction=0.25).resolved())
    assert torch.equal(data.y_test, again.y_test)
    # standardized by default for a CSV, the target never is
    assert data.x_train.mean(0).abs().max().item() < 1e-5
    assert sorted(torch.cat([data.y_train, data.y_test]).ravel().tolist()) == [
        float(2 * i + 1) for i in range(20)
    ]


def test_zero_test_fraction_means_no_test_split() -> None:
    _, events = run_to_end(preset="line", test_fraction=0.0, epochs=3)
    assert all(e.test_loss is None for e in epochs_of(events))
    data = load_dataset(RunConfig(preset="line", test_fraction=0.0).resolved())
    assert data.n_test == 0 and data.n_train == 200


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("", "y", "is empty"),
        # a feature column; text in the target is class labels (tests/test_data_classification.py)
        ("y,a\n1,2\n3,x\n", "y", "line 3, column 'a': 'x' is not a number"),
        ("a,y\n1,2\n3,4\n", "z", "has no column 'z'"),
        ("a,y\n1,2\n3\n", "y", "line 3: 1 cells where the header has 2"),
        ("a,y\n1,nan\n3,4\n", "y", "is not finite"),
        ("a,y\n1,2\n3,1e39\n", "y", "line 3, column 'y': '1e39' is too large for float32"),
        ("y\n1\n2\n", "y", "at least one feature column"),
        ("a,y\n1,2\n", "y", "at least 2 data rows"),
        ("a,b,a,y\n1,2,3,4\n5,6,7,8\n", "y", "has two columns named 'a': rename one"),
        ("a, y,y\n1,2,3\n4,5,6\n", "a", "has two columns named 'y'"),
    ],
)
def test_bad_csv_is_one_clear_error(tmp_path, content: str, target: str, message: str) -> None:
    csv = write_csv(tmp_path / "bad.csv", content)
    with pytest.raises(DataError, match=message.replace("(", r"\(")) as info:
        load_dataset(RunConfig(data=csv, target=target).resolved())
    assert "\n" not in str(info.value)


def test_missing_csv_is_a_data_error(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_dataset(RunConfig(data=str(tmp_path / "nope.csv"), target="y").resolved())


def test_a_wide_files_missing_column_lists_a_few_names_and_a_count(tmp_path) -> None:
    names = [f"c{i}" for i in range(2000)]
    rows = [",".join(names), ",".join("1" * 2000), ",".join("2" * 2000)]
    csv = write_csv(tmp_path / "wide.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        load_dataset(RunConfig(data=csv, target="foo").resolved())
    assert str(info.value) == (
        f"{csv} has no column 'foo'; the file has 2000 columns: 'c0', 'c1', 'c2', 'c3', 'c4', "
        "… (and 1995 more)"
    )
    small = write_csv(tmp_path / "small.csv", "a,b,y\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match=r"the file has 3 columns: 'a', 'b', 'y'$"):
        load_dataset(RunConfig(data=small, target="z").resolved())


# Regression's rows are what saved runs replay on: the split must not move. Each case is checked
# against the rule written out independently of engine/data.py's code.


@pytest.mark.parametrize("preset", ["line", "highdim", "poly"])
@pytest.mark.parametrize("test_fraction", [None, 0.0, 0.3])
def test_a_regression_preset_keeps_its_generated_order(
    preset: str, test_fraction: float | None
) -> None:
    from engine.data import PRESET_BUILDERS

    synth = PRESET_BUILDERS[preset](torch.Generator().manual_seed(4))
    n = synth.x.shape[0]
    n_test = synth.n_test if test_fraction is None else round(n * test_fraction)
    config = RunConfig(preset=preset, seed=4, test_fraction=test_fraction).resolved()
    data = load_dataset(config)
    assert torch.equal(data.x_train, synth.x[: n - n_test])
    assert torch.equal(data.y_train, synth.y[: n - n_test])
    if n_test:
        assert torch.equal(data.x_test, synth.x[n - n_test :])
        assert torch.equal(data.y_test, synth.y[n - n_test :])
    else:
        assert data.x_test is None and data.y_test is None


def test_a_regression_csv_trains_on_the_first_rows_of_one_seeded_permutation(tmp_path) -> None:
    lines = ["a,y,b"] + [f"{i * 0.5},{i * i},{-i}" for i in range(23)]
    csv = write_csv(tmp_path / "r.csv", "\n".join(lines) + "\n")
    data = load_dataset(RunConfig(data=csv, target="y", seed=9, standardize=False).resolved())
    table = torch.tensor([[i * 0.5, i * i, -i] for i in range(23)], dtype=torch.float32)
    perm = torch.randperm(23, generator=torch.Generator().manual_seed(9))
    n_train = 23 - round(23 * 0.2)
    assert torch.equal(data.x_train, table[perm][:n_train][:, [0, 2]])
    assert torch.equal(data.y_train, table[perm][:n_train][:, 1:2])
    assert torch.equal(data.x_test, table[perm][n_train:][:, [0, 2]])
    assert data.classes is None and data.task == "regression" and data.n_classes == 0
