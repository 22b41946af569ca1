"""Blocks in generated code: one class per network, nested parity against hand-written torch, ONNX."""

import os
from pathlib import Path

import torch
from torch import nn

from graph_builder import load_project
from runtime.compile.codegen import generate_source
from runtime.compile.compiler import build_module
from runtime.export.formats import export_onnx

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
GOLDEN = Path(__file__).parent / "golden"


def residual_project():
    return load_project(TEMPLATES / "residual_cnn_digits.json")


def test_the_residual_template_generates_one_block_class_used_twice():
    source = generate_source(residual_project().graph)
    golden = GOLDEN / "residual_template_with_block.py"
    if os.environ.get("NETCANVAS_UPDATE_GOLDEN") == "1":
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8")
    assert source.count("class ResidualBlock(nn.Module):") == 1
    assert source.index("class ResidualBlock") < source.index("class ResidualCNN")
    assert "self.block1 = ResidualBlock()" in source and "self.block2 = ResidualBlock()" in source
    assert "return logits" in source


class HandBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + x)


class HandResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, padding=1)
        self.stem_bn = nn.BatchNorm2d(32)
        self.block1 = HandBlock()
        self.block2 = HandBlock()
        self.classifier = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.stem_bn(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.classifier(x.mean(dim=(2, 3)))


def test_generated_nested_module_matches_a_hand_written_one():
    ours = build_module(residual_project().graph, seed=3)
    hand = HandResNet()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in hand.parameters()) == 37_962
    missing, unexpected = hand.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and not missing  # the same submodule paths: block1.conv1.weight …
    ours.train()
    hand.train()
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    ours(x), hand(x)  # one training-mode pass moves the BatchNorm statistics alike
    ours.eval()
    hand.eval()
    with torch.no_grad():
        assert torch.allclose(ours(x), hand(x), atol=1e-6)


def test_a_network_with_blocks_exports_to_onnx_with_parity(tmp_path):
    report = export_onnx(residual_project().graph, tmp_path / "res.onnx")
    assert report.ok, report.summary()


def test_a_block_network_compiles_on_its_own():
    project = residual_project()
    block = build_module(project.networks["ResidualBlock"])
    assert type(block).__name__ == "ResidualBlock"
    assert block(torch.randn(2, 32, 8, 8)).shape == (2, 32, 8, 8)


def _cli(*args):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "runtime.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)


def test_cli_exports_and_validates_any_network_of_the_project(tmp_path):
    template = TEMPLATES / "residual_cnn_digits.json"
    out = tmp_path / "block.py"
    result = _cli("export", template, "--format", "python", "--network", "ResidualBlock", "--out", out)
    assert result.returncode == 0, result.stderr
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)  # the file we just wrote, nothing else
    block = namespace["ResidualBlock"]()
    assert block(torch.randn(2, 32, 8, 8)).shape == (2, 32, 8, 8)
    main = _cli("export", template, "--format", "python", "--out", tmp_path / "main.py")
    assert main.returncode == 0 and "class ResidualCNN(nn.Module)" in (tmp_path / "main.py").read_text()
    wrong = _cli("export", template, "--format", "onnx", "--network", "Nope", "--out", tmp_path / "x.onnx")
    assert wrong.returncode == 2 and "no network 'Nope'" in wrong.stderr and "ResidualBlock" in wrong.stderr
    assert not (tmp_path / "x.onnx").exists()
    checked = _cli("validate", template)
    assert checked.returncode == 0
    assert "valid: ResidualCNN:" in checked.stdout and "valid: ResidualBlock:" in checked.stdout
