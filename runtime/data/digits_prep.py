"""A drawing prepared the way scikit-learn's digits were made (numpy only: no torch, no Qt).

The digits are UCI's optdigits: a handwritten digit's bounding box was size-normalised into a
32x32 bitmap, and each 4x4 block's on-pixels were counted, giving 8x8 values in 0..16. A
drawing goes the same way: bounding box, scale to fit the 32x32 box (aspect kept), centre of
mass to the centre, 4x4 block averages of the ink scaled to 0..16. (Averages of the
anti-aliased ink, not counts of on/off pixels: a drawing is smoother than a scanned bitmap,
and measured on test digits drawn back this way the averages agree more often.) The run's
normalisation comes after, inside its model (runtime.export.preprocess).
"""

from __future__ import annotations

import numpy as np

BITMAP = 32  # the size-normalised bitmap's side
BLOCK = 4  # 32 / 4 = 8 values a side
INK = 0.1  # a pixel with less ink than this is background when the bounding box is found


def area_resize(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """`a` resampled to height x width by area (each output pixel the mean of what it covers)."""
    return _area(a.shape[0], height) @ a @ _area(a.shape[1], width).T


def _area(n_in: int, n_out: int) -> np.ndarray:
    edges = np.linspace(0.0, n_in, n_out + 1)
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    weights = np.clip(overlap, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def digit_bitmap(drawing: np.ndarray) -> np.ndarray:
    """The 32x32 ink bitmap (0..1) of a drawing (H, W) of ink in 0..1: bounding box, fitted, centred by mass."""
    a = np.asarray(drawing, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"a drawing is one grey image (H, W); this one has shape {a.shape}")
    bitmap = np.zeros((BITMAP, BITMAP))
    rows, cols = np.nonzero(a >= INK)
    if not len(rows):
        return bitmap  # an empty pad
    crop = a[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    h, w = crop.shape
    scale = BITMAP / max(h, w)
    nh, nw = max(1, min(BITMAP, round(h * scale))), max(1, min(BITMAP, round(w * scale)))
    fitted = np.clip(area_resize(crop, nh, nw), 0.0, 1.0)
    ys, xs = np.indices(fitted.shape)
    mass = fitted.sum()
    # the centre of mass to the bitmap's centre, keeping the whole digit inside
    top = int(np.clip(round((BITMAP - 1) / 2 - (ys * fitted).sum() / mass), 0, BITMAP - nh))
    left = int(np.clip(round((BITMAP - 1) / 2 - (xs * fitted).sum() / mass), 0, BITMAP - nw))
    bitmap[top: top + nh, left: left + nw] = fitted
    return bitmap


def prepare_drawing(drawing: np.ndarray) -> np.ndarray:
    """A drawing (H, W) of ink in 0..1 as one raw digits sample: (1, 8, 8) float32, block averages in 0..16."""
    bitmap = digit_bitmap(drawing)
    side = BITMAP // BLOCK
    blocks = bitmap.reshape(side, BLOCK, side, BLOCK).mean(axis=(1, 3))
    return (blocks * 16.0).astype(np.float32)[None]
