"""Import round trips: torchvision models, a user's Python file, .pt2 and ONNX become editable projects
whose compiled module reproduces the original (eval mode), and an unsupported op writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from graph_builder import load_project
from runtime.compile.compiler import build_module
from runtime.export.formats import export_onnx
from runtime.importers import (
    ProjectWeightsError, UnsupportedModelError, import_model, load_project_weights,
)

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (3, 64, 64)


def reopened(path: Path) -> torch.nn.Module:
    """The imported project read back from disk, compiled, with its referenced weights loaded."""
    project = load_project(path)
    module = build_module(project.graph)
    assert load_project_weights(project, path, module) == path.with_suffix(".safetensors")
    return module.eval()


def assert_same_model(ours: torch.nn.Module, original: torch.nn.Module, shape=SHAPE) -> None:
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.allclose(ours(x), original.eval()(x), atol=1e-5, rtol=0)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in original.parameters())


# name -> (networks besides the main one, Block nodes in the main network)
TORCHVISION = {
    "resnet18": (7, 8),  # layer1's two BasicBlocks share one network
    "resnet50": (8, 16),
    "vgg11": (5, 5),  # the stages
    "vgg16": (5, 5),
    "mobilenet_v3_small": (16, 11),
    "efficientnet_b0": (26, 16),
}


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_torchvision_model_round_trips_through_an_editable_project(name, tmp_path):
    import torchvision

    torch.manual_seed(0)
    original = torchvision.models.get_model(name, weights=None).eval()
    torch.manual_seed(0)  # the importer builds the same random weights
    out = tmp_path / f"{name}.json"
    report = import_model(name, out, input_shape=SHAPE)
    assert report.max_abs_diff <= 1e-5
    project = load_project(out)
    networks, blocks = TORCHVISION[name]
    assert len(project.networks) - 1 == networks
    assert sum(n.type_id == "Block" for n in project.graph.nodes.values()) == blocks
    ours = reopened(out)
    assert_same_model(ours, original)
    onnx = export_onnx(ours, tmp_path / f"{name}.onnx", graph=project.graph)
    assert onnx.ok, onnx.summary()


USER_FILE = '''
import torch
from torch import nn
import torch.nn.functional as F


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(Residual(16), Residual(16))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.head(x)


class Sorter(nn.Module):
    def forward(self, x):
        return torch.sort(x, dim=1)[0]


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.LocalResponseNorm(2)
        self.inner = Sorter()
        self.pair = nn.Bilinear(4, 4, 2)  # never called: not part of the model

    def forward(self, x):
        x = torch.cumsum(self.norm(self.conv(x)), dim=1)
        return self.inner(x)
'''


def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "user_model.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(USER_FILE))
    return path


def load_user_class(path: Path, name: str):
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # the test's own file
    return namespace[name]


def test_a_python_file_with_a_custom_block_imports_with_the_block_as_one_network(tmp_path):
    path = user_file(tmp_path)
    torch.manual_seed(1)
    original = load_user_class(path, "Net")().eval()
    torch.manual_seed(1)
    out = tmp_path / "user.json"
    import_model(f"{path}:Net", out, input_shape=(3, 16, 16))
    project = load_project(out)
    assert list(project.networks) == ["Net", "Residual"]
    blocks = [n for n in project.graph.nodes.values() if n.type_id == "Block"]
    assert [b.params["network"] for b in blocks] == ["Residual", "Residual"]
    ours = reopened(out)
    assert_same_model(ours, original, (3, 16, 16))
    assert export_onnx(ours, tmp_path / "user.onnx", graph=project.graph).ok
    for network in project.networks.values():  # laid out top to bottom, like the editor's Auto layout
        assert all(network.nodes[e.dst].pos[1] > network.nodes[e.src].pos[1] for e in network.edges)


def test_an_unsupported_op_is_listed_with_its_module_path_and_nothing_is_written(tmp_path):
    path = user_file(tmp_path)
    out = tmp_path / "odd.json"
    with pytest.raises(UnsupportedModelError) as caught:
        import_model(f"{path}:Odd", out, input_shape=(3, 8, 8))
    listed = [(p.path, p.op) for p in caught.value.problems]
    assert ("norm", "LocalResponseNorm (no catalog layer)") in listed
    assert ("", "torch.cumsum (no catalog layer)") in listed
    assert ("inner", "torch.sort (no catalog layer)") in listed  # the module path where it happens
    assert not any(path == "pair" for path, _ in listed)
    assert "inner: torch.sort" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_a_pt2_program_is_read_as_data_and_round_trips(tmp_path):
    original = load_user_class(user_file(tmp_path), "Net")().eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(original, (torch.randn(2, 3, 16, 16),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "net.pt2"))
    out = tmp_path / "from_pt2.json"
    report = import_model(str(tmp_path / "net.pt2"), out)
    assert report.max_abs_diff <= 1e-5
    project = load_project(out)  # the module calls torch.export recorded give the blocks back
    assert list(project.networks) == ["Net", "Residual"]
    assert [n.params["network"] for n in project.graph.nodes.values() if n.type_id == "Block"] == ["Residual"] * 2
    ours = reopened(out)
    assert_same_model(ours, original, (3, 16, 16))
    assert export_onnx(ours, tmp_path / "again.onnx", graph=load_project(out).graph).ok


def test_an_onnx_file_is_read_as_data_and_round_trips(tmp_path):
    import onnxruntime as ort

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=2), torch.nn.Hardswish(), torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 5)).eval()
    source = tmp_path / "small.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 8, 8),), str(source), dynamo=False, input_names=["image"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    out = tmp_path / "from_onnx.json"
    import_model(str(source), out)
    ours = reopened(out)
    x = torch.randn(1, 3, 8, 8)
    session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        assert torch.allclose(ours(x), torch.from_numpy(expected), atol=1e-5)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in model.parameters())
    assert export_onnx(ours, tmp_path / "again.onnx", graph=load_project(out).graph).ok


def test_a_project_whose_weights_are_missing_says_where_they_belong(tmp_path):
    path = user_file(tmp_path)
    out = tmp_path / "user.json"
    import_model(f"{path}:Net", out, input_shape=(3, 16, 16))
    project = load_project(out)
    assert project.meta["weights"]["file"] == "user.safetensors"
    out.with_suffix(".safetensors").unlink()
    with pytest.raises(ProjectWeightsError, match="user.safetensors, which is not beside it"):
        load_project_weights(project, out, build_module(project.graph))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "runtime.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_cli_import_writes_the_project_or_lists_what_it_cannot_express(tmp_path):
    path = user_file(tmp_path)
    done = _cli("import", f"{path}:Net", tmp_path / "net.json", "--input-shape", "3,16,16")
    assert done.returncode == 0, done.stderr
    assert "code runs" in done.stderr and "wrote" in done.stdout
    assert (tmp_path / "net.json").is_file() and (tmp_path / "net.safetensors").is_file()
    refused = _cli("import", path, tmp_path / "odd.json", "--class", "Odd", "--input-shape", "3,8,8")
    assert refused.returncode == 1
    assert "torch.cumsum" in refused.stderr and "nothing was written" in refused.stderr
    assert not (tmp_path / "odd.json").exists() and not (tmp_path / "odd.safetensors").exists()
    exported = _cli("export", tmp_path / "net.json", "--format", "onnx", "--out", tmp_path / "net.onnx")
    assert exported.returncode == 0 and "using the imported weights net.safetensors" in exported.stdout
    (tmp_path / "net.safetensors").unlink()
    gone = _cli("export", tmp_path / "net.json", "--format", "onnx", "--out", tmp_path / "again.onnx")
    assert gone.returncode == 2 and "net.safetensors, which is not beside it" in gone.stderr
    unknown = _cli("import", "resnet19", tmp_path / "r.json")
    assert unknown.returncode == 2 and "resnet18" in unknown.stderr


def test_an_onnx_file_from_the_dynamo_exporter_gets_its_blocks_back(tmp_path):
    import onnxruntime as ort

    template = load_project(ROOT / "resources" / "templates" / "residual_cnn_digits.json")
    source = tmp_path / "residual.onnx"
    report = export_onnx(template.graph, source, exporter="dynamo")  # records each node's module call
    out = tmp_path / "residual.json"
    import_model(str(source), out)
    project = load_project(out)
    assert list(project.networks) == ["ResidualCNN", "ResidualBlock"]
    assert [n.params["network"] for n in project.graph.nodes.values() if n.type_id == "Block"] == \
        ["ResidualBlock"] * 2
    ours = reopened(out)
    x = torch.randn(3, 1, 8, 8)
    session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    expected = session.run(None, {report.input_names[0]: x.numpy()})[0]
    with torch.no_grad():
        assert torch.allclose(ours(x), torch.from_numpy(expected), atol=1e-5)
