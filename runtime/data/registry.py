"""The dataset registry: one entry per dataset (STYLE rule 4); the loader turns settings into RawData."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from graph_builder.data_description import CLASSES, VALUES

from runtime.data import bundled, files, series, synthetic, text
from runtime.data.errors import UnknownDatasetError
from runtime.data.raw import RawData


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset: how to load it and what it is."""

    name: str
    title: str
    description: str
    load: Callable[[dict], RawData]
    source: str  # "bundled", "synthetic" or "file"
    synthetic: str | None = None  # name of the runtime.data.synthetic generator, for the script export
    sklearn: str | None = None  # the sklearn.datasets loader, so an exported model's demo can load a raw sample
    pixel_max: float = 1.0  # the raw value of a full-intensity pixel (digits: 16); images from files are scaled to 1


def _downloaded(c: dict, name: str) -> str:
    """The folder a downloadable dataset is read from: its `path`, else the copy downloaded on request."""
    if c.get("path"):
        return c["path"]
    from runtime.data.downloads import dataset_folder, is_downloaded, not_downloaded

    if not is_downloaded(name):
        raise not_downloaded(name)
    return str(dataset_folder(name))


def _digits(c: dict) -> RawData:
    x, y, names = bundled.load_digits()
    return RawData(x[:, None].astype(np.float32), y, CLASSES, names, image=True)


def _table(file_name: str) -> Callable[[dict], RawData]:
    """The loader of one of scikit-learn's bundled tables."""
    def load(config: dict) -> RawData:
        x, y, names = bundled.load_table(file_name)
        return RawData(x.astype(np.float32), y, CLASSES, names)
    return load


def _noise(c: dict, default: float) -> float:
    return default if c.get("noise") is None else c["noise"]


def _moons(c: dict) -> RawData:
    x, y = synthetic.make_moons(c.get("samples", 1000), _noise(c, 0.1), c.get("seed", 0))
    return RawData(x, y, CLASSES, ("upper", "lower"))


def _spirals(c: dict) -> RawData:
    x, y = synthetic.make_spirals(c.get("samples", 1000), _noise(c, 0.1), c.get("seed", 0))
    return RawData(x, y, CLASSES, ("arm 0", "arm 1", "arm 2"))


def _sine(c: dict) -> RawData:
    x, y = synthetic.make_sine(c.get("samples", 1000), c.get("seq_len", 32), c.get("horizon", 1),
                               _noise(c, 0.05), c.get("seed", 0))
    return RawData(x, y, VALUES)


def _waveforms(c: dict) -> RawData:
    x, y = synthetic.make_waveforms(c.get("samples", 1000), c.get("seq_len", 32), _noise(c, 0.1),
                                    c.get("seed", 0))
    return RawData(x, y, CLASSES, synthetic.WAVEFORM_KINDS)


def _sunspots(c: dict) -> RawData:
    from importlib import resources

    path = resources.files("resources").joinpath("datasets", "sunspots.csv")  # resources/datasets/README.md
    return series.load_series_csv(str(path), {**c, "time_column": "YEAR", "value_columns": None,
                                              "target": "SUNACTIVITY"})


ENTRIES = (
    DatasetEntry("digits", "Digits (8x8)", "1,797 handwritten digits, 8x8 grey images, 10 classes (scikit-learn).",
                 _digits, "bundled", sklearn="load_digits", pixel_max=16.0),
    DatasetEntry("iris", "Iris", "150 flowers, 4 measurements, 3 species (scikit-learn).",
                 _table("iris.csv"), "bundled", sklearn="load_iris"),
    DatasetEntry("wine", "Wine", "178 wines, 13 chemical measurements, 3 cultivars (scikit-learn).",
                 _table("wine_data.csv"), "bundled", sklearn="load_wine"),
    DatasetEntry("breast_cancer", "Breast cancer", "569 tumours, 30 features, malignant or benign (scikit-learn).",
                 _table("breast_cancer.csv"), "bundled", sklearn="load_breast_cancer"),
    DatasetEntry("moons", "Two moons", "Two interleaving half circles in 2-D, 2 classes (synthetic).",
                 _moons, "synthetic", "make_moons"),
    DatasetEntry("spirals", "Spirals", "Three interleaved spirals in 2-D, 3 classes (synthetic).",
                 _spirals, "synthetic", "make_spirals"),
    DatasetEntry("sine", "Sine-wave forecasting", "Predict the next value(s) of noisy sine waves (regression on "
                 "sequences, synthetic).", _sine, "synthetic", "make_sine"),
    DatasetEntry("waveforms", "Waveform kinds", "Classify sequences as sine, square, sawtooth or pulse waves "
                 "(synthetic).", _waveforms, "synthetic", "make_waveforms"),
    DatasetEntry("sunspots", "Sunspots (yearly)", "Yearly sunspot activity 1700–2008, 309 years: forecast the "
                 "next years from the past ones (NOAA's series, public domain, as statsmodels ships it).",
                 _sunspots, "bundled"),
    DatasetEntry("csv", "CSV file", "A table: numeric feature columns and a target column.",
                 lambda c: files.load_csv(c.get("path"), c.get("target"), c.get("target_type", "auto")), "file"),
    DatasetEntry("text", "Text classification", "Texts and labels: a CSV/TSV file with a text and a label column, "
                 "or a folder with one sub-folder of .txt files per class; tokenised on the training split.",
                 lambda c: text.load_text(c.get("path"), c.get("text_column"), c.get("target"),
                                          c.get("tokenizer", "word"), c.get("vocab_size", 5000),
                                          c.get("max_length", 128)), "file"),
    DatasetEntry("series_csv", "Time series (CSV)", "A table with one row per time step: windows of past values "
                 "forecast a target column, split in time order.",
                 lambda c: series.load_series_csv(c.get("path"), c), "file"),
    DatasetEntry("npz", "NumPy .npz", "Arrays x (inputs) and y (labels or targets) in one .npz file.",
                 lambda c: files.load_npz(c.get("path")), "file"),
    DatasetEntry("image_folder", "Image folder", "One sub-folder of images per class, resized to a square.",
                 lambda c: files.load_image_folder(c.get("path"), c.get("image_size", 32)), "file"),
    DatasetEntry("mnist", "MNIST", "70,000 handwritten digits, 28×28: downloaded on request, or a folder of its "
                 "IDX files.", lambda c: files.load_idx_folder(_downloaded(c, "mnist")), "file"),
    DatasetEntry("fashion_mnist", "Fashion-MNIST", "70,000 clothing images in 10 kinds, 28×28: downloaded on "
                 "request, or a folder of its IDX files.",
                 lambda c: files.load_idx_folder(_downloaded(c, "fashion_mnist"), fashion=True), "file"),
    DatasetEntry("cifar10", "CIFAR-10", "60,000 colour images in 10 classes, 32×32: downloaded on request (its "
                 "binary version), or its extracted folder.", lambda c: files.load_cifar10(_downloaded(c, "cifar10")),
                 "file"),
)
DATASETS = {e.name: e for e in ENTRIES}


def get_dataset(name: str) -> DatasetEntry:
    """The registry entry called `name`; raises UnknownDatasetError listing the known names."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise UnknownDatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}") from None


def pixel_max(name: str | None) -> float:
    """The raw value of a full-intensity pixel in dataset `name` (1.0 for an unknown or non-image set)."""
    entry = DATASETS.get(name or "")
    return entry.pixel_max if entry is not None else 1.0
