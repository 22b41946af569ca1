"""Local .pth / .safetensors weights as the starting point of a network or a block, and `netcanvas weights`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from graph_builder import load_project
from graph_builder.weight_sources import SetWeightSource, weight_source
from runtime.cli import main as cli
from runtime.compile.compiler import build_module
from runtime.pretrained import PretrainedError, load_initial_weights
from runtime.pretrained.files import MisfitError, WeightsFileError, read_state_dict

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


@pytest.fixture
def residual(tmp_path):
    """The residual CNN template (two blocks of network ResidualBlock) copied into tmp_path."""
    path = tmp_path / "residual.json"
    shutil.copy(TEMPLATES / "residual_cnn_digits.json", path)
    return path


def _trained_like(module: torch.nn.Module, seed: int, scale: float = 1.0) -> dict:
    """A state dict of `module`'s keys and shapes with values no initialisation makes."""
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.rand(v.shape, generator=g) + 0.5 if k.endswith("running_var")
                else scale * torch.randn(v.shape, generator=g)) if v.is_floating_point() else v.clone()
            for k, v in module.state_dict().items()}


def test_a_pth_file_loads_into_the_whole_network_value_for_value(residual, tmp_path):
    project = load_project(residual)
    state = _trained_like(build_module(project.graph), 1)
    torch.save(state, tmp_path / "net.pth")
    assert cli(["weights", str(residual), "--from", str(tmp_path / "net.pth")]) == 0
    project = load_project(residual)
    assert weight_source(project) == {"kind": "file", "path": "net.pth"}  # relative to the project
    module = build_module(project.graph, seed=7)
    filled = load_initial_weights(project, residual, module)
    assert sorted(filled) == sorted(state)
    for key, value in module.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_a_safetensors_file_loads_into_one_block_and_leaves_the_rest(residual, tmp_path):
    project = load_project(residual)
    block_network = project.graph.node_by_name("block1").params["network"]
    block_state = _trained_like(build_module(project.networks[block_network]), 2)
    save_file(block_state, str(tmp_path / "block.safetensors"))
    assert cli(["weights", str(residual), "--from", str(tmp_path / "block.safetensors"), "--block", "block1"]) == 0
    project = load_project(residual)
    module = build_module(project.graph, seed=3)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    load_initial_weights(project, residual, module)
    after = module.state_dict()
    for key, value in block_state.items():
        assert torch.equal(after[f"block1.{key}"], value)
    untouched = [k for k in after if not k.startswith("block1.")]
    assert untouched and all(torch.equal(after[k], before[k]) for k in untouched)


def test_a_misfit_is_refused_naming_the_key_and_both_shapes_and_nothing_is_written(residual, tmp_path, capsys):
    project = load_project(residual)
    state = _trained_like(build_module(project.graph), 1)
    key = next(k for k, v in state.items() if v.ndim == 2)  # the classifier
    state[key] = torch.zeros(5, state[key].shape[1])
    torch.save(state, tmp_path / "other.pth")
    text_before = residual.read_text()
    assert cli(["weights", str(residual), "--from", str(tmp_path / "other.pth")]) == 1
    err = capsys.readouterr().err
    assert key in err and f"(5, {state[key].shape[1]})" in err
    assert residual.read_text() == text_before


def test_a_file_with_nothing_that_fits_is_refused(residual, tmp_path):
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "unrelated.pth")
    project = load_project(residual)
    project.apply(SetWeightSource(None, {"kind": "file", "path": str(tmp_path / "unrelated.pth")}))
    with pytest.raises(MisfitError, match="none of the 1 tensors in unrelated.pth have a place"):
        load_initial_weights(project, residual, build_module(project.graph))


def test_a_pth_holding_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"w": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsFileError, match="weights_only"):
        read_state_dict(tmp_path / "evil.pth")
    assert not marker.exists()


def test_a_checkpoint_wrapping_its_state_dict_is_unwrapped(tmp_path):
    torch.save({"epoch": 3, "state_dict": {"module.fc.weight": torch.ones(2, 2)}}, tmp_path / "ckpt.pth")
    assert list(read_state_dict(tmp_path / "ckpt.pth")) == ["fc.weight"]


def test_a_torchvision_state_dict_fits_a_project_imported_from_torchvision(tmp_path):
    import torchvision

    from runtime.importers import import_model

    import_model("resnet18", tmp_path / "r18.json", input_shape=(3, 64, 64))
    reference = torchvision.models.resnet18(weights=None)
    state = _trained_like(reference, 4, scale=0.05)
    reference.load_state_dict(state)
    torch.save(state, tmp_path / "tv.pth")
    assert cli(["weights", str(tmp_path / "r18.json"), "--from", str(tmp_path / "tv.pth")]) == 0
    project = load_project(tmp_path / "r18.json")
    module = build_module(project.graph)
    load_initial_weights(project, tmp_path / "r18.json", module)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(module.eval()(x), reference.eval()(x), atol=1e-4)


def test_a_block_name_that_is_not_a_block_is_refused(residual, tmp_path, capsys):
    torch.save({"w": torch.zeros(1)}, tmp_path / "w.pth")
    project = load_project(residual)
    layer = next(n.name for n in project.graph.nodes.values() if n.type_id == "Conv2d")
    assert cli(["weights", str(residual), "--from", str(tmp_path / "w.pth"), "--block", layer]) != 0
    assert "not a block" in capsys.readouterr().err


def test_setting_a_source_is_one_reversible_edit(residual):
    project = load_project(residual)
    inverse = project.apply(SetWeightSource("block2", {"kind": "file", "path": "b.pth"}))
    assert weight_source(project, "block2") == {"kind": "file", "path": "b.pth"}
    again = project.apply(inverse)
    assert weight_source(project, "block2") is None and "pretrained" not in project.meta
    project.apply(again)
    assert project.meta["pretrained"] == [{"target": "block2", "source": {"kind": "file", "path": "b.pth"}}]


def test_clear_and_list(residual, tmp_path, capsys):
    project = load_project(residual)
    torch.save(_trained_like(build_module(project.graph), 1), tmp_path / "net.pth")
    cli(["weights", str(residual), "--from", str(tmp_path / "net.pth")])
    capsys.readouterr()
    assert cli(["weights", str(residual)]) == 0
    assert "network: net.pth" in capsys.readouterr().out
    assert cli(["weights", str(residual), "--clear"]) == 0
    assert "pretrained" not in json.loads(residual.read_text())["meta"]


def test_registering_the_cli_commands_imports_no_torch():
    code = ("import sys; from runtime.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_an_unknown_kind_is_refused_naming_the_known_ones(residual):
    project = load_project(residual)
    project.meta["pretrained"] = [{"target": None, "source": {"kind": "hub"}}]
    with pytest.raises(PretrainedError, match="file, run|file, torchvision"):
        load_initial_weights(project, residual, build_module(project.graph))
