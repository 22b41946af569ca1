"""Run control and inspecting results, with real clicks, the real training child and real digits/iris data.

Pause/Resume, editing while a run trains, a NaN run and a refused setting, clicking a confusion
cell, predicting a sample and a drawing, and the Export menu's Python code, script and weights.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def open_template(window, name: str):
    """Open a bundled template as an unsaved project."""
    from graph_builder.project import load_project

    window.set_project(load_project(TEMPLATES / name), None, unsaved=True)
    return window.training.training_panel.form.editors


def type_number(qtbot, editor, value) -> None:
    """Replace a spin box's value by typing, as a user does."""
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, str(value))
    qtbot.keyClick(editor, Qt.Key_Enter)
    assert editor.value() == pytest.approx(float(value)), f"typed {value}, the editor shows {editor.value()}"


def choose(qtbot, combo, text: str) -> None:
    """Pick a combo-box entry by typing its first letters (keyboard search)."""
    combo.setFocus()
    qtbot.wait(QApplication.keyboardInputInterval() + 50)  # a fresh search, not appended to the last one
    qtbot.keyClicks(combo, text)
    assert combo.currentText() == text, f"typed {text!r}, the combo shows {combo.currentText()!r}"


def click_menu_action(qtbot, window, menu_name: str, object_name: str) -> None:
    """Open a menu-bar menu and click one of its entries with the mouse."""
    menu = window.menu(menu_name)
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible)
    action = next(a for a in menu.actions() if a.objectName() == object_name)
    qtbot.mouseClick(menu, Qt.LeftButton, pos=menu.actionGeometry(action).center())


def export_through_menu(qtbot, window, key: str, target: Path) -> dict:
    """Export via the Export menu's entry `key` into `target`; returns the report."""
    exports = window.training.exports
    click_menu_action(qtbot, window, "E&xport", f"export_{key}")
    qtbot.waitUntil(lambda: exports.dialog is not None and exports.dialog.isVisible())
    with qtbot.waitSignal(exports.export_done, timeout=120000) as done:
        exports.dialog.selectFile(str(target))
        exports.dialog.accept()
    kind, report = done.args
    assert kind == key and report["ok"], report["message"]
    assert target.is_file() and target.stat().st_size > 0
    return report


def run_project(run_dir: Path):
    """The project a run trained (its snapshot), from its config.json."""
    from graph_builder.project import project_from_dict

    return project_from_dict(json.loads((run_dir / "config.json").read_text())["project"])


def node_named(graph, name: str):
    return next(n for n in graph.nodes.values() if n.name == name)


def record_events(bridge) -> list[dict]:
    events: list[dict] = []
    bridge.event_received.connect(events.append)
    return events


def test_pause_holds_the_run_resume_finishes_it_and_edits_meanwhile_do_not_touch_it(window, qtbot):
    from graph_builder.graph import RemoveNode, SetParam
    from runtime.compile.compiler import build_module
    from runtime.export.formats import WeightsMismatchError, load_weights

    c = window.training
    dash = c.dashboard
    editors = open_template(window, "lenet_digits.json")
    type_number(qtbot, editors["epochs"], 2)
    fc1_width = node_named(window.project.graph, "fc1").params["out_features"]
    events = record_events(c.bridge)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dash.loss_plot.point_count("train_batch") > 0 and "ETA" in dash.progress_text.text(),
                    timeout=60000)

    # Device and progress while it trains.
    assert "cpu" in dash.device.text().lower(), dash.device.text()
    progress = dash.progress_text.text()
    assert re.search(r"epoch \d/2 · batch \d+/\d+ · [\d,]+ samples/s · ETA \d+:\d\d", progress), progress

    # The user edits the graph while it trains: a wider fc1 and no dropout.
    graph = window.project.graph
    assert window.editor.push(SetParam(node_named(graph, "fc1").id, "out_features", fc1_width * 2))
    assert window.editor.push(RemoveNode(node_named(graph, "dropout").id))

    qtbot.mouseClick(c.training_panel.pause_button, Qt.LeftButton)
    assert c.bridge.state == "paused" and c.training_panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: any(e["type"] == "paused" for e in events), timeout=10000)
    qtbot.wait(200)  # events the child sent before it saw the flag are drained by now
    dash.refresh()
    held = dash.loss_plot.point_count("train_batch")
    seen = len(events)
    qtbot.wait(1200)  # the event loop keeps running; a paused child sends nothing
    dash.refresh()
    assert dash.loss_plot.point_count("train_batch") == held
    assert [e["type"] for e in events[seen:]] == []
    paused = next(e for e in events if e["type"] == "paused")
    assert dash.status.text().startswith(f"Paused in epoch {paused['epoch']}, "), dash.status.text()
    assert "Resume" in dash.status.text()
    assert c.bridge.is_active and not any(e["type"] in ("finished", "stopped", "failed") for e in events)

    click_menu_action(qtbot, window, "&Train", "pause_action")  # Train ▸ Pause / Resume resumes
    assert c.bridge.state == "running" and c.training_panel.pause_button.text() == "Pause"
    assert dash.status.text() == "Training…"
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=120000)
    assert dash.status.text().startswith("Finished"), dash.status.text()
    kinds = [e["type"] for e in events]
    assert "resumed" in kinds and kinds[-1] == "finished"
    after_resume = kinds[kinds.index("resumed"):]
    assert after_resume.count("epoch") >= 1 and "batch" in after_resume
    assert dash.loss_plot.point_count("train_batch") > held
    assert dash.metric_plot.point_count("val_epoch") == 2

    # The run kept the snapshot taken at Train: its architecture, and weights that fit only it.
    run = c.current_run
    trained = run_project(run)
    assert node_named(trained.graph, "fc1").params["out_features"] == fc1_width
    assert any(n.name == "dropout" for n in trained.graph.nodes.values())
    module = build_module(trained.graph)
    load_weights(module, run / "best.safetensors")
    assert module.fc1.out_features == fc1_width
    window.project.graph.connect(node_named(graph, "relu3").id, node_named(graph, "classifier").id)
    with pytest.raises(WeightsMismatchError):
        load_weights(build_module(window.project.graph), run / "best.safetensors")


def test_a_nan_run_is_reported_in_words_and_an_impossible_setting_is_refused(window, qtbot):
    c = window.training
    dash = c.dashboard
    editors = open_template(window, "mlp_iris.json")
    choose(qtbot, editors["optimizer"], "sgd")
    type_number(qtbot, editors["lr"], 10)
    type_number(qtbot, editors["batch_size"], 4)
    type_number(qtbot, editors["epochs"], 5)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.is_active
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=60000)
    text = dash.status.text()
    # A NaN loss is a diverged run (runtime/events.py DIVERGED), said so rather than "failed".
    assert text.startswith("Diverged") and dash.status.property("outcome") == "diverged", text
    assert "NaN" in text and re.search(r"epoch \d+, batch \d+", text) and "learning rate" in text, text
    assert "Traceback" not in text

    # The editor keeps working: a layer can be added and undone.
    before = len(window.project.graph.nodes)
    assert window.add_layer("ReLU", QPointF(0.0, 400.0)) is not None
    assert len(window.project.graph.nodes) == before + 1
    window.editor.stack.undo()
    assert len(window.project.graph.nodes) == before

    # A loss for classes with a regression task cannot work: refused before any process starts.
    choose(qtbot, editors["task"], "regression")
    choose(qtbot, editors["loss"], "cross_entropy")
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert not c.bridge.is_active and c.bridge.pid is None
    text = dash.status.text()
    assert text.startswith("Failed: Training was not started"), text
    assert "cross_entropy does not fit a regression run" in text and "Training panel" in text, text
    assert c.training_panel.train_button.isEnabled()

    # Fixed settings: a new run starts and finishes. Nesterov, ticked while SGD was chosen, no longer
    # applies once the optimizer is Adam: it neither blocks the run nor stays in the project.
    choose(qtbot, editors["task"], "auto")
    choose(qtbot, editors["loss"], "auto")
    editors["nesterov"].setFocus()
    qtbot.keyClick(editors["nesterov"], Qt.Key_Space)
    assert editors["nesterov"].isChecked() and window.project.training["nesterov"] is True
    choose(qtbot, editors["optimizer"], "adam")
    assert "nesterov" not in window.project.training
    type_number(qtbot, editors["lr"], 0.05)
    type_number(qtbot, editors["epochs"], 3)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert c.bridge.is_active
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=60000)
    assert dash.status.text().startswith("Finished"), dash.status.text()
    assert np.all(np.isfinite(dash.loss_plot.curves["train_epoch"].getData()[1]))
    assert json.loads((c.current_run / "config.json").read_text())["project"]["training"]["optimizer"] == "adam"
    from graph_builder.project import project_from_dict, project_to_dict

    assert project_from_dict(project_to_dict(window.project)).training["optimizer"] == "adam"  # the file opens


def click_confusion_cell(qtbot, view, true: int, pred: int) -> None:
    """A real left click on the centre of a confusion-matrix cell."""
    widget = view._widget
    scene_point = view.image.mapToScene(QPointF(pred + 0.5, true + 0.5))
    qtbot.mouseClick(widget.viewport(), Qt.LeftButton, pos=widget.mapFromScene(scene_point))


def test_inspect_a_confusion_cell_predict_a_sample_and_a_drawing_then_export_code_script_weights(
        window, qtbot, tmp_path):
    import torch

    from runtime.compile.compiler import build_module
    from runtime.data import load_splits
    from runtime.export.formats import load_weights

    c = window.training
    dash = c.dashboard
    panel = c.inference_panel
    editors = open_template(window, "lenet_digits.json")
    type_number(qtbot, editors["epochs"], 2)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=120000)
    assert dash.status.text().startswith("Finished"), dash.status.text()

    # The reference: the run's snapshot with its saved weights, on the split the matrix shows.
    run = c.current_run
    project = run_project(run)
    reference = build_module(project.graph)
    load_weights(reference, run / "best.safetensors")
    reference.eval()
    view = dash.confusion
    assert view.split == "test"  # the final matrix is the test set's
    x, y = load_splits(project.dataset)["test"]
    x = np.array(x)  # a writable copy: the cached splits are read-only
    with torch.no_grad():
        ref_probs = torch.softmax(reference(torch.as_tensor(x)), dim=-1).numpy()
    assert int(view.matrix.sum()) == len(y)

    # Click the largest cell (with at least two samples, so the order means something).
    true, pred = np.unravel_index(int(np.argmax(view.matrix)), view.matrix.shape)
    assert view.matrix[true, pred] >= 2
    dash.side_tabs.setCurrentWidget(view)
    with qtbot.waitSignal(panel.cell_shown, timeout=60000) as shown:
        click_confusion_cell(qtbot, view, int(true), int(pred))
    assert shown.args == [true, pred, int(view.matrix[true, pred])]
    assert len(panel.cell_indices) == view.matrix[true, pred]
    assert np.all(y[panel.cell_indices] == true) and np.all(ref_probs[panel.cell_indices].argmax(1) == pred)
    confidences = ref_probs[panel.cell_indices, pred]
    assert np.all(np.diff(confidences) <= 1e-6), "samples are not sorted by descending confidence"
    assert np.allclose(panel.cell_confidences, confidences, atol=1e-5)
    assert f"{len(panel.cell_indices)} test samples of class" in panel.message.text()
    # The inference panel opens beside the dashboard: the matrix stays in view for the next click.
    assert panel.isVisible() and not panel.visibleRegion().isEmpty()
    assert view.isVisible() and not view.visibleRegion().isEmpty()
    empty = np.argwhere(view.matrix == 0)
    if len(empty):  # an empty cell shows no samples, not the previous cell's
        with qtbot.waitSignal(panel.cell_shown, timeout=60000) as shown:
            click_confusion_cell(qtbot, view, int(empty[0][0]), int(empty[0][1]))
        assert shown.args[2] == 0 and panel.message.text().startswith("0 test samples")
        assert panel.cell_samples.image_label.text() == "No samples in this cell."

    # Predict one chosen test sample.
    choose(qtbot, panel.split, "test")
    type_number(qtbot, panel.index, 5)
    with qtbot.waitSignal(panel.predicted, timeout=60000) as predicted:
        qtbot.mouseClick(panel.predict_button, Qt.LeftButton)
    probs = np.asarray(predicted.args[0])
    assert probs.shape == (10,) and abs(probs.sum() - 1.0) < 1e-5
    assert np.allclose(probs, ref_probs[5], atol=1e-5)
    best = int(probs.argmax())
    assert f"predicted {dash.class_names[best]} with probability {probs[best]:.1%}" in panel.message.text()

    # A live run rewrites its best weights when it improves: the next prediction uses the new ones.
    from runtime.export.formats import export_weights

    fresh = build_module(project.graph, seed=7)
    export_weights(fresh, run / "best.safetensors")
    with qtbot.waitSignal(panel.predicted, timeout=60000) as predicted:
        qtbot.mouseClick(panel.predict_button, Qt.LeftButton)
    with torch.no_grad():
        fresh_probs = torch.softmax(fresh.eval()(torch.as_tensor(x[5:6])), dim=-1).numpy()[0]
    assert np.allclose(np.asarray(predicted.args[0]), fresh_probs, atol=1e-5)
    export_weights(reference, run / "best.safetensors")  # the trained weights again, for what follows

    # Draw a digit with real mouse drags, then the drawing is predicted.
    canvas = panel.canvas
    assert canvas.pixels(8).max() == 0
    with qtbot.waitSignal(panel.predicted, timeout=60000) as predicted:
        top, bottom = QPoint(80, 20), QPoint(80, 140)
        QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, top)
        for i in range(1, 9):
            QTest.mouseMove(canvas, top + (bottom - top) * i / 8)
        QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, bottom)
    drawing = canvas.pixels(8)
    # A vertical stroke down the middle columns, nothing at the sides.
    assert drawing[1:7, 3:5].min() > 0.3 and drawing[:, :2].max() == 0 and drawing[:, 6:].max() == 0
    probs = np.asarray(predicted.args[0])
    assert probs.shape == (10,) and abs(probs.sum() - 1.0) < 1e-5
    assert panel.message.text().startswith("your drawing: predicted")

    # Export the run's model as Python code, its weights, and a standalone training script.
    # (the Python export writes lenet.safetensors beside lenet.py itself, so the weights go elsewhere)
    code, weights, script = tmp_path / "lenet.py", tmp_path / "lenet_best.safetensors", tmp_path / "train_lenet.py"
    export_through_menu(qtbot, window, "python", code)
    assert "weights of run" in export_through_menu(qtbot, window, "weights", weights)["message"]
    export_through_menu(qtbot, window, "script", script)
    with torch.no_grad():
        expected = reference(torch.as_tensor(x[:4])).numpy()
    np.save(tmp_path / "x.npy", x[:4])
    np.save(tmp_path / "expected.npy", expected)
    check = subprocess.run([sys.executable, "-c", CHECK_EXPORTS, str(tmp_path)], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-2000:]
    assert "epoch 1/1" in check.stdout and "saved the weights of model to" in check.stdout, check.stdout
    assert "outputs match" in check.stdout and "script weights load" in check.stdout, check.stdout


# In a fresh interpreter: the training script runs as a program (one epoch), the exported code with
# the exported weights gives the run's outputs, and the script's saved state dict loads into that class.
CHECK_EXPORTS = """
import importlib.util, runpy, sys
from pathlib import Path
import numpy as np, torch
from safetensors.torch import load_file
folder = Path(sys.argv[1])
sys.argv = ["train_lenet.py", "--epochs", "1", "--out", str(folder / "script.pt")]
runpy.run_path(str(folder / "train_lenet.py"), run_name="__main__")
spec = importlib.util.spec_from_file_location("lenet", folder / "lenet.py")
code = importlib.util.module_from_spec(spec)
spec.loader.exec_module(code)
net = code.Net()
net.load_state_dict(load_file(str(folder / "lenet_best.safetensors")), strict=True)
net.eval()
with torch.no_grad():
    out = net(torch.as_tensor(np.load(folder / "x.npy"))).numpy()
assert out.shape == (4, 10), out.shape
assert np.allclose(out, np.load(folder / "expected.npy"), atol=1e-5), abs(out - np.load(folder / "expected.npy")).max()
print("outputs match")
code.Net().load_state_dict(torch.load(folder / "script.pt", weights_only=True), strict=True)
print("script weights load")
"""


def test_stop_while_paused_ends_the_run_and_closing_the_window_mid_run_ends_the_child(window, qtbot):
    c = window.training
    dash = c.dashboard
    editors = open_template(window, "mlp_iris.json")
    type_number(qtbot, editors["epochs"], 5000)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dash.loss_plot.point_count("train_batch") > 0, timeout=60000)
    qtbot.mouseClick(c.training_panel.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dash.status.text().startswith("Paused in epoch"), timeout=10000)
    qtbot.mouseClick(c.training_panel.stop_button, Qt.LeftButton)  # a paused run must wake up to stop
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=5000)
    assert dash.status.text().startswith("Stopped"), dash.status.text()
    assert (c.current_run / "last.safetensors").is_file()  # the trainer stopped cleanly, saving its weights

    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dash.loss_plot.point_count("train_batch") > 0, timeout=60000)
    pid = c.bridge.pid
    assert Path(f"/proc/{pid}").exists()
    window.discard_changes()  # nothing to save: the close goes through without a prompt
    window.close()
    qtbot.waitUntil(lambda: c.bridge.pid is None, timeout=10000)
    assert not Path(f"/proc/{pid}").exists(), "the training child outlived the window"


def process_gone(pid: int) -> bool:
    """True when `pid` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# A GUI-side process (the real bridge on a Qt event loop) that prints its training child's pid and waits.
BRIDGE_HOST = """
import sys
from PySide6.QtCore import QCoreApplication
from app.training.bridge import TrainingBridge
from graph_builder.project import load_project, project_to_dict
app = QCoreApplication([])
project = project_to_dict(load_project(sys.argv[1]))
project["training"]["epochs"] = 100000
bridge = TrainingBridge()
def on_event(event):
    if event["type"] == "batch":
        print(bridge.pid, flush=True)
bridge.event_received.connect(on_event)
bridge.start(project, sys.argv[2])
app.exec()
"""


def test_a_training_child_ends_when_the_app_is_killed(qtbot, tmp_path):
    import os
    import signal

    host = subprocess.Popen([sys.executable, "-c", BRIDGE_HOST, str(TEMPLATES / "mlp_iris.json"), str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        child = int(host.stdout.readline())
        assert not process_gone(child)
    finally:
        host.kill()  # SIGKILL: the app gets no chance to end its child itself
        host.wait(10)
        host.stdout.close()
    assert host.returncode == -signal.SIGKILL
    try:
        qtbot.waitUntil(lambda: process_gone(child), timeout=10000)
    finally:
        if not process_gone(child):  # never leave it behind, even when the test fails
            os.kill(child, signal.SIGKILL)
