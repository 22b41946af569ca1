"""k-fold cross-validation: stratified folds, one ordinary run per fold, mean ± std reported."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from graph_builder import load_project
from runtime.cli import main
from graph_builder.runs import FOLD_FILE
from runtime.train.crossval import fold_splits
from runtime.data import DatasetSettingError

IRIS = Path(__file__).resolve().parents[2] / "resources" / "templates" / "mlp_iris.json"


def test_folds_are_stratified_disjoint_and_cover_everything_but_the_test_split():
    folds = [fold_splits({"name": "iris"}, 5, i) for i in range(5)]
    def raw(f, split):  # back to the data's own units: each fold is normalised with its own statistics
        return Counter(tuple(np.round(row, 3)) for row in f[split][0] * f.std + f.mean)

    from sklearn.datasets import load_iris

    everything = Counter(tuple(np.round(row, 3)) for row in load_iris().data.astype(np.float32))
    test = raw(folds[0], "test")
    assert all(raw(f, "test") == test for f in folds)  # one held-out test split
    assert sum((raw(f, "val") for f in folds), Counter()) + test == everything  # disjoint folds cover the rest
    sizes = [len(f["val"][0]) for f in folds]
    assert sizes == [24] * 5 and all(len(f["train"][0]) == 96 for f in folds)
    for f in folds:
        assert np.bincount(f["val"][1]).tolist() == [8, 8, 8]  # every class in its share
        assert f.mean is not None and np.allclose(f["train"][0].mean(axis=0), 0, atol=1e-5)  # its own statistics


def test_more_folds_than_the_rarest_class_has_samples_is_refused():
    with pytest.raises(DatasetSettingError, match="fewer folds"):
        fold_splits({"name": "iris"}, 50, 0)  # 40 samples of each class are left


def test_5_fold_iris_gives_five_results_and_their_mean(tmp_path, capsys):
    code = main(["train", str(IRIS), "--folds", "5", "--epochs", "2", "--out", str(tmp_path), "--json"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = lines[-1]
    assert summary["type"] == "crossval" and len(summary["folds"]) == 5
    accuracies = [f["val"]["accuracy"] for f in summary["folds"]]
    assert summary["mean"]["accuracy"] == pytest.approx(np.mean(accuracies))
    assert summary["std"]["accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    assert {e["fold"] for e in lines[:-1]} == {1, 2, 3, 4, 5}
    runs = sorted(p for p in tmp_path.iterdir() if (p / FOLD_FILE).is_file())
    assert [json.loads((p / FOLD_FILE).read_text())["fold"] for p in runs] == [1, 2, 3, 4, 5]
    assert all((p / "config.json").is_file() for p in runs)
    assert json.loads(Path(summary["summary"]).read_text())["mean"] == summary["mean"]


def test_the_folds_setting_makes_plain_train_cross_validate(tmp_path, capsys):
    from graph_builder import save_project
    from graph_builder.settings import SetSetting

    project = load_project(IRIS)
    project.training.apply(SetSetting("folds", 3))
    path = tmp_path / "iris.json"
    save_project(project, path)
    assert main(["train", str(path), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "3-fold cross-validation" in out and "mean" in out and " std" in out
