"""Datasets: built-in and file-based sources, seeded splits, normalisation, device tensors, augmentation.

    splits = load_splits({"name": "digits"})        # numpy arrays, normalised, cached
    x, y = splits["train"]
    on_device = DeviceSplit.from_arrays(x, y, torch.device("cuda"))

Small and medium datasets are held as tensors on the training device and batched by index
(DESIGN.md decision 7); a split too large for the device's free memory stays in pinned host
memory and is copied batch by batch.
"""

from runtime.data.augment import Augmentation
from runtime.data.description import describe_splits
from runtime.data.digits_prep import prepare_drawing
from runtime.data.downloads import SETS as DOWNLOAD_SETS
from runtime.data.downloads import (DatasetDownloadError, cache_root, dataset_folder, download_dataset, is_downloaded,
                                    missing_download)
from runtime.data.errors import (DataError, DatasetFileNotFoundError, DatasetFormatError, DatasetSettingError,
                                 DatasetTooLargeError, UnknownDatasetError)
from runtime.data.files import IMAGE_SUFFIXES
from runtime.data.inputs import PredictInputError, Samples, check_inputs_total, read_inputs
from runtime.data.loading import (DeviceSplit, Splits, dataset_config, describe_data, describe_dataset, load_splits,
                                  sample_batch)
from runtime.data.raw import RawData
from runtime.data.registry import DATASETS, ENTRIES, DatasetEntry, get_dataset, pixel_max

__all__ = [
    "DOWNLOAD_SETS", "DatasetDownloadError", "cache_root", "dataset_folder", "download_dataset", "is_downloaded",
    "missing_download",
    "Augmentation", "DataError", "DatasetEntry", "DatasetFileNotFoundError", "DatasetFormatError", "DATASETS",
    "DatasetSettingError", "DatasetTooLargeError", "DeviceSplit", "ENTRIES", "IMAGE_SUFFIXES", "PredictInputError",
    "RawData", "Samples", "Splits", "UnknownDatasetError", "check_inputs_total", "dataset_config", "describe_data",
    "describe_dataset", "describe_splits", "get_dataset", "load_splits", "pixel_max", "prepare_drawing",
    "read_inputs", "sample_batch",
]
