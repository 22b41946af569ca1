"""The input adapter of the dataset settings: resize, grey to three channels, a backbone's normalisation.

A pretrained backbone expects its own inputs (torchvision's ImageNet models: three channels,
pixels 0–1 normalised with ImageNet's mean and std, and an image large enough for its
strides). The adapter turns the dataset's images into those: `input_height` and `input_width`,
`input_gray_to_rgb`, and `input_normalization` none | imagenet | custom (`input_mean`,
`input_std`, one value or one per channel, of pixels scaled to 0–1). A backbone
normalisation replaces the `normalize` setting (the split's own statistics).

One description for both sides: the fit check (graph_builder.datafit) reads `shape()`, the
data pipeline (runtime.data.adapter) applies the same settings to the arrays, and a run's
preprocessing says it in words (`describe()`). Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from graph_builder.errors import ProjectError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMALIZATIONS = ("none", "imagenet", "custom")
FIELDS = ("input_height", "input_width", "input_gray_to_rgb", "input_normalization", "input_mean", "input_std")
TABLE_DATASETS = ("iris", "wine", "breast_cancer", "moons", "spirals", "sine", "waveforms", "csv")


class AdapterError(ProjectError):
    """Input-adapter settings that are malformed or do not fit the dataset's samples."""


def _floats(text, name: str, path: str) -> tuple[float, ...]:
    if text is None or not str(text).strip():
        raise AdapterError(f"custom normalisation needs {name}: one value, or one per channel (0.5, 0.5, 0.5)",
                           f"{path}.{name}")
    try:
        values = tuple(float(v) for v in str(text).replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise AdapterError(f"{name} {text!r} is not a list of numbers; write it like 0.485, 0.456, 0.406",
                           f"{path}.{name}") from None
    if len(values) not in (1, 3) or not all(math.isfinite(v) for v in values):
        raise AdapterError(f"{name} needs 1 or 3 finite numbers (one per channel), not {text!r}", f"{path}.{name}")
    return values


@dataclass(frozen=True)
class InputAdapter:
    """What the adapter does to one image sample (C, H, W) before the network sees it."""

    size: tuple[int, int] | None = None
    gray_to_rgb: bool = False
    normalization: str = "none"
    mean: tuple[float, ...] | None = None  # of pixels scaled to 0–1
    std: tuple[float, ...] | None = None

    @property
    def active(self) -> bool:
        return self.size is not None or self.gray_to_rgb or self.mean is not None

    @classmethod
    def from_dataset(cls, dataset: Mapping | None, path: str = "$.dataset") -> InputAdapter:
        """The adapter a dataset section asks for; AdapterError naming the setting when it is malformed."""
        d = dataset or {}
        height, width = d.get("input_height"), d.get("input_width")
        if (height is None) != (width is None):
            missing = "input_width" if width is None else "input_height"
            raise AdapterError(f"resizing needs both a height and a width; set {missing} too (or clear both)",
                               f"{path}.{missing}")
        size = (int(height), int(width)) if height is not None and width is not None else None
        norm = d.get("input_normalization") or "none"
        mean: tuple[float, ...] | None = None
        std: tuple[float, ...] | None = None
        if norm == "imagenet":
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        elif norm == "custom":
            mean = _floats(d.get("input_mean"), "input_mean", path)
            std = _floats(d.get("input_std"), "input_std", path)
            if len(mean) != len(std):
                raise AdapterError(f"input_mean has {len(mean)} value(s) but input_std {len(std)}; give both one "
                                   "value, or both one per channel", f"{path}.input_std")
            if any(s <= 0 for s in std):
                raise AdapterError(f"input_std must be above 0 (it divides the pixels), not {d.get('input_std')!r}",
                                   f"{path}.input_std")
        adapter = cls(size, bool(d.get("input_gray_to_rgb")), norm, mean, std)
        name = d.get("name", "digits")
        if adapter.active and name in TABLE_DATASETS:
            raise AdapterError(f"the input adapter works on images (C, H, W), but the {name} data are not images; "
                               "clear the resize, grey-to-RGB and backbone normalisation settings",
                               f"{path}.{next(f for f in FIELDS if d.get(f) not in (None, False, 'none'))}")
        return adapter

    def shape(self, shape: tuple[int, ...], label: str = "the data") -> tuple[int, ...]:
        """The sample shape after the adapter; AdapterError when `shape` is not an image it can adapt."""
        shape = tuple(shape)
        if not self.active:
            return shape
        if len(shape) != 3:
            raise AdapterError(f"the input adapter works on images (C, H, W), but {label} gives samples of shape "
                               f"{shape}; clear the adapter settings", "$.dataset")
        channels, height, width = shape
        if self.gray_to_rgb:
            if channels not in (1, 3):
                raise AdapterError(f"grey to RGB repeats one channel three times, but {label} has {channels} "
                                   "channels; turn it off", "$.dataset.input_gray_to_rgb")
            channels = 3
        if self.mean is not None and len(self.mean) not in (1, channels):
            fix = "; turn on grey to 3 channels" if channels == 1 else ""
            raise AdapterError(f"the {self.normalization} normalisation has {len(self.mean)} values per channel but "
                               f"{label} has {channels} channel(s){fix}", "$.dataset.input_normalization")
        if self.size is not None:
            height, width = self.size
        return (channels, height, width)

    def value_range(self) -> tuple[float, float] | None:
        """The lowest and highest value a normalised pixel (0–1) can take, over the channels; None unnormalised."""
        if self.mean is None or self.std is None:
            return None
        lows = [(0.0 - m) / s for m, s in zip(self.mean, self.std)]
        highs = [(1.0 - m) / s for m, s in zip(self.mean, self.std)]
        return (min(lows), max(highs))

    def describe(self) -> str:
        """`resized to 64×64, grey repeated to 3 channels, normalised with ImageNet's mean and std` (or '')."""
        parts = []
        if self.size is not None:
            parts.append(f"resized to {self.size[0]}x{self.size[1]} (bilinear)")
        if self.gray_to_rgb:
            parts.append("grey repeated to 3 channels")
        if self.normalization == "imagenet":
            parts.append("normalised with ImageNet's mean and std (pixels 0-1)")
        elif self.mean is not None and self.std is not None:
            parts.append(f"normalised with mean {list(self.mean)} and std {list(self.std)} (pixels 0-1)")
        return ", ".join(parts)
