"""The input adapter applied to arrays: resize, grey to three channels, a backbone's normalisation.

The settings and the shape rule are graph_builder.input_adapter's; this applies them. Images
are resized with torch's bilinear interpolation (antialiased when shrinking), in chunks, and
a grey channel is repeated. The normalisation is returned as constants on *raw* values
(`mean * pixel_max`, `std * pixel_max`, shaped (C, 1, 1)), so a run records them like the
split statistics it replaces and its exported model normalises raw inputs itself.
Training, evaluation, `netcanvas predict` and the inference panel call the same `adapt_images`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from graph_builder.input_adapter import AdapterError, InputAdapter

from runtime.data.errors import DatasetSettingError
from runtime.data.limits import check_size

CHUNK = 256  # images resized per call: bounded memory for large folders


def script_settings(config: Mapping, image_channels: int | None, pixel_max: float) -> dict:
    """The adapter as plain values for the exported training script: size, grey to RGB, raw-value mean/std."""
    adapter = adapter_of(config)
    stats = adapter_stats(adapter, image_channels, pixel_max) if adapter.mean is not None and image_channels else None
    return {"size": list(adapter.size) if adapter.size else None, "gray_to_rgb": adapter.gray_to_rgb,
            "mean": stats[0].reshape(-1).tolist() if stats else None,
            "std": stats[1].reshape(-1).tolist() if stats else None}


def adapter_of(config: Mapping | None) -> InputAdapter:
    """The dataset section's adapter; DatasetSettingError when its settings are malformed."""
    try:
        return InputAdapter.from_dataset(config)
    except AdapterError as exc:
        raise DatasetSettingError(f"dataset setting {exc.path.removeprefix('$.dataset.')}: {exc.message}") from None


def adapt_images(x: np.ndarray, adapter: InputAdapter, label: str = "the data") -> np.ndarray:
    """Images (N, C, H, W) resized and given three channels as `adapter` says (float32)."""
    if not adapter.active or (adapter.size is None and not adapter.gray_to_rgb):
        return x
    try:
        channels, height, width = adapter.shape(tuple(x.shape[1:]), label)
    except AdapterError as exc:
        raise DatasetSettingError(exc.message) from None
    check_size(len(x) * channels * height * width * 4, f"{label} adapted to ({channels}, {height}, {width})")
    return adapt_pixels(x, adapter.size, adapter.gray_to_rgb)


def adapt_pixels(x, size=None, gray_to_rgb=False, chunk=CHUNK):
    """Images (N, C, H, W) resized to `size` (bilinear, antialiased when shrinking) and grey repeated to 3 channels.

    Self-contained (numpy and torch only): the exported training script embeds it unchanged.
    """
    out = np.asarray(x, dtype=np.float32)
    if size is not None and tuple(out.shape[2:]) != tuple(size):
        height, width = size
        shrink = height < out.shape[2] or width < out.shape[3]
        parts = [F.interpolate(torch.from_numpy(np.ascontiguousarray(out[i:i + chunk])), size=(height, width),
                               mode="bilinear", align_corners=False, antialias=shrink).numpy()
                 for i in range(0, len(out), chunk)]
        out = np.concatenate(parts) if parts else np.empty((0, out.shape[1], height, width), np.float32)
    if gray_to_rgb and out.shape[1] == 1:
        out = np.repeat(out, 3, axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)


def adapter_stats(adapter: InputAdapter, channels: int, pixel_max: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The backbone normalisation as (mean, std) of raw values, shaped (C, 1, 1); None without one."""
    if adapter.mean is None:
        return None
    mean = np.broadcast_to(np.asarray(adapter.mean, np.float32), (channels,)) * np.float32(pixel_max)
    std = np.broadcast_to(np.asarray(adapter.std, np.float32), (channels,)) * np.float32(pixel_max)
    return mean.reshape(channels, 1, 1).astype(np.float32), std.reshape(channels, 1, 1).astype(np.float32)
