"""Loading a dataset into seeded, normalised splits (cached), and holding a split on the training device."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from graph_builder.data_description import CLASSES

from runtime.data.augment import Augmentation
from runtime.data.description import describe_splits
from runtime.data.errors import DatasetSettingError
from runtime.data.raw import RawData
from runtime.data.registry import DatasetEntry, get_dataset, pixel_max
from runtime.data.splits import feature_stats, normalised, select_classes, split_parts, train_subset


SPLITS = ("train", "val", "test")
_CACHE_SIZE = 4
_cache: OrderedDict[str, Splits] = OrderedDict()
_cache_lock = threading.Lock()  # the app describes data on a worker thread


@dataclass
class Splits(Mapping):
    """A dataset split three ways; `splits["train"]` is (x, y) as numpy arrays, inputs normalised."""

    name: str
    title: str
    kind: str  # the targets: classes or values (graph_builder.data_description), not the training task
    classes: tuple[str, ...]
    image: bool
    arrays: dict[str, tuple[np.ndarray, np.ndarray]]
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return self.arrays["val" if key == "validation" else key]

    def __iter__(self) -> Iterator[str]:
        return iter(SPLITS)

    def __len__(self) -> int:
        return len(SPLITS)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.arrays["train"][0].shape[1:])

    @property
    def dtype(self) -> str:
        return "int64" if np.issubdtype(self.arrays["train"][0].dtype, np.integer) else "float32"

    @property
    def target_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.arrays["train"][1].shape[1:])

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(len(self.arrays[k][0])) for k in SPLITS}


def dataset_config(config: dict | None) -> dict:
    """The dataset section with defaults filled in; raises DatasetSettingError for a bad value."""
    from graph_builder.errors import ProjectError
    from graph_builder.settings import validate_dataset_section

    try:
        return validate_dataset_section(dict(config or {}), "$.dataset", fill_defaults=True)
    except ProjectError as exc:
        raise DatasetSettingError(f"dataset setting {exc.path.removeprefix('$.dataset.')}: {exc.message}") from None


def _cache_key(config: dict) -> str:
    stamp = None
    path = config.get("path")
    if path:
        try:
            st = Path(path).expanduser().stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = "missing"
    return json.dumps([config, stamp], sort_keys=True, default=str)


def load_splits(config: dict | None = None) -> Splits:
    """Load, split and normalise the dataset of `config` (a project's dataset section); cached."""
    config = dataset_config(config)
    key = _cache_key(config)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    splits = _build_splits(config)
    with _cache_lock:
        _cache[key] = splits
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return splits


def _build_splits(config: dict) -> Splits:
    entry = get_dataset(config["name"])
    raw = _class_subset(entry.load(config), config.get("classes"), entry.title)
    classification = raw.kind == CLASSES
    val_f, test_f, seed = config["val_fraction"], config["test_fraction"], config["split_seed"]
    raw, adapter = _adapted(raw, config, entry)  # the input adapter: resize, channels (graph_builder.input_adapter)
    parts = split_parts(raw.x, raw.y, raw.x_test, raw.y_test, classification, val_f, test_f, seed, raw.x_val,
                        raw.y_val)
    if len(parts["train"][0]) < 1:
        raise DatasetSettingError(f"no samples are left for training ({len(raw.x)} in all, validation "
                                  f"{val_f:g}, test {test_f:g}); lower the validation and test fractions")
    parts["train"] = train_subset(*parts["train"], config.get("train_fraction", 1.0), classification, seed)
    tokenizer = None
    if raw.text is not None:  # the vocabulary is learnt on the training split only, then every split encoded
        parts, tokenizer = _tokenised(parts, raw.text)
    mean = std = None
    backbone = _backbone_stats(adapter, raw, entry)
    if backbone is not None:  # the backbone's normalisation replaces the split's own statistics
        mean, std = backbone
        parts = normalised(parts, mean, std)
    elif raw.scale is not None:  # the source standardised itself (a series, on its training part)
        mean, std = raw.scale
    elif config["normalize"] and raw.dtype == "float32":
        mean, std = feature_stats(parts["train"][0], raw.image)
        parts = normalised(parts, mean, std)
    for x, y in parts.values():
        x.flags.writeable = False  # shared through the cache
        y.flags.writeable = False
    info = {"source": entry.source, "path": config.get("path"), "description": entry.description,
            "adapter": adapter.describe(), "series": raw.series}
    if tokenizer is not None:
        info["tokenizer"] = tokenizer
    return Splits(entry.name, entry.title, raw.kind, raw.classes, raw.image, parts, mean, std, info)


def _tokenised(parts: dict, settings: dict) -> tuple[dict, dict]:
    """Every split's texts as token ids, and the tokenizer's record: its JSON and the padded length."""
    from runtime.data.text import encode, fit_tokenizer

    tok = fit_tokenizer(parts["train"][0], settings["tokenizer"], settings["vocab_size"], settings["max_length"])
    parts = {k: (encode(tok, x), y) for k, (x, y) in parts.items()}
    record = {"json": json.loads(tok.to_str()), "max_length": settings["max_length"], "kind": settings["tokenizer"],
              "vocab_size": tok.get_vocab_size()}
    return parts, record


def _adapted(raw: RawData, config: dict, entry: DatasetEntry):
    """`raw` through the dataset's input adapter (resized, three channels), and the adapter."""
    from graph_builder.input_adapter import AdapterError

    from runtime.data.adapter import adapt_images, adapter_of

    adapter = adapter_of(config)
    if not adapter.active:
        return raw, adapter
    label = f"the {entry.title} data"
    if not raw.image:
        raise DatasetSettingError(f"the input adapter works on images (C, H, W), but {label} are samples of shape "
                                  f"{raw.input_shape}; clear the adapter settings")
    try:
        adapter.shape(raw.input_shape, label)  # the channels fit the normalisation, before any work
    except AdapterError as exc:
        raise DatasetSettingError(exc.message) from None
    raw.x = adapt_images(raw.x, adapter, label)
    if raw.x_test is not None:
        raw.x_test = adapt_images(raw.x_test, adapter, label)
    return raw, adapter


def _backbone_stats(adapter, raw: RawData, entry: DatasetEntry):
    """The adapter's backbone normalisation as raw-value (mean, std), or None."""
    if not adapter.active:
        return None
    from runtime.data.adapter import adapter_stats

    return adapter_stats(adapter, raw.input_shape[0], pixel_max(entry.name))
def _class_subset(raw: RawData, text: str | None, title: str) -> RawData:
    """Only the samples of the `classes` setting's classes, relabelled 0… in the order it names them."""
    if not text:
        return raw
    from graph_builder.settings import class_selection

    if raw.kind != CLASSES:
        raise DatasetSettingError(f"the classes setting picks classes, but {title} has values to predict, not "
                                  "classes; clear the classes setting")
    picked = class_selection(text)
    unknown = [c for c in picked if c not in raw.classes]
    if unknown:
        missing = ", ".join(repr(c) for c in unknown)
        raise DatasetSettingError(f"{title} has no class{'es' * (len(unknown) > 1)} {missing}; its classes are "
                                  f"{', '.join(raw.classes)}; change the classes setting")
    x, y, x_test, y_test = select_classes(raw.x, raw.y, raw.x_test, raw.y_test, raw.classes, picked)
    return RawData(x, y, raw.kind, picked, raw.image, x_test, y_test, raw.text)


def describe_dataset(config: dict | None = None) -> dict:
    """What the data panel and the templates need: shapes, dtype, classes, target kind, split sizes, class balance."""
    s = load_splits(config)
    counts: dict[str, int] = {}
    if s.classes:
        y = s["train"][1]
        hist = np.bincount(y, minlength=len(s.classes)) if len(y) else np.zeros(len(s.classes), int)
        counts = {name: int(c) for name, c in zip(s.classes, hist)}
    return {
        "name": s.name,
        "title": s.title,
        "description": s.info.get("description", ""),
        "kind": s.kind,
        "input_shape": list(s.input_shape),
        "dtype": s.dtype,
        "target_shape": list(s.target_shape),
        "classes": list(s.classes),
        "num_classes": len(s.classes),
        "image": s.image,
        "counts": s.counts,
        "class_counts": counts,
        "normalized": s.mean is not None,
        "vocabulary": s.info["tokenizer"]["vocab_size"] if "tokenizer" in s.info else None,
    }


def describe_data(config: dict | None = None):
    """The dataset of `config` loaded (cached) and described for the fit check (a DataDescription)."""
    config = dataset_config(config)
    return describe_splits(load_splits(config), config)


def sample_batch(config: dict | None, n: int = 32, augmented: bool = False, split: str = "train",
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` samples of a split (inputs as the model sees them); with `augmented`, after augmentation."""
    s = load_splits(config)
    x, y = s[split]
    n = min(n, len(x))
    x, y = np.array(x[:n]), np.array(y[:n])
    if augmented:
        aug = Augmentation.from_config(dataset_config(config))
        g = torch.Generator().manual_seed(seed)
        x = aug(torch.from_numpy(x), g, image=s.image).numpy()
    return x, y


class DeviceSplit:
    """One split as tensors: on the device when it fits, else in pinned host memory copied per batch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, device: torch.device, resident: bool) -> None:
        self.x, self.y, self.device, self.resident = x, y, device, resident

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, device: torch.device,
                    target_dtype: torch.dtype | None = None) -> DeviceSplit:
        """Tensors for `x`, `y`, placed on `device` when they fit in half its free memory."""
        xt = torch.from_numpy(np.array(x, copy=True))  # the cached arrays are read-only
        yt = torch.from_numpy(np.array(y, copy=True))
        if target_dtype is not None:
            yt = yt.to(target_dtype)
        nbytes = xt.nbytes + yt.nbytes
        resident = device.type == "cpu" or nbytes <= 0.5 * _free_bytes(device)
        if resident:
            return cls(xt.to(device), yt.to(device), device, True)
        return cls(xt.pin_memory(), yt.pin_memory(), device, False)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def batches(self, batch_size: int, order: torch.Tensor | None = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, y) batches on the device, in `order` (a permutation, or a process's shard of one) or as stored."""
        x, y = self.x, self.y
        if order is not None:  # one gather per epoch, then cheap contiguous slices
            order = order.to(x.device)
            x, y = x.index_select(0, order), y.index_select(0, order)
        n = int(x.shape[0])
        stop = n - n % batch_size if drop_last and n >= batch_size else n
        for start in range(0, stop, batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            if not self.resident:
                xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            yield xb, yb

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        n = len(self)
        return n // batch_size if drop_last and n >= batch_size else -(-n // batch_size)


def _free_bytes(device: torch.device) -> float:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free)
    if device.type == "mps":
        try:
            return float(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        except (AttributeError, RuntimeError):
            return 4.0 * 2**30
    return float("inf")
