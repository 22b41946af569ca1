"""Built-in datasets: shapes, classes, seeded stratified splits, normalisation and device tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graph_builder import settings
from runtime import data
from runtime.data import splits as split_mod

BUILTIN = {  # name: (input shape, dtype, number of classes or 0 for regression)
    "digits": ((1, 8, 8), "float32", 10),
    "iris": ((4,), "float32", 3),
    "wine": ((13,), "float32", 3),
    "breast_cancer": ((30,), "float32", 2),
    "moons": ((2,), "float32", 2),
    "spirals": ((2,), "float32", 3),
    "sine": ((32, 1), "float32", 0),
    "waveforms": ((32, 1), "float32", 4),
}


def test_settings_schema_names_every_registered_dataset():
    assert tuple(settings.DATASET_NAMES) == tuple(data.DATASETS)
    assert set(settings.FILE_DATASETS) == {e.name for e in data.ENTRIES if e.source == "file"}


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_dataset_describes_its_shape_classes_and_task(name):
    shape, dtype, classes = BUILTIN[name]
    desc = data.describe_dataset({"name": name})
    assert tuple(desc["input_shape"]) == shape
    assert desc["dtype"] == dtype
    assert desc["num_classes"] == classes == len(desc["classes"])
    assert desc["kind"] == ("classes" if classes else "values")
    total = sum(desc["counts"].values())
    assert desc["counts"]["val"] == pytest.approx(0.2 * total, abs=1)
    assert desc["counts"]["test"] == pytest.approx(0.2 * total, abs=1)
    if classes:
        assert sum(desc["class_counts"].values()) == desc["counts"]["train"]


def test_digits_is_the_default_and_sine_targets_are_the_next_values():
    assert data.describe_dataset({})["name"] == "digits"
    x, y = data.load_splits({"name": "sine", "normalize": False, "noise": 0.0, "horizon": 3})["train"]
    assert x.shape[1:] == (32, 1) and y.shape[1:] == (3,)
    from runtime.data.synthetic import make_sine

    # The targets are the wave's next values: a longer window of the same waves shows them.
    longer, _ = make_sine(1000, seq_len=35, horizon=1, noise=0.0, seed=0)
    short, future = make_sine(1000, seq_len=32, horizon=3, noise=0.0, seed=0)
    np.testing.assert_allclose(future, longer[:, 32:35, 0], atol=1e-6)


def test_split_is_stratified_disjoint_complete_and_seeded():
    y = np.repeat(np.arange(3), [50, 30, 20])
    train, val, test = split_mod.split_indices(y, len(y), 0.2, 0.2, seed=7)
    assert len(np.intersect1d(train, val)) == len(np.intersect1d(train, test)) == len(np.intersect1d(val, test)) == 0
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    for part, size in ((val, 20), (test, 20)):
        assert len(part) == size
        assert np.bincount(y[part], minlength=3).tolist() == [10, 6, 4]  # same proportions as the whole
    again = split_mod.split_indices(y, len(y), 0.2, 0.2, seed=7)
    other = split_mod.split_indices(y, len(y), 0.2, 0.2, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(test, other[2])


def test_split_seed_setting_changes_the_split_and_zero_fractions_give_empty_splits():
    a = data.load_splits({"name": "iris", "split_seed": 0})["test"][0]
    b = data.load_splits({"name": "iris", "split_seed": 1})["test"][0]
    assert a.shape == b.shape and not np.array_equal(a, b)
    s = data.load_splits({"name": "iris", "val_fraction": 0.0, "test_fraction": 0.0})
    assert s.counts == {"train": 150, "val": 0, "test": 0}


def test_normalisation_uses_training_statistics_per_channel_or_feature():
    s = data.load_splits({"name": "wine"})
    x = s["train"][0]
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
    img = data.load_splits({"name": "digits"})
    assert img.mean.shape == (1, 1, 1)  # one statistic per channel
    assert abs(float(img["train"][0].mean())) < 1e-5
    raw = data.load_splits({"name": "digits", "normalize": False})["train"][0]
    assert raw.min() == 0 and raw.max() == 16  # sklearn's digits are 0..16


def test_bad_dataset_settings_raise_clear_errors():
    with pytest.raises(data.DatasetSettingError, match="name must be one of"):
        data.load_splits({"name": "imagenet"})
    with pytest.raises(data.DatasetSettingError, match="add up to more than 0.9"):
        data.load_splits({"name": "iris", "val_fraction": 0.5, "test_fraction": 0.5})
    with pytest.raises(data.DatasetSettingError, match="set path"):
        data.load_splits({"name": "csv"})
    with pytest.raises(data.UnknownDatasetError, match="choose one of"):
        data.get_dataset("imagenet")


def test_device_split_holds_tensors_on_the_device_and_batches_by_index():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    split = data.DeviceSplit.from_arrays(x, y, torch.device("cpu"))
    assert split.resident and split.x.device.type == "cpu" and split.y.dtype == torch.int64
    order = torch.tensor([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])
    batches = list(split.batches(4, order))
    assert [len(b[1]) for b in batches] == [4, 4, 2] == [4, 4, 2][: split.num_batches(4)]
    assert torch.cat([b[1] for b in batches]).tolist() == order.tolist()
    assert torch.equal(torch.cat([b[0] for b in batches]).reshape(-1), order.float())


def test_sample_batch_returns_model_ready_samples():
    x, y = data.sample_batch({"name": "digits"}, 5)
    assert x.shape == (5, 1, 8, 8) and x.dtype == np.float32 and y.shape == (5,)
    xa, _ = data.sample_batch({"name": "digits", "augment_noise": 0.5}, 5, augmented=True)
    assert np.abs(xa - x).mean() > 0.2


@pytest.mark.parametrize("name,loader", [("digits", "load_digits"), ("iris", "load_iris"), ("wine", "load_wine"),
                                         ("breast_cancer", "load_breast_cancer")])
def test_bundled_datasets_read_the_same_values_as_scikit_learns_loaders(name, loader):
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    raw = data.get_dataset(name).load({})
    np.testing.assert_array_equal(raw.x, bunch.images[:, None] if name == "digits" else bunch.data.astype(np.float32))
    np.testing.assert_array_equal(raw.y, bunch.target)
    assert raw.classes == tuple(str(c) for c in bunch.target_names)


def test_shuffle_split_draws_what_scikit_learns_train_test_split_draws():
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(1)
    for case in range(150):
        n, k = int(rng.randint(20, 300)), int(rng.randint(2, 7))
        y = rng.randint(0, k, size=n)
        take, seed = int(rng.randint(k, n - k + 1)), int(rng.randint(0, 100))
        strat = y if case % 3 and np.bincount(y).min() >= 2 else None
        expected = train_test_split(np.arange(n), test_size=take, random_state=seed, stratify=strat)
        got = split_mod.shuffle_split(strat, n, n - take, take, seed)
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(np.sort(a), np.sort(b))


def test_train_subset_keeps_what_it_kept_with_scikit_learn():
    from sklearn.model_selection import train_test_split

    y = np.repeat(np.arange(4), [40, 25, 20, 15])
    x = np.arange(len(y))[:, None]
    kept_x, kept_y = split_mod.train_subset(x, y, 0.3, True, seed=3)
    expected, _ = train_test_split(np.arange(len(y)), train_size=30, random_state=3, stratify=y)
    assert kept_x[:, 0].tolist() == sorted(expected.tolist()) and kept_y.tolist() == y[np.sort(expected)].tolist()
