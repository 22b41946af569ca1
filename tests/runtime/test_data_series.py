"""A time series from a CSV: split in time order, windows inside their part, normalised on the training part."""

import numpy as np
import pytest

from runtime.data import DatasetFormatError, DatasetSettingError, dataset_config, get_dataset, load_splits
from runtime.data.series import naive_forecast


def write_series(tmp_path, steps=100, name="series.csv"):
    """A CSV of `steps` rows: a year, a temperature rising by one per step, and a second column of its squares."""
    rows = ["year,temp,other"] + [f"{1900 + i},{i},{i * i}" for i in range(steps)]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def series_config(path, **extra):
    return {"name": "series_csv", "path": str(path), "time_column": "year", "value_columns": "temp",
            "target": "temp", "seq_len": 5, "horizon": 2, "val_fraction": 0.2, "test_fraction": 0.2, **extra}


def test_parts_follow_in_time_and_no_window_straddles_a_boundary(tmp_path):
    s = load_splits(series_config(write_series(tmp_path)))
    mean, std = s.info["series"]["target_mean"], s.info["series"]["target_std"]
    steps = s.info["series"]["steps"]
    assert steps == {"train": [0, 60], "val": [60, 80], "test": [80, 100]}
    for part in ("train", "val", "test"):
        x, y = s[part]
        raw_x, raw_y = x[..., 0] * std + mean, y * std + mean  # temp at step i is i
        lo, hi = steps[part]
        assert raw_x.min() >= lo - 1e-3 and raw_y.max() <= hi - 1 + 1e-3  # inputs and targets inside the part
        assert len(x) == hi - lo - 5 - 2 + 1  # every window that fits, no more
        np.testing.assert_allclose(raw_y[:, 0], raw_x[:, -1] + 1, atol=1e-3)  # the target follows the window
    assert s.counts == {"train": 54, "val": 14, "test": 14}
    assert s.info["series"]["times"]["test"][0] == "1985"  # step 85: the first one forecast in the test part


def test_statistics_come_from_the_training_part_only(tmp_path):
    s = load_splits(series_config(write_series(tmp_path)))
    train_steps = np.arange(60, dtype=np.float64)
    assert s.info["series"]["target_mean"] == pytest.approx(train_steps.mean())
    assert s.info["series"]["target_std"] == pytest.approx(train_steps.std())
    np.testing.assert_allclose(s.mean, [train_steps.mean()], rtol=1e-6)  # recorded for exports
    x, _ = s["train"]
    assert abs(float(x.mean())) < 0.2  # standardised on the training steps
    assert float(s["test"][0].min()) > 1.5  # later steps lie beyond: not re-fitted on the test part


def test_the_target_is_always_an_input_and_the_naive_forecast_repeats_its_last_value(tmp_path):
    s = load_splits(series_config(write_series(tmp_path), value_columns="other", horizon=3))
    assert s.info["series"]["columns"] == ["other", "temp"] and s.input_shape == (5, 2)
    x, y = s["test"]
    naive = naive_forecast(x, s.info["series"]["target_index"], 3)
    assert naive.shape == y.shape == (len(x), 3)
    np.testing.assert_allclose(naive[:, 0], x[:, -1, 1])


def test_the_bundled_sunspots_series_reads_in_time_order():
    s = load_splits({"name": "sunspots", "seq_len": 12})
    assert get_dataset("sunspots").source == "bundled"
    assert s.info["series"]["steps"]["test"] == [247, 309]  # 1947–2008
    assert s.info["series"]["times"]["test"][0] == "1959"  # 1947 + 12
    assert s.input_shape == (12, 1) and s.target_shape == (1,)


@pytest.mark.parametrize("extra, setting, words", [
    ({"target": "pressure"}, "target", "has no column 'pressure'"),
    ({"value_columns": "temp, rain"}, "value_columns", "has no column 'rain'"),
    ({"time_column": "when"}, "time_column", "has no column 'when'"),
    ({"seq_len": 150}, "seq_len", "the series has 100 steps"),
    ({"seq_len": 19}, "seq_len", "the validation part of the series has 20 steps"),
])
def test_bad_settings_name_the_setting_in_one_line(tmp_path, extra, setting, words):
    with pytest.raises(DatasetSettingError) as info:
        load_splits(series_config(write_series(tmp_path), **extra))
    message = str(info.value)
    assert f"dataset setting {setting}" in message and words in message and "\n" not in message


def test_times_that_go_backwards_are_refused_with_the_line(tmp_path):
    path = tmp_path / "shuffled.csv"
    path.write_text("year,temp\n" + "\n".join(f"{y},{i}" for i, y in enumerate([1900, 1901, 1903, 1902] * 10)))
    with pytest.raises(DatasetFormatError, match="line 5: time '1902'.*sort the rows by time"):
        load_splits(series_config(path, value_columns=None))


def test_a_series_csv_needs_a_path():
    with pytest.raises(DatasetSettingError, match="path"):
        dataset_config({"name": "series_csv"})
