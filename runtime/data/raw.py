"""RawData: a dataset as loaded, before it is split, normalised and moved to a device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawData:
    """Inputs and targets of one dataset; `x_test`/`y_test` (and `x_val`/`y_val`) when the source ships its own
    test (and validation) split."""

    x: np.ndarray
    y: np.ndarray
    kind: str  # the targets: "classes" (labels) or "values" (graph_builder.data_description)
    classes: tuple[str, ...] = ()
    image: bool = False  # samples are (C, H, W)
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    text: dict | None = None  # x holds strings, tokenised after the split with these settings (runtime.data.text)
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    scale: tuple[np.ndarray, np.ndarray] | None = None  # (mean, std) the source standardised its values with itself
    series: dict | None = None  # a time series' columns, target statistics and times (runtime.data.series)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def dtype(self) -> str:
        if self.text is not None:
            return "int64"  # token ids, once tokenised
        return "int64" if np.issubdtype(self.x.dtype, np.integer) else "float32"


def label_codes(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary class labels to 0..k-1 (sorted; numbers numerically) and their names."""
    uniques, codes = np.unique(values, return_inverse=True)
    names = []
    for u in uniques.tolist():
        names.append(str(int(u)) if isinstance(u, float) and u.is_integer() else str(u))
    return codes.astype(np.int64).reshape(-1), tuple(names)
