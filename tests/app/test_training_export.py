"""The Export menu writes real files through the save dialog and reports the outcome in words."""

import pytest
from graph_builder.project import Project


def export_via_dialog(qtbot, window, key, target):
    c = window.training
    c.exports.actions[key].trigger()
    qtbot.waitUntil(lambda: c.exports.dialog is not None and c.exports.dialog.isVisible())
    with qtbot.waitSignal(c.exports.export_done, timeout=120000) as done:
        c.exports.dialog.selectFile(str(target))
        c.exports.dialog.accept()
    qtbot.waitUntil(lambda: all(j.done for j in c.exports._jobs))
    for job in c.exports._jobs:
        job.wait(5)
    return done.args


@pytest.fixture
def mlp_window(make_window, mlp_graph, tmp_path, monkeypatch):
    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    window = make_window(Project(graph=mlp_graph))
    return window


def test_onnx_export_reports_onnxruntime_parity(mlp_window, qtbot, tmp_path):
    import onnx

    target = tmp_path / "net.onnx"
    kind, report = export_via_dialog(qtbot, mlp_window, "onnx", target)
    assert kind == "onnx" and report["ok"] and report["parity_ok"] is True
    assert "onnxruntime parity: OK" in report["message"] and "untrained weights" in report["message"]
    model = onnx.load(str(target))
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 16


def test_python_and_weights_exports_round_trip(mlp_window, qtbot, tmp_path):
    import torch

    from runtime.compile.compiler import build_module
    from runtime.export.formats import load_weights

    kind, report = export_via_dialog(qtbot, mlp_window, "python", tmp_path / "net.py")
    assert report["ok"] and "class Net" in (tmp_path / "net.py").read_text()
    kind, report = export_via_dialog(qtbot, mlp_window, "weights", tmp_path / "w.safetensors")
    assert report["ok"]
    module = load_weights(build_module(mlp_window.project.graph, seed=123), tmp_path / "w.safetensors")
    reference = build_module(mlp_window.project.graph)
    for a, b in zip(module.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)


def test_a_failed_export_is_reported_in_plain_words(mlp_window, qtbot, tmp_path):
    kind, report = export_via_dialog(qtbot, mlp_window, "onnx", tmp_path / "missing-folder" / "x" / "net.onnx")
    assert not report["ok"]
    assert report["message"].startswith("Export to net.onnx failed:")
    assert "Traceback" not in report["message"]


def test_export_writes_the_network_on_the_canvas(make_window, qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    from graph_builder import load_project

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    template = Path(__file__).resolve().parents[2] / "resources" / "templates" / "residual_cnn_digits.json"
    window = make_window(load_project(template))
    kind, report = export_via_dialog(qtbot, window, "python", tmp_path / "main.py")
    text = (tmp_path / "main.py").read_text()
    assert report["ok"] and "class ResidualBlock(nn.Module)" in text and "class ResidualCNN(nn.Module)" in text
    window.show_network("ResidualBlock")
    kind, report = export_via_dialog(qtbot, window, "onnx", tmp_path / "block.onnx")
    assert report["ok"] and report["parity_ok"] is True and "network ResidualBlock" in report["message"]
    import onnx

    dims = [d.dim_value for d in onnx.load(str(tmp_path / "block.onnx")).graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [32, 8, 8]  # the block's own input, not the CNN's digit


def test_python_export_of_a_run_writes_its_weights_beside_the_code(make_window, qtbot, tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from graph_builder import load_project
    from runtime.train.trainer import last_event, train

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "templates" / "mlp_iris.json")
    window = make_window(project)
    run = tmp_path / "run"
    assert last_event(train(project, run_dir=run, training={"epochs": 20, "device": "cpu"}))["type"] == "finished"
    window.training.select_run(run)
    _, report = export_via_dialog(qtbot, window, "python", tmp_path / "iris.py")
    assert report["ok"] and (tmp_path / "iris.safetensors").is_file()
    assert "weights to iris.safetensors" in report["message"] and "with the weights of run run" in report["message"]
    assert "takes raw inputs" in report["message"]
    demo = subprocess.run([sys.executable, str(tmp_path / "iris.py")], capture_output=True, text=True, timeout=120,
                          check=False)
    assert demo.returncode == 0, demo.stderr
    assert "with probability" in demo.stdout and "(true class setosa)" in demo.stdout


def test_a_digit_drawn_on_the_pad_is_prepared_like_the_digits_and_read(make_window, qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    import numpy as np
    from PySide6.QtCore import QPoint, Qt

    from graph_builder import load_project
    from runtime.data.digits_prep import prepare_drawing
    from runtime.train.trainer import last_event, train

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "templates" / "lenet_digits.json")
    window = make_window(project)
    run = tmp_path / "run"
    assert last_event(train(project, run_dir=run, training={"epochs": 6, "device": "cpu"}))["type"] == "finished"
    c = window.training
    qtbot.waitUntil(lambda: c.built, timeout=10000)
    c.select_run(run)
    c._show("inference_dock")
    panel = c.inference_panel
    pad = panel.canvas
    # a "1": one short stroke, small and off-centre, as a hurried user draws it
    top, bottom = QPoint(50, 30), QPoint(48, 90)
    with qtbot.waitSignal(panel.predicted, timeout=60000) as predicted:
        qtbot.mousePress(pad, Qt.LeftButton, pos=top)
        for k in range(1, 11):
            qtbot.mouseMove(pad, top + (bottom - top) * (k / 10))
        qtbot.mouseRelease(pad, Qt.LeftButton, pos=bottom)
    for job in panel._jobs:
        job.wait(30)
    sample = prepare_drawing(pad.ink())
    rows, cols = np.nonzero(sample[0])
    assert rows.min() == 0 and rows.max() == 7 and abs(cols.mean() - 3.5) <= 1  # fitted and centred
    probs = predicted.args[0]
    assert int(np.argmax(probs)) == 1, f"the drawn 1 was read as {int(np.argmax(probs))} ({probs.round(2)})"
    assert panel.message.text().startswith("your drawing: predicted 1 with probability")


def test_python_export_with_another_networks_run_chosen_writes_the_code_alone(make_window, qtbot, tmp_path,
                                                                             monkeypatch):
    from pathlib import Path

    from graph_builder import load_project
    from runtime.train.trainer import last_event, train

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    templates = Path(__file__).resolve().parents[2] / "resources" / "templates"
    iris = load_project(templates / "mlp_iris.json")
    run = tmp_path / "iris_run"
    assert last_event(train(iris, run_dir=run, training={"epochs": 2, "device": "cpu"}))["type"] == "finished"
    window = make_window(load_project(templates / "lenet_digits.json"))
    window.training.select_run(run)
    _, report = export_via_dialog(qtbot, window, "python", tmp_path / "lenet.py")
    assert report["ok"] and report["message"] == f"Wrote the model's Python code to {tmp_path / 'lenet.py'}."
    assert not (tmp_path / "lenet.safetensors").exists() and "CLASSES" not in (tmp_path / "lenet.py").read_text()
