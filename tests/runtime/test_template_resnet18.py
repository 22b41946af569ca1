"""The ResNet-18 feature-extraction template: valid, its bundled image folder loads, it trains a step on CPU,
and offline its torchvision weights say where the file goes."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from graph_builder.validation import validate
from graph_builder.weight_sources import SetWeightSource, weight_source
from runtime.commands.templates import template_project
from runtime.data import describe_dataset
from runtime.train.trainer import train

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "resources" / "templates" / "resnet18_features_image_folder.json"


def test_the_template_validates_and_its_bundled_folder_reads_as_adapted_digits():
    project = template_project(TEMPLATE)
    assert [i.message for i in validate(project.graph) if i.severity == "error"] == []
    assert Path(project.dataset["path"]).is_absolute()  # the bundled folder, wherever the copy is saved
    desc = describe_dataset(project.dataset)
    assert desc["input_shape"] == [3, 64, 64] and desc["num_classes"] == 10
    assert sum(desc["counts"].values()) == 500
    (inp,) = project.graph.inputs()
    assert tuple(inp.params["shape"]) == (3, 64, 64)
    assert project.graph.node_by_name("head").params["out_features"] == 10
    assert weight_source(project) == {"kind": "torchvision", "model": "resnet18", "weights": "IMAGENET1K_V1"}


def test_the_template_trains_one_small_batch_on_cpu(tmp_path):
    folder = tmp_path / "few"
    bundled = ROOT / "resources" / "templates" / "digits_images"
    for label in sorted(p.name for p in bundled.iterdir()):
        (folder / label).mkdir(parents=True)
        for png in sorted((bundled / label).glob("*.png"))[:3]:
            shutil.copy(png, folder / label / png.name)
    project = template_project(TEMPLATE)
    project.apply(SetWeightSource(None, None))  # from random weights: no download in tests
    project.dataset.update({"path": str(folder), "val_fraction": 0.2, "test_fraction": 0.2})
    events = list(train(project, training={"epochs": 1, "batch_size": 32, "device": "cpu"},
                        run_dir=tmp_path / "run", live=False))
    assert events[-1]["type"] == "finished", events[-1]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == 1 and epochs[0]["train"]["loss"] > 0, epochs


def test_offline_the_templates_weights_name_the_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    from runtime.compile.compiler import build_module
    from runtime.pretrained import load_initial_weights
    from runtime.download import DownloadOfflineError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the block ends: offline
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    project = template_project(TEMPLATE)
    with pytest.raises(DownloadOfflineError) as info:
        load_initial_weights(project, TEMPLATE, build_module(project.graph))
    text = str(info.value)
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in text
