"""File ▸ Import…: the dialog warns that a Python file's code runs, and an import opens the new project."""

from __future__ import annotations

import textwrap

from app.import_dialog import ImportDialog, ImportRequest

MODEL = '''
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 8, 2)

    def forward(self, x):
        return self.head(torch.flatten(torch.relu(self.conv(x)), 1))


class Odd(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=1)
'''


def model_file(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(textwrap.dedent(MODEL))
    return path


def test_the_dialog_says_a_python_file_runs_only_when_one_is_chosen(qtbot, tmp_path):
    dialog = ImportDialog(folder=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.warning.isHidden()
    assert dialog.request() == ImportRequest("resnet18", None, (3, 224, 224), tmp_path / "imported.json")
    dialog.from_file.setChecked(True)
    dialog.file_path.setText(str(model_file(tmp_path)))
    assert not dialog.warning.isHidden() and "runs its code" in dialog.warning.text()
    dialog.class_name.setText("Tiny")
    dialog.input_shape.setText("3, 8, 8")
    assert dialog.request().class_name == "Tiny" and dialog.request().input_shape == (3, 8, 8)
    dialog.file_path.setText(str(tmp_path / "model.onnx"))
    assert dialog.warning.isHidden() and not dialog.class_name.isEnabled()


def test_importing_runs_in_the_background_opens_the_project_and_a_refusal_lists_the_op(make_window, qtbot,
                                                                                       tmp_path):
    window = make_window()
    assert "Import" in window.actions_by_text
    path = model_file(tmp_path)
    out = tmp_path / "tiny.json"
    job = window.imports.start(ImportRequest(str(path), "Tiny", (3, 8, 8), out))
    qtbot.waitUntil(lambda: window.project_path() == out.resolve(), timeout=120000)
    job.wait()
    assert [n.type_id for n in window.project.graph.nodes.values()].count("Conv2d") == 1
    assert window.project.meta["weights"]["file"] == "tiny.safetensors"
    job = window.imports.start(ImportRequest(str(path), "Odd", (3, 8, 8), tmp_path / "odd.json"))
    qtbot.waitUntil(lambda: window.last_dialog is not None, timeout=120000)
    job.wait()
    assert "torch.cumsum" in window.last_dialog.text()
    assert window.project_path() == out.resolve()  # the open project stays
    assert not (tmp_path / "odd.json").exists()
    window.last_dialog.close()


def test_a_hostile_model_file_is_refused_in_a_message_box_and_the_open_project_stays(make_window, qtbot, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 15000, 15000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 15000, 15000])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "claim.onnx"))
    window = make_window()
    before = window.project.to_dict()
    job = window.imports.start(ImportRequest(str(tmp_path / "claim.onnx"), None, None, tmp_path / "claim.json"))
    qtbot.waitUntil(lambda: window.last_dialog is not None, timeout=120000)
    job.wait()
    text = window.last_dialog.text()
    assert "claim.onnx's test run (inputs (1, 15000, 15000))" in text and "NETCANVAS_MAX_CHECK_BYTES" in text, text
    assert "Traceback" not in text and len(text.splitlines()) == 1
    assert window.project.to_dict() == before and not (tmp_path / "claim.json").exists()
    window.last_dialog.close()
