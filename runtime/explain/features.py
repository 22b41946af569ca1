"""The names of a table's features, for per-feature attributions."""

from __future__ import annotations

from runtime.data.registry import DATASETS


def feature_names(dataset: str | None, count: int) -> list[str]:
    """The dataset's own names for its `count` features where it has them (scikit-learn's tables), else `feature 1`…"""
    entry = DATASETS.get(dataset or "")
    if entry is not None and entry.sklearn and entry.source == "bundled":
        import sklearn.datasets

        names = list(getattr(sklearn.datasets, entry.sklearn)().get("feature_names", []))
        if len(names) == count:
            return [str(n) for n in names]
    return [f"feature {i + 1}" for i in range(count)]
