"""The small datasets scikit-learn ships as files (digits, iris, wine, breast cancer), read with numpy.

Importing scikit-learn costs about a second (its estimators import scipy); these files are plain CSV
inside its package folder, so they are found without importing it and read as its loaders read them.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from runtime.data.errors import DatasetFileNotFoundError, DatasetFormatError


def data_folder() -> Path:
    """sklearn/datasets/data, located without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    folder = Path(next(iter(spec.submodule_search_locations or ()), "")) / "datasets" / "data" if spec else None
    if folder is None or not folder.is_dir():
        raise DatasetFileNotFoundError("the bundled datasets come with scikit-learn, which is not installed; "
                                       "install it with: pip install scikit-learn")
    return folder


def load_digits() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(images (N, 8, 8) of 0..16, labels, class names): what sklearn.datasets.load_digits returns."""
    with gzip.open(data_folder() / "digits.csv.gz", "rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64), tuple(str(c) for c in range(10))


def load_table(file_name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(features, labels, class names) of a CSV whose first row is `samples,features,name0,name1,…`
    (iris.csv, wine_data.csv, breast_cancer.csv): what sklearn's load_csv_data reads."""
    with open(data_folder() / file_name, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        table = np.loadtxt(f, delimiter=",", ndmin=2)
    samples, features = int(header[0]), int(header[1])
    if table.shape != (samples, features + 1):
        raise DatasetFormatError(f"{file_name} in scikit-learn's data folder holds {table.shape} values where "
                                 f"its header promises ({samples}, {features + 1}); reinstall scikit-learn")
    return table[:, :-1], table[:, -1].astype(np.int64), tuple(header[2:])
