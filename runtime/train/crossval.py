"""k-fold cross-validation, stratified for classes: k ordinary runs, each validated on one fold.

    result = cross_validate(project, folds=5, root=Path("iris.runs"))
    result.mean["accuracy"], result.std["accuracy"]

The test split is held out as the dataset's settings say (or the source's own test set); the
rest is cut into k folds (scikit-learn's StratifiedKFold for classes, KFold for values). Fold
i trains on the other folds, validates on fold i, normalised with its own training part's
statistics. Each fold's run folder holds its fold record; a summary in the runs folder, named by
its start, lists the folds, their metrics and the mean ± standard deviation (graph_builder.run_folder).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graph_builder.files import write_atomic
from graph_builder.run_folder import RunFolder, crossval_summary_path

if TYPE_CHECKING:  # imported where used: reading data imports what the run needs
    from runtime.data import Splits


@dataclass
class FoldResult:
    """One fold's outcome: the validation metrics of its best epoch and its test metrics."""

    fold: int
    run_dir: str | None
    state: str  # finished | stopped | failed
    val: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class CrossValResult:
    folds: list[FoldResult]
    summary_file: Path | None = None
    task: str | None = None  # the task the folds trained (their started events say it)

    @property
    def headline(self) -> str:
        """The metric the cross-validation is summed up by: its task's headline, when the folds report it."""
        from graph_builder.tasks import TASKS

        spec = TASKS.get(self.task or "")
        return spec.headline if spec is not None and spec.headline in self.mean else "loss"

    def keys(self) -> list[str]:
        """The task's metrics every fold reported, in the task's order (the columns of a table of folds)."""
        from graph_builder.tasks import TASKS

        spec = TASKS.get(self.task or "")
        order = [m.key for m in spec.metrics] if spec is not None else list(self.mean)
        return [k for k in order if k in self.mean]

    def _values(self, split: str) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for f in self.folds:
            for k, v in getattr(f, split).items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    out.setdefault(k, []).append(float(v))
        return {k: v for k, v in out.items() if len(v) == len(self.folds)}

    @property
    def mean(self) -> dict[str, float]:
        """Mean of each validation metric over the folds (only metrics every fold has)."""
        return {k: float(np.mean(v)) for k, v in self._values("val").items()}

    @property
    def std(self) -> dict[str, float]:
        """Sample standard deviation (ddof 1) of each validation metric over the folds."""
        return {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in self._values("val").items()}

    def to_dict(self) -> dict:
        return {"folds": [f.__dict__ for f in self.folds], "mean": self.mean, "std": self.std,
                "test_mean": {k: float(np.mean(v)) for k, v in self._values("test").items()}}


def fold_splits(dataset: dict, folds: int, fold: int) -> Splits:
    """The Splits of fold `fold` (0-based) of `folds`: validation is that fold, test as the settings say."""
    from sklearn.model_selection import KFold, StratifiedKFold

    from graph_builder.data_description import CLASSES
    from runtime.data import DatasetSettingError, Splits, dataset_config, get_dataset
    from runtime.data.splits import feature_stats, split_indices

    config = dataset_config(dataset)
    if folds < 2:
        raise DatasetSettingError(f"cross-validation needs at least 2 folds, not {folds}")
    from runtime.data.loading import _class_subset
    from runtime.data.splits import train_subset

    entry = get_dataset(config["name"])
    raw = _class_subset(entry.load(config), config.get("classes"), entry.title)
    classification = raw.kind == CLASSES
    seed = config["split_seed"]
    if raw.x_test is not None:
        rest, test = np.arange(len(raw.x)), None
    else:
        rest, _, test = split_indices(raw.y if classification else None, len(raw.x), 0.0,
                                      config["test_fraction"], seed)
    if len(rest) < folds:
        raise DatasetSettingError(f"{len(rest)} samples cannot be cut into {folds} folds; use fewer folds")
    y_rest = raw.y[rest]
    if classification:
        counts = np.bincount(y_rest)
        smallest = int(counts[counts > 0].min())
        if smallest < folds:
            raise DatasetSettingError(f"the rarest class has {smallest} training samples, fewer than the {folds} "
                                      "folds of a stratified split; use fewer folds")
        cutter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        cutter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    train_i, val_i = list(cutter.split(rest, y_rest if classification else None))[fold]
    train, val = rest[np.sort(train_i)], rest[np.sort(val_i)]
    x_test, y_test = (raw.x_test, raw.y_test) if test is None else (raw.x[test], raw.y[test])
    parts = {"train": train_subset(raw.x[train], raw.y[train], config["train_fraction"], classification, seed),
             "val": (raw.x[val], raw.y[val]), "test": (x_test, y_test)}
    mean = std = None
    if config["normalize"] and raw.dtype == "float32":
        mean, std = feature_stats(parts["train"][0], raw.image)
        parts = {k: (((x - mean) / std).astype(np.float32), y) for k, (x, y) in parts.items()}
    info = {"source": entry.source, "path": config.get("path"), "description": entry.description,
            "fold": fold + 1, "folds": folds}
    return Splits(entry.name, entry.title, raw.kind, raw.classes, raw.image, parts, mean, std, info)


def cross_validate(project, folds: int, root: Path | None, *, training: dict | None = None,
                   on_event: Callable[[int, dict], None] | None = None,
                   on_fold: Callable[[FoldResult], None] | None = None, control=None,
                   project_path: str | os.PathLike | None = None) -> CrossValResult:
    """Train `project` once per fold (runs under `root`, or none when None); `on_event(fold, event)` sees every
    event, `on_fold(result)` each fold as it starts (state "running") and as it ends. A fold stopped through
    `control` ends the cross-validation (the folds so far are summarised). `project_path`: where the
    project's pretrained weights are found."""
    from graph_builder.runs import new_run_dir

    from runtime.train.trainer import train

    stamp = time.strftime("%Y%m%d-%H%M%S")
    results = []
    task = None
    for i in range(folds):
        splits = fold_splits(dict(project.dataset), folds, i)
        run_dir = None
        if root is not None:
            run_dir = new_run_dir(root)
            RunFolder(run_dir).write_fold(stamp, i + 1, folds)
        result = FoldResult(i + 1, str(run_dir) if run_dir else None, "failed")
        if on_fold:
            on_fold(FoldResult(i + 1, result.run_dir, "running"))
        epochs = {}
        for event in train(project, training=training, run_dir=run_dir, splits=splits, control=control,
                           project_path=project_path):
            if on_event:
                on_event(i + 1, event)
            if event["type"] == "started":
                task = event["task"]
            elif event["type"] == "epoch":
                epochs[event["epoch"]] = event["val"]
            elif event["type"] in ("finished", "stopped", "failed"):
                result.state, result.message = event["type"], event["message"]
                if event["type"] == "finished":
                    best = event["best_epoch"] if event["best_epoch"] in epochs else max(epochs, default=None)
                    result.val = {k: v for k, v in (epochs.get(best) or {}).items() if not isinstance(v, list)}
                    result.test = {k: v for k, v in (event["test"] or {}).items() if not isinstance(v, list)}
        results.append(result)
        if on_fold:
            on_fold(result)
        if result.state == "stopped":
            break
    out = CrossValResult(results, task=task)
    if root is not None:
        out.summary_file = crossval_summary_path(root, stamp)
        write_atomic(out.summary_file, json.dumps(out.to_dict(), indent=2).encode())
    return out


def run_crossval_in_child(project_dict: dict, root: str, queue, control, project_path: str | None = None) -> None:
    """The app's training child when the folds setting is above 1: every fold's events, a fold event as each
    fold starts and ends, and a crossval event with the mean ± std at the end (runtime/events.py)."""
    from graph_builder.project import project_from_dict

    from runtime.data import DataError
    from runtime.events import make

    project = project_from_dict(project_dict)
    folds = project.training.value("folds")

    def fold_event(f: FoldResult) -> None:
        queue.put(make("fold", fold=f.fold, folds=folds, state=f.state, run_dir=f.run_dir, val=f.val,
                       message=f.message))

    try:
        result = cross_validate(project, folds, Path(root), on_event=lambda _fold, event: queue.put(event),
                                on_fold=fold_event, control=control, project_path=project_path)
    except DataError as exc:  # folds the data cannot be cut into (more folds than the rarest class has samples)
        queue.put(make("failed", kind="settings", message=f"Cross-validation cannot start: {exc}", epoch=None,
                       batch=None))
        return
    data = result.to_dict()
    queue.put(make("crossval", folds=folds, done=len(result.folds), mean=data["mean"], std=data["std"],
                   summary=str(result.summary_file) if result.summary_file else None,
                   message=crossval_words(result, folds)))


def crossval_words(result: CrossValResult, folds: int) -> str:
    """`3-fold cross-validation: accuracy 0.9583 ± 0.0208 (folds 0.9583, 0.9375, 0.9792)` — the headline metric."""
    mean, std = result.mean, result.std
    key = result.headline if mean else None
    done = len(result.folds)
    head = f"{folds}-fold cross-validation" + (f", {done} of {folds} folds run" if done < folds else "")
    if key is None:
        return f"{head}: no fold finished"
    each = ", ".join(f"{f.val[key]:.4f}" for f in result.folds if key in f.val)
    return f"{head}: {key} {mean[key]:.4f} ± {std[key]:.4f} (folds {each})"
