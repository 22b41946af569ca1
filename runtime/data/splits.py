"""Train/validation/test split and normalisation statistics (numpy only).

These functions are self-contained because the exported training script embeds their source:
the script picks its classes, splits, takes its training fraction and normalises exactly as the app does.
"""

from __future__ import annotations


def shuffle_split(y, n, n_train, n_test, seed):
    """(train, test) positions among `n`, drawn at random (in class proportions where `y` is given).

    The same draw as scikit-learn's train_test_split(..., random_state=seed, stratify=y), in numpy alone:
    importing scikit-learn takes a second, longer than a small run trains.
    """
    import numpy as np

    rng = np.random.RandomState(seed)
    if y is None:
        order = rng.permutation(n)
        return order[n_test:n_test + n_train], order[:n_test]

    def approximate_mode(counts, draws):  # per-class draws, ties broken at random (sklearn's _approximate_mode)
        continuous = counts / counts.sum() * draws
        floored = np.floor(continuous)
        need = int(draws - floored.sum())
        if need > 0:
            remainder = continuous - floored
            for value in np.sort(np.unique(remainder))[::-1]:
                (tied,) = np.where(remainder == value)
                add = min(len(tied), need)
                floored[rng.choice(tied, size=add, replace=False)] += 1
                need -= add
                if need == 0:
                    break
        return floored.astype(int)

    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(codes.reshape(-1), kind="stable"), np.cumsum(counts)[:-1])
    n_i = approximate_mode(counts, n_train)
    t_i = approximate_mode(counts - n_i, n_test)
    train, test = [], []
    for i, rows in enumerate(members):
        rows = rows[rng.permutation(counts[i])]
        train.extend(rows[:n_i[i]])
        test.extend(rows[n_i[i]:n_i[i] + t_i[i]])
    return np.array(train, dtype=np.int64), np.array(test, dtype=np.int64)


def split_indices(y, n, val_fraction=0.2, test_fraction=0.2, seed=0, stratify=True):
    """(train, val, test) index arrays; stratified by class where every split can hold every class."""
    import numpy as np

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
        keep, out = shuffle_split(strat, len(idx), len(idx) - take, take, seed)
        return np.sort(idx[keep]), np.sort(idx[out])

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


def select_classes(x, y, x_test, y_test, classes, picked):
    """Only the samples of the classes `picked` (names among `classes`), relabelled 0… in that order."""
    import numpy as np

    codes = np.array([list(classes).index(c) for c in picked], dtype=np.int64)
    relabel = np.full(max(len(classes), 1), -1, dtype=np.int64)
    relabel[codes] = np.arange(len(codes))

    def keep(a, b):
        if a is None:
            return None, None
        mask = np.isin(b, codes)
        return a[mask], relabel[b[mask]]

    x, y = keep(x, y)
    x_test, y_test = keep(x_test, y_test)
    return x, y, x_test, y_test


def split_parts(x, y, x_test, y_test, classification, val_fraction, test_fraction, seed, x_val=None, y_val=None):
    """{"train", "val", "test"}: (x, y) each; a source's own test (and validation) set stays that split."""
    if x_val is not None:  # the source split itself (a time series, in time order)
        return {"train": (x, y), "val": (x_val, y_val), "test": (x_test, y_test)}
    if x_test is not None:  # the source ships its own test set: split validation off the training part
        train, val, _ = split_indices(y if classification else None, len(x), val_fraction, 0.0, seed)
        return {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x_test, y_test)}
    train, val, test = split_indices(y if classification else None, len(x), val_fraction, test_fraction, seed)
    return {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (x[test], y[test])}


def train_subset(x, y, fraction, classification, seed):
    """A stratified `fraction` of the training split (every class keeps at least one sample where it can)."""
    import numpy as np

    if fraction >= 1.0:
        return x, y
    take = max(1, int(round(fraction * len(x))))
    if take >= len(x):
        return x, y
    strat = None
    if classification:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and min(take, len(x) - take) >= len(counts):
            strat = y
    kept, _ = shuffle_split(strat, len(x), take, len(x) - take, seed)
    kept = np.sort(kept)
    return x[kept], y[kept]


def normalised(parts, mean, std):
    """Every split's inputs standardised with the training split's (or a backbone's) mean and std."""
    import numpy as np

    return {k: (((a - mean) / std).astype(np.float32), b) for k, (a, b) in parts.items()}
