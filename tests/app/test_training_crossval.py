"""Train with the folds setting above 1 cross-validates: per-fold metrics and their mean ± std in the
dashboard, the cross-validation in the Runs panel with its mean ± std above its folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from graph_builder import load_project

IRIS = Path(__file__).resolve().parents[2] / "resources" / "templates" / "mlp_iris.json"


def test_train_with_3_folds_shows_each_fold_and_their_mean_and_lists_the_cross_validation(app_window, qtbot):
    project = load_project(IRIS)
    project.training.update({"epochs": 2, "stop_on_divergence": False})
    app_window.set_project(project, None)
    c = app_window.training
    folds_editor = c.training_panel.form.editors["folds"]
    folds_editor.setValue(3)  # the training form's own field: an undoable edit of the document
    assert app_window.project.training["folds"] == 3
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: c.bridge.is_active, timeout=10_000)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=240_000)

    root = c.runs_root()
    summary = json.loads(next(root.glob("*.crossval.json")).read_text())
    accuracies = [f["val"]["accuracy"] for f in summary["folds"]]
    assert len(accuracies) == 3 and all(f["state"] == "finished" for f in summary["folds"])
    mean, std = np.mean(accuracies), np.std(accuracies, ddof=1)

    text = c.dashboard.folds.text()
    assert c.dashboard.folds.isVisible()
    for k, acc in enumerate(accuracies, 1):
        assert f"Fold {k}/3: accuracy {acc:.4f}" in text
    assert f"Mean ± std over 3 folds: accuracy {mean:.4f} ± {std:.4f}" in text
    status = c.dashboard.status.text()
    assert "3-fold cross-validation" in status and f"{mean:.4f} ± {std:.4f}" in status

    tree = c.runs_panel.tree
    rows = [[tree.topLevelItem(i).text(col) for col in range(tree.columnCount())]
            for i in range(tree.topLevelItemCount())]
    names = [r[0] for r in rows]
    assert sorted(n.rsplit(" ", 1)[-1] for n in names if "(fold" in n) == ["1/3)", "2/3)", "3/3)"]
    cv = next(r for r in rows if "cross-validation (3 folds)" in r[0])
    assert cv[1] == "finished" and cv[4] == f"accuracy {mean:.4g} ± {std:.4g}"
    assert names.index(cv[0]) < min(i for i, n in enumerate(names) if "(fold" in n)  # above its folds
    assert all((p / "fold.json").is_file() for p in root.iterdir() if p.is_dir())  # no empty run beside them
    cv_item = tree.topLevelItem(names.index(cv[0]))
    assert not cv_item.flags() & Qt.ItemIsSelectable  # it has no weights to export or run


def test_more_folds_than_the_rarest_class_allows_is_said_in_the_dashboard(app_window, qtbot):
    project = load_project(IRIS)
    project.training.update({"epochs": 1, "folds": 20})
    project.dataset.update({"test_fraction": 0.8, "val_fraction": 0.0})  # 30 left to cut: 10 of each class
    app_window.set_project(project, None)
    c = app_window.training
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: c.bridge.is_active, timeout=10_000)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=240_000)
    status = c.dashboard.status.text()
    assert status.startswith("Failed") and "fewer folds" in status and "Traceback" not in status
