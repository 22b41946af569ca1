"""Export to Python, safetensors, ONNX and .pt2; the CLI; bad inputs give clear errors and write nothing."""

from __future__ import annotations

import ast
import json
import struct
import subprocess
import sys

import onnx
import pytest
import torch

from graph_builder.graph import Graph
from graph_builder.project import Project, save_project
from runtime.cli import main as cli
from runtime.compile import lowering
from runtime.compile.codegen import GraphInvalidError
from runtime.compile.compiler import build_module
from runtime.export.formats import (
    ExportError,
    OnnxParityError,
    OnnxUnsupportedError,
    WeightsFileError,
    WeightsMismatchError,
    example_inputs,
    export_onnx,
    export_pt2,
    export_python,
    export_weights,
    load_weights,
)
from tests.builders import wire


def classifier(width: int = 16) -> Graph:
    g = Graph()
    wire(g,
          g.add_node("Input", "image", {"shape": (1, 8, 8)}),
          g.add_node("Conv2d", "conv", {"out_channels": 4, "padding": 1}),
          g.add_node("BatchNorm2d", "bn"), g.add_node("ReLU", "act"), g.add_node("Flatten", "flat"),
          g.add_node("Linear", "fc", {"out_features": width}), g.add_node("GELU", "gelu"),
          g.add_node("LayerNorm", "norm"), g.add_node("Linear", "head", {"out_features": 3}),
          g.add_node("Output", "logits"))
    return g


def two_outputs() -> Graph:
    g = Graph()
    x = g.add_node("Input", "signal", {"shape": (6, 5)})
    tokens = g.add_node("Input", "tokens", {"shape": (6,), "dtype": "int64"})
    emb = g.add_node("Embedding", "emb", {"num_embeddings": 30, "embedding_dim": 5})
    add = g.add_node("Add", "mix")
    gru = g.add_node("GRU", "gru", {"hidden_size": 8, "output": "sequence"})
    last = g.add_node("SelectStep", "last")
    a = g.add_node("Linear", "a", {"out_features": 2})
    b = g.add_node("Reduce", "b", {"op": "max", "dim": 1})
    wire(g, x, add, gru, last, a, g.add_node("Output", "score"))
    wire(g, tokens, emb, add)
    wire(g, gru, b, g.add_node("Output", "peak"))
    return g


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- python


def test_python_export_runs_standalone_and_imports_only_torch(tmp_path):
    path = export_python(two_outputs(), tmp_path / "model.py", class_name="SignalNet")
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    imports = {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}
    assert imports == {"import torch", "from torch import nn"}
    assert "class SignalNet(nn.Module):" in source and 'if __name__ == "__main__":' in source
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["score (2, 2)", "peak (2, 8)"]
    assert leftovers(tmp_path) == ["model.py"]


def test_python_export_of_an_invalid_graph_writes_nothing(tmp_path):
    graph = classifier()
    graph.add_node("Linear", "dangling")
    with pytest.raises(GraphInvalidError, match="dangling"):
        export_python(graph, tmp_path / "model.py")
    with pytest.raises(ExportError, match="does not exist"):
        export_python(classifier(), tmp_path / "missing" / "model.py")
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- weights


def trained(graph: Graph, seed: int = 0) -> torch.nn.Module:
    module = build_module(graph, seed=seed)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    inputs = example_inputs(module.netcanvas_interface, 8, seed=5)
    for _ in range(3):
        out = module(*inputs)
        loss = sum(o.float().square().mean() for o in (out if isinstance(out, tuple) else (out,)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return module.eval()


def test_weights_round_trip_gives_identical_outputs(tmp_path):
    graph = classifier()
    module = trained(graph)
    path = export_weights(module, tmp_path / "best.safetensors")
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8:8 + header_len])
    assert header["__metadata__"] == {"format": "netcanvas", "class": "Net"}
    assert "bn.running_mean" in header and header["conv.weight"]["shape"] == [4, 1, 3, 3]

    fresh = build_module(graph, seed=99).eval()
    x = example_inputs(module.netcanvas_interface, 5, seed=7)
    assert not torch.equal(fresh(*x), module(*x))
    load_weights(fresh, path)
    assert torch.equal(fresh(*x), module(*x))


def test_weights_that_do_not_fit_are_refused_with_what_differs(tmp_path):
    path = export_weights(build_module(classifier(width=16)), tmp_path / "w.safetensors")
    other = build_module(classifier(width=24))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(WeightsMismatchError, match=r"fc.weight has shape \(16, 256\) in the file but \(24, 256\)"):
        load_weights(other, path)
    assert all(torch.equal(v, before[k]) for k, v in other.state_dict().items())  # untouched
    with pytest.raises(WeightsMismatchError, match="missing emb.weight"):
        load_weights(build_module(two_outputs()), path)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(WeightsFileError, match="not a safetensors weights file"):
        load_weights(other, garbage)
    with pytest.raises(WeightsFileError, match="no weights file"):
        load_weights(other, tmp_path / "nope.safetensors")


# ---------------------------------------------------------------- ONNX


def test_onnx_export_names_inputs_and_outputs_and_has_a_dynamic_batch(tmp_path):
    graph = two_outputs()
    module = trained(graph)
    report = export_onnx(module, tmp_path / "m.onnx", graph=graph)
    assert report.ok and report.max_abs_diff <= 1e-4 and report.exporter == "dynamo"
    assert report.input_names == ["signal", "tokens"] and report.output_names == ["score", "peak"]
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert [i.name for i in model.graph.input] == ["signal", "tokens"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [6, 5]
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "onnxruntime matches torch" in report.summary()
    assert module.training is False  # export restores the mode it found


def test_onnx_dynamo_exporter_also_passes_parity(tmp_path):
    report = export_onnx(two_outputs(), tmp_path / "d.onnx", exporter="dynamo")
    assert report.exporter == "dynamo" and report.max_abs_diff <= 1e-4
    assert report.output_names == ["score", "peak"]
    assert leftovers(tmp_path) == ["d.onnx"]


def test_onnx_parity_failure_is_an_error_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous export")
    with pytest.raises(OnnxParityError, match="differs from torch by .* tolerance is 0"):
        export_onnx(classifier(), target, tolerance=0.0)
    assert target.read_bytes() == b"previous export"
    assert leftovers(tmp_path) == ["m.onnx"]


def test_layer_marked_not_exportable_is_named_with_the_reason(tmp_path, monkeypatch):
    entry = lowering.LOWERINGS["GELU"]
    monkeypatch.setitem(lowering.LOWERINGS, "GELU",
                        lowering.Lowering(module=entry.module, onnx="no ONNX operator in opset 18"))
    with pytest.raises(OnnxUnsupportedError, match="gelu \\(GELU\\) cannot be exported to ONNX: no ONNX operator"):
        export_onnx(classifier(), tmp_path / "m.onnx")
    assert leftovers(tmp_path) == []


def test_onnx_export_of_a_plain_module_asks_for_the_graph(tmp_path):
    with pytest.raises(ExportError, match="pass the graph"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "m.onnx")


# ---------------------------------------------------------------- pt2


def test_pt2_loads_with_torch_export_and_takes_any_batch(tmp_path):
    graph = two_outputs()
    module = trained(graph)
    path = export_pt2(module, None, tmp_path / "m.pt2")
    program = torch.export.load(str(path))
    inputs = example_inputs(module.netcanvas_interface, 5, seed=3)
    for got, want in zip(program.module()(*inputs), module(*inputs)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert leftovers(tmp_path) == ["m.pt2"]


# ---------------------------------------------------------------- CLI


@pytest.fixture
def project_file(tmp_path):
    path = tmp_path / "proj.json"
    save_project(Project(classifier(), {}, {}), path)
    return path


@pytest.mark.parametrize("fmt", ["python", "onnx", "onnx-int8", "weights", "pt2"])
def test_cli_exports_each_format(fmt, project_file, tmp_path, capsys):
    out = tmp_path / f"out.{fmt}"
    untrained = ["--untrained"] if fmt == "weights" else []  # weights without --weights: only when asked for
    assert cli(["export", str(project_file), "--format", fmt, "--out", str(out), *untrained]) == 0
    assert out.stat().st_size > 0
    assert str(out) in capsys.readouterr().out


def test_cli_exports_onnx_with_trained_weights(project_file, tmp_path, capsys):
    module = trained(classifier(), seed=4)
    weights = export_weights(module, tmp_path / "best.safetensors")
    out = tmp_path / "trained.onnx"
    assert cli(["export", str(project_file), "--format", "onnx", "--out", str(out), "--weights", str(weights)]) == 0
    import onnxruntime as ort

    x = example_inputs(module.netcanvas_interface, 3, seed=8)[0]
    got = ort.InferenceSession(str(out)).run(None, {"image": x.numpy()})[0]
    assert abs(got - module(x).detach().numpy()).max() <= 1e-4


def test_cli_refuses_mismatching_weights_and_writes_nothing(project_file, tmp_path, capsys):
    weights = export_weights(build_module(classifier(width=24)), tmp_path / "other.safetensors")
    out = tmp_path / "x.onnx"
    code = cli(["export", str(project_file), "--format", "onnx", "--out", str(out), "--weights", str(weights)])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit this model" in err and "fc.weight" in err
    assert not out.exists()


def test_cli_bad_inputs_give_clear_errors(project_file, tmp_path, capsys):
    out = tmp_path / "x.py"
    assert cli(["export", str(tmp_path / "missing.json"), "--format", "python", "--out", str(out)]) == 2
    assert "no file" in capsys.readouterr().err
    assert cli(["export", str(project_file), "--format", "python", "--out", str(out),
                "--weights", "w.safetensors"]) == 2
    assert "does not apply to --format python" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    graph = classifier()
    graph.add_node("Conv2d", "orphan")
    save_project(Project(graph, {}, {}), broken)
    assert cli(["export", str(broken), "--format", "onnx", "--out", str(tmp_path / "b.onnx")]) == 1
    assert "orphan has nothing connected" in capsys.readouterr().err
    assert cli(["export", str(project_file), "--format", "weights", "--out", str(tmp_path / "no" / "w"),
                "--untrained"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["broken.json", "proj.json"]


def test_onnx_keeps_default_names_that_python_must_rename(tmp_path):
    g = Graph()
    wire(g, g.add_node("Input", "input", {"shape": (3,)}), g.add_node("Linear", "class", {"out_features": 2}),
          g.add_node("Output", "output"))
    module = build_module(g)
    assert "def forward(self, input_1: torch.Tensor)" in module.netcanvas_source  # no builtin shadowed
    report = export_onnx(g, tmp_path / "m.onnx")
    assert report.input_names == ["input"] and report.output_names == ["output"]
