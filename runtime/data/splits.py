"""Train/validation/test split and normalisation statistics (numpy and scikit-learn only).

These functions are self-contained because the exported training script embeds their source:
the script splits and normalises exactly as the app does.
"""

from __future__ import annotations


def split_indices(y, n, val_fraction=0.2, test_fraction=0.2, seed=0, stratify=True):
    """(train, val, test) index arrays; stratified by class where every split can hold every class."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    def cut(idx, fraction):
        if fraction <= 0 or len(idx) < 2:
            return idx, idx[:0]
        take = max(1, int(round(fraction * len(idx))))
        if take >= len(idx):
            return idx[:0], idx
        strat = None
        if stratify and y is not None:
            _, counts = np.unique(y[idx], return_counts=True)
            if counts.min() >= 2 and min(take, len(idx) - take) >= len(counts):
                strat = y[idx]
        keep, out = train_test_split(idx, test_size=take, random_state=seed, stratify=strat)
        return np.sort(keep), np.sort(out)

    idx = np.arange(n)
    rest, test = cut(idx, test_fraction)
    remaining = 1.0 - test_fraction
    train, val = cut(rest, val_fraction / remaining if remaining > 0 else 0.0)
    return train, val, test


def feature_stats(x, image):
    """Per-channel (images) or per-feature (last axis) mean and std of the training inputs."""
    import numpy as np

    axis = 1 if image else x.ndim - 1
    reduce = tuple(a for a in range(x.ndim) if a != axis)
    mean = x.mean(axis=reduce, dtype=np.float64)
    std = x.std(axis=reduce, dtype=np.float64)
    std = np.where(std < 1e-8, 1.0, std)  # constant features stay as they are
    shape = [1] * x.ndim
    shape[axis] = -1
    return mean.astype(np.float32).reshape(shape[1:]), std.astype(np.float32).reshape(shape[1:])
