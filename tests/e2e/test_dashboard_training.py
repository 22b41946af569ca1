"""Whole-app training flows with the real child process and real training on digits."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def lenet_template() -> Path:
    found = sorted(p for p in TEMPLATES.glob("*.json") if "lenet" in p.name.lower())
    assert found, f"no LeNet-style template in {TEMPLATES}"
    return found[0]


def open_lenet(window):
    """Open the LeNet-style template (digits is its dataset); returns the epochs editor."""
    from graph_builder.project import load_project

    project = load_project(lenet_template())
    assert project.dataset.get("name", "digits") == "digits"
    window.set_project(project, None, unsaved=True)
    return window.training.training_panel.form.editors["epochs"]


def set_epochs(qtbot, editor, epochs: int) -> None:
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, str(epochs))
    qtbot.keyClick(editor, Qt.Key_Enter)


def validation_size(window) -> int:
    from runtime.data import describe_dataset

    desc = describe_dataset(window.training.snapshot()["dataset"])
    counts = desc.get("counts") or desc.get("sizes")
    return int(counts.get("val", counts.get("validation")))


def click_menu_action(qtbot, window, menu_name: str, object_name: str) -> None:
    """Open a menu-bar menu and click one of its entries with the mouse."""
    menu = window.menu(menu_name)
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible)
    action = next(a for a in menu.actions() if a.objectName() == object_name)
    qtbot.mouseClick(menu, Qt.LeftButton, pos=menu.actionGeometry(action).center())


def test_train_two_epochs_watch_curves_stop_quickly_and_export_onnx(window, qtbot, tmp_path):
    c = window.training
    editor = open_lenet(window)
    set_epochs(qtbot, editor, 40)  # more than we wait for: the run is stopped mid-way
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.is_active

    dash = c.dashboard
    qtbot.waitUntil(lambda: dash.metric_plot.point_count("val_epoch") >= 2, timeout=60000)
    qtbot.waitUntil(lambda: dash.confusion_epoch is not None and dash.confusion_epoch >= 2, timeout=10000)

    def batch_points() -> int:  # batch events come at most 20 a second: a fast epoch may send only one
        dash.refresh()
        return len(dash.loss_plot.curves["train_batch"].getData()[0])

    qtbot.waitUntil(lambda: batch_points() > 2, timeout=60000)
    x, y = dash.loss_plot.curves["train_batch"].getData()
    assert np.all(np.isfinite(y))
    assert len(dash.loss_plot.curves["val_epoch"].getData()[0]) >= 2
    acc_x, acc_y = dash.metric_plot.curves["val_epoch"].getData()
    assert len(acc_x) >= 2 and 0.0 <= acc_y.min() and acc_y.max() <= 1.0
    assert acc_y[-1] > 0.5  # the CNN learns digits within two epochs
    assert int(dash.confusion.matrix.sum()) == validation_size(window)
    assert dash.progress.value() > 0 and "ETA" in dash.progress_text.text()

    # Stop acts within the epoch it is pressed in, at the next batch: at most the epoch under way ends
    # (when the click lands on its last batch), never one more. How long it takes is bench/'s business.
    epochs_at_click = dash.metric_plot.point_count("val_epoch")
    qtbot.mouseClick(c.training_panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=5000)
    dash.refresh()
    assert dash.metric_plot.point_count("val_epoch") <= epochs_at_click + 1
    assert dash.status.text().startswith("Stopped")
    assert c.training_panel.train_button.isEnabled()

    # Export ONNX with the run's weights through the Export menu.
    target = tmp_path / "lenet.onnx"
    click_menu_action(qtbot, window, "E&xport", "export_onnx")
    qtbot.waitUntil(lambda: c.exports.dialog is not None and c.exports.dialog.isVisible())
    with qtbot.waitSignal(c.exports.export_done, timeout=120000) as done:
        c.exports.dialog.selectFile(str(target))
        c.exports.dialog.accept()
    kind, report = done.args
    assert kind == "onnx" and report["ok"], report["message"]
    assert report["parity_ok"] is True and "parity: OK" in report["message"]
    assert "weights of run" in report["message"]
    import onnx

    model = onnx.load(str(target))
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 1


def test_a_killed_training_child_is_reported_and_a_new_run_starts(window, qtbot):
    c = window.training
    editor = open_lenet(window)
    set_epochs(qtbot, editor, 40)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: c.dashboard.loss_plot.point_count("train_batch") > 0, timeout=60000)
    first_pid = c.bridge.pid
    os.kill(first_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    text = c.dashboard.status.text()
    assert text.startswith("Crashed") and "killed" in text and "new run" in text
    assert "Traceback" not in text
    assert window.isVisible() and c.training_panel.train_button.isEnabled()

    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.is_active and c.bridge.pid != first_pid
    qtbot.waitUntil(lambda: c.dashboard.loss_plot.point_count("train_batch") > 0, timeout=60000)
    qtbot.mouseClick(c.training_panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=5000)
    assert c.dashboard.status.text().startswith("Stopped")
