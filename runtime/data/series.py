"""Time series read from a CSV: split in time order, normalised on the training part, cut into windows.

A row is one time step. The series is split where it stands, the first part for training, then
validation, then test (val_fraction and test_fraction of its steps), and each part is cut into its
own windows of `seq_len` steps followed by `horizon` target steps, so no window straddles a
boundary and no value of a later part reaches an earlier one. The columns are standardised with the
training part's mean and std; RawData.series keeps them, so predictions and exports give values in
the series' own units again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graph_builder.data_description import VALUES

from runtime.data.errors import DatasetFormatError, DatasetSettingError
from runtime.data.files import _number, column_index, read_table
from runtime.data.raw import RawData

PARTS = ("train", "val", "test")
PART_WORDS = {"train": "training", "val": "validation", "test": "test"}


def load_series_csv(path: str | Path, c: dict) -> RawData:
    """The series in the CSV at `path`, windowed and split by the dataset settings `c` (time_column,
    value_columns, target, seq_len, horizon, val_fraction, test_fraction, normalize)."""
    p, header, body, has_header = read_table(path, "time-series CSV")
    time_col = column_index(c["time_column"], header, p.name, "time_column") if c.get("time_column") else None
    if c.get("value_columns"):
        names = str(c["value_columns"]).split(",")
        values = [column_index(v.strip(), header, p.name, "value_columns") for v in names]
        if time_col in values:
            raise DatasetSettingError(f"dataset setting value_columns: {header[time_col]!r} is the time column; "
                                      "name the columns that hold the series' values")
    else:
        values = [j for j in range(len(header)) if j != time_col and all(_number(r[j]) is not None for r in body)]
        if not values:
            raise DatasetFormatError(f"{p.name} has no column of numbers besides the time column; a series needs "
                                     "at least one")
    values = list(dict.fromkeys(values))
    target = values[-1] if not c.get("target") else column_index(c["target"], header, p.name, "target")
    if target == time_col:
        raise DatasetSettingError(f"dataset setting target: {header[target]!r} is the time column; choose the column "
                                  "to forecast")
    if target not in values:
        values.append(target)  # the target's own past is always an input
    table = np.empty((len(body), len(values)), dtype=np.float64)
    for i, row in enumerate(body):
        for k, j in enumerate(values):
            value = _number(row[j])
            if value is None:
                raise DatasetFormatError(f"{p.name} line {i + 1 + has_header}, column {header[j]!r}: {row[j]!r} is "
                                         "not a finite number; fill the gap or remove the row")
            table[i, k] = value
    times = [row[time_col].strip() for row in body] if time_col is not None else [str(i) for i in range(len(body))]
    if time_col is not None:
        _check_order(times, p.name, header[time_col], has_header)
    return windows(table, times, [header[j] for j in values], values.index(target), c)


def _check_order(times: list[str], name: str, column: str, has_header: bool) -> None:
    """Numeric times must rise row by row (text times, such as dates, are taken in the file's order)."""
    numbers = [_number(t) for t in times]
    if any(n is None for n in numbers):
        return
    for i in range(1, len(numbers)):
        if numbers[i] <= numbers[i - 1]:
            raise DatasetFormatError(f"{name} line {i + 1 + has_header}: time {times[i]!r} in column {column!r} does "
                                     f"not come after {times[i - 1]!r}; sort the rows by time")


def part_bounds(n: int, val_fraction: float, test_fraction: float) -> dict[str, tuple[int, int]]:
    """Part name -> (first step, end step) of a series of `n` steps split in time order."""
    test = round(test_fraction * n)
    val = round(val_fraction * n)
    train_end = n - test - val
    return {"train": (0, train_end), "val": (train_end, n - test), "test": (n - test, n)}


def windows(table: np.ndarray, times: list[str], columns: list[str], target: int, c: dict) -> RawData:
    """RawData of a series `table` (steps, columns): its parts' windows, `target` the column forecast."""
    seq_len, horizon = int(c["seq_len"]), int(c["horizon"])
    n, need = len(table), int(c["seq_len"]) + int(c["horizon"])
    if n < need:
        raise DatasetSettingError(f"dataset setting seq_len: the series has {n} steps, fewer than a window of "
                                  f"seq_len {seq_len} plus horizon {horizon} ({need}); lower seq_len or horizon")
    bounds = part_bounds(n, c["val_fraction"], c["test_fraction"])
    for part in PARTS:
        start, end = bounds[part]
        if part != "train" and end == start:
            continue  # no validation (or test) part asked for
        if end - start < need:
            raise DatasetSettingError(
                f"dataset setting seq_len: the {PART_WORDS[part]} part of the series has {end - start} steps, "
                f"fewer than a window of seq_len {seq_len} plus horizon {horizon} ({need}); lower seq_len or "
                f"horizon, or give that part a larger fraction")
    start, end = bounds["train"]
    if c.get("normalize", True):
        mean = table[start:end].mean(axis=0)
        std = table[start:end].std(axis=0)
        std = np.where(std < 1e-8, 1.0, std)  # a constant column stays as it is
    else:
        mean, std = np.zeros(table.shape[1]), np.ones(table.shape[1])
    scaled = ((table - mean) / std).astype(np.float32)
    parts = {}
    for part in PARTS:
        start, end = bounds[part]
        count = max(0, end - start - need + 1)
        first = np.arange(count)[:, None] + start
        x = scaled[first + np.arange(seq_len)]  # (N, seq_len, columns)
        y = scaled[first + seq_len + np.arange(horizon), target]  # (N, horizon)
        parts[part] = (x.reshape(count, seq_len, len(columns)), y.reshape(count, horizon),
                       [times[int(i)] for i in first[:, 0] + seq_len])
    series = {"columns": columns, "target": columns[target], "target_index": target,
              "target_mean": float(mean[target]), "target_std": float(std[target]),
              "steps": {part: [int(a), int(b)] for part, (a, b) in bounds.items()},
              "times": {part: parts[part][2] for part in PARTS}}  # the time of each window's first target step
    scale = (mean.astype(np.float32), std.astype(np.float32)) if c.get("normalize", True) else None
    (x, y, _), (xv, yv, _), (xt, yt, _) = (parts[k] for k in PARTS)
    return RawData(x, y, VALUES, x_val=xv, y_val=yv, x_test=xt, y_test=yt, scale=scale, series=series)


def naive_forecast(x: np.ndarray, target_index: int, horizon: int) -> np.ndarray:
    """The naive last-value forecast of windows `x` (N, seq_len, columns): the target's last value, `horizon` times."""
    return np.repeat(np.asarray(x)[:, -1, target_index][:, None], horizon, axis=1)
