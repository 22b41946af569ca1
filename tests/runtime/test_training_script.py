"""The exported training script: standalone (torch, numpy, scikit-learn only), the app's data split,
and DistributedDataParallel under torchrun with two CPU processes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from graph_builder import Graph, Project, load_project
from runtime.compile.compiler import build_module
from runtime.data import describe_dataset
from runtime.export.script import ScriptExportError, export_training_script

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"
TORCHRUN = Path(sys.executable).with_name("torchrun")
ALLOWED = {"__future__", "argparse", "math", "os", "time", "dataclasses", "typing", "numpy", "torch", "sklearn"}


def imported_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    return roots


def run(cmd, cwd, timeout=240):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_script_trains_under_torchrun_with_two_processes(tmp_path):
    project = load_project(TEMPLATES / "lenet_digits.json")
    script = export_training_script(project, tmp_path / "train_lenet.py")
    source = script.read_text()
    assert imported_roots(source) <= ALLOWED  # no graph_builder, runtime or app
    out = run([TORCHRUN, "--standalone", "--nproc_per_node=2", script.name, "--epochs", "6",
               "--out", "w.pt"], tmp_path)
    assert out.count("2 process(es) on cpu") == 1  # rank 0 reports for both
    assert [int(m) for m in re.findall(r"^epoch (\d+)/6", out, flags=re.M)] == [1, 2, 3, 4, 5, 6]
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.9, out
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    module = build_module(project.graph)
    module.load_state_dict(state)  # the same model class as the app's
    x = torch.zeros(2, 1, 8, 8)
    assert module(x).shape == (2, 10)


def test_a_single_process_run_uses_the_apps_split_and_settings(tmp_path):
    project = load_project(TEMPLATES / "sine_forecaster.json")
    script = export_training_script(project, tmp_path / "train_sine.py")
    out = run([sys.executable, script.name, "--epochs", "3"], tmp_path)
    counts = describe_dataset(project.dataset)["counts"]
    assert f"train {counts['train']}, validation {counts['val']}, test {counts['test']}" in out
    maes = [float(v) for v in re.findall(r"val mae ([0-9.]+)", out)]  # the task's metrics by key
    assert len(maes) == 3 and maes[-1] < maes[0]
    assert "TRAINING = {" in script.read_text() and "'lr': 0.005" in script.read_text()


def test_file_datasets_travel_as_an_npz_beside_the_script(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "points.npz", x=x, y=y)
    g = Graph()
    nodes = [g.add_node("Input", params={"shape": (4,)}), g.add_node("Linear", params={"out_features": 16}),
             g.add_node("ReLU"), g.add_node("Linear", params={"out_features": 2}), g.add_node("Output")]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    project = Project(g, {"name": "npz", "path": str(tmp_path / "points.npz")}, {"epochs": 20, "lr": 0.01})
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    script = export_training_script(project, out_dir / "train_points.py")
    assert (out_dir / "train_points_data.npz").is_file()
    (tmp_path / "points.npz").unlink()  # the script no longer needs the original file
    out = run([sys.executable, script.name], out_dir)
    assert float(re.search(r"test accuracy ([0-9.]+)", out).group(1)) > 0.85


def test_export_to_a_missing_folder_is_refused(tmp_path):
    project = load_project(TEMPLATES / "mlp_iris.json")
    with pytest.raises(ScriptExportError, match="does not exist"):
        export_training_script(project, tmp_path / "nope" / "train.py")
    with pytest.raises(ScriptExportError, match="is a folder"):
        export_training_script(project, tmp_path)
