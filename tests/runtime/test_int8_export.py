"""int8 ONNX (issue 28): smaller than the float file, runs in onnxruntime on raw data, within a point of its accuracy.

The MLP template is quantised dynamically, LeNet statically with calibration batches of the training split;
a network onnxruntime cannot make smaller, and a CNN with no data to calibrate on, are refused, nothing written.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from graph_builder import load_project
from graph_builder.graph import Graph
from graph_builder.project import Project, save_project
from runtime.cli import main
from tests.builders import wire
from tests.runtime.test_run_export import raw_split, trained_run

ONE_POINT = 0.01


def accuracy_of(onnx_path, x, y) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    scores = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]
    return float((scores.argmax(1) == y).mean())


@pytest.mark.parametrize(("template", "epochs", "method_ops"), [
    ("mlp_digits", 15, {"DynamicQuantizeLinear", "MatMulInteger"}),
    ("lenet_digits", 6, {"QuantizeLinear", "DequantizeLinear"}),
])
def test_int8_export_of_a_digits_template_is_smaller_and_within_a_point_of_float_accuracy(
        template, epochs, method_ops, tmp_path, capsys):
    project_path, run = trained_run(tmp_path, template, epochs)
    float_file, int8_file = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    assert main(["export", str(project_path), "--format", "onnx", "--run", str(run), "--out", str(float_file)]) == 0
    assert main(["export", str(project_path), "--format", "onnx-int8", "--run", str(run), "--out", str(int8_file)]) == 0
    said = capsys.readouterr().out
    assert "Test accuracy" in said and "within 1 point" in said and "takes raw inputs" in said
    x, y = raw_split(load_project(project_path))
    float_accuracy, int8_accuracy = accuracy_of(float_file, x, y), accuracy_of(int8_file, x, y)
    print(f"{template}: float {float_file.stat().st_size:,} bytes {float_accuracy:.4f}, "
          f"int8 {int8_file.stat().st_size:,} bytes {int8_accuracy:.4f}")
    assert int8_file.stat().st_size < 0.6 * float_file.stat().st_size
    assert abs(float_accuracy - int8_accuracy) <= ONE_POINT
    assert float_accuracy > 0.9  # trained: the comparison means something
    model = onnx.load(str(int8_file))
    assert method_ops <= {node.op_type for node in model.graph.node}
    props = {p.key: p.value for p in model.metadata_props}
    assert props["task"] == "classification" and "raw" in props["input"] and "int8" in props["quantization"]


def test_a_network_without_quantisable_weights_is_refused_and_nothing_is_written(tmp_path, capsys):
    g = Graph()
    wire(g, g.add_node("Input", "digit", {"shape": (1, 8, 8)}), g.add_node("Flatten", "flat"),
         g.add_node("ReLU", "act"), g.add_node("Output", "out"))
    project_file = tmp_path / "plain.json"
    save_project(Project(g, {"name": "digits"}, {}), project_file)
    out = tmp_path / "int8.onnx"
    assert main(["export", str(project_file), "--format", "onnx-int8", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no smaller than the float file" in err and "export onnx (float) instead" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.json"]


def test_a_cnn_with_no_data_it_takes_is_refused_because_it_cannot_be_calibrated(tmp_path, capsys):
    g = Graph()
    wire(g, g.add_node("Input", "image", {"shape": (1, 6, 6)}), g.add_node("Conv2d", "conv", {"out_channels": 4}),
         g.add_node("Flatten", "flat"), g.add_node("Linear", "head", {"out_features": 10}),
         g.add_node("Output", "logits"))
    project_file = tmp_path / "cnn.json"
    save_project(Project(g, {"name": "digits"}, {}), project_file)
    out = tmp_path / "int8.onnx"
    assert main(["export", str(project_file), "--format", "onnx-int8", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "calibration batches from its training split" in err and "(1, 6, 6)" in err and "(1, 8, 8)" in err
    assert not out.exists()


def test_a_gan_project_is_not_offered_an_int8_export():
    from graph_builder.tasks import TASKS
    from runtime.export import formats_for

    assert "onnx-int8" in [f.key for f in formats_for(TASKS["classification"])]
    assert "onnx-int8" not in [f.key for f in formats_for(TASKS["gan"])]
