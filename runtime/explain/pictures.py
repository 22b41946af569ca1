"""Attributions as pictures: a heat map over the input image, and per-feature bars, as RGB arrays and PNGs.

The same arrays are what the Evaluate workspace shows, so the CLI's file and the window agree.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

MIN_SIDE = 256  # small images (8 × 8 digits) are enlarged to at least this many pixels, nearest neighbour
HEAT_OPACITY = 0.65  # at the map's maximum; where the map is zero the input shows through unchanged
BAR_HEIGHT, BAR_WIDTH = 20, 480


def grey_or_colour(sample: np.ndarray) -> np.ndarray:
    """One (C, H, W) sample as an (H, W, 3) picture in 0..1: RGB for three channels, else their mean as grey."""
    sample = np.asarray(sample, dtype=np.float32)
    picture = np.moveaxis(sample, 0, -1) if sample.shape[0] == 3 else np.repeat(sample.mean(axis=0)[..., None], 3, -1)
    low, high = float(picture.min()), float(picture.max())
    return (picture - low) / (high - low) if high > low else np.zeros_like(picture)


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """A map in 0..1 as "hot" colours (black, red, yellow, white), shape (…, 3)."""
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)[..., None]
    return np.clip(np.concatenate([3 * heat, 3 * heat - 1, 3 * heat - 2], axis=-1), 0, 1)


def overlay(sample: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The heat map (H, W) over the image sample (C, H, W): an (H', W', 3) uint8 picture, enlarged when small."""
    heat = np.asarray(heat, dtype=np.float32)
    top = float(heat.max())
    heat = heat / top if top > 0 else np.zeros_like(heat)
    alpha = HEAT_OPACITY * heat[..., None]
    picture = (1 - alpha) * grey_or_colour(sample) + alpha * heat_colours(heat)
    scale = max(1, -(-MIN_SIDE // max(heat.shape)))
    picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.round(picture * 255).astype(np.uint8)


def feature_grid(maps: np.ndarray, gap: int = 1) -> np.ndarray:
    """Feature maps (C, H, W) tiled in a near-square grid, each scaled to 0..1 on its own; gaps are 0."""
    maps = np.asarray(maps, dtype=np.float32)
    maps = maps.reshape(maps.shape[0], maps.shape[1], -1) if maps.ndim > 3 else maps
    count, height, width = maps.shape
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    grid = np.zeros((rows * (height + gap) - gap, columns * (width + gap) - gap), dtype=np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    scaled = np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 0)
    for k in range(count):
        r, c = divmod(k, columns)
        grid[r * (height + gap): r * (height + gap) + height, c * (width + gap): c * (width + gap) + width] = scaled[k]
    return grid


def feature_bars(values: np.ndarray) -> np.ndarray:
    """Signed per-feature attributions as horizontal bars from a middle line: an (F·20, 480, 3) uint8 picture.

    Positive bars (towards the target) are orange to the right, negative ones blue to the left.
    """
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    top = float(np.abs(values).max()) if len(values) else 0.0
    picture = np.full((max(len(values), 1) * BAR_HEIGHT, BAR_WIDTH, 3), 255, dtype=np.uint8)
    middle = BAR_WIDTH // 2
    picture[:, middle] = 128
    for i, v in enumerate(values):
        length = int(round(abs(v) / top * (middle - 4))) if top > 0 else 0
        rows = slice(i * BAR_HEIGHT + 3, (i + 1) * BAR_HEIGHT - 3)
        if v >= 0:
            picture[rows, middle + 1: middle + 1 + length] = (230, 159, 0)
        else:
            picture[rows, middle - length: middle] = (0, 114, 178)
    return picture


def write_png(path: str | Path, picture: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 picture as a PNG, atomically."""
    from PIL import Image

    from graph_builder.files import write_atomic

    data = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture), "RGB").save(data, format="PNG")
    return write_atomic(path, data.getvalue())
