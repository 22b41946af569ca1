"""Every template's `netcanvas export --format script` trains on its own (CPU) to the app's weights for the same
seed, and the script supports what the app trains: a GAN's schedule and torchrun, class subsets, a training
fraction and pretrained starting weights (read from beside the script, never downloaded).

On the CPU every template's run is deterministic, so the weights must be bit-identical (torch.equal), not close.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from graph_builder.project import save_project
from graph_builder.weight_sources import SetWeightSource
from runtime.cli import main
from runtime.templates import template_paths, template_project
from runtime.train import last_event, train

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")
BIT_IDENTICAL = set(template_paths())  # every template trains deterministically on the CPU
QUICK = {"epochs": 1, "device": "cpu", "restore_best": False}


def few_images(tmp_path: Path, per_class: int = 3) -> Path:
    """A copy of the bundled digit images with `per_class` of each: the ResNet-18 template on a small folder."""
    folder = tmp_path / "few"
    bundled = ROOT / "resources" / "templates" / "digits_images"
    for label in sorted(p.name for p in bundled.iterdir()):
        (folder / label).mkdir(parents=True)
        for png in sorted((bundled / label).glob("*.png"))[:per_class]:
            shutil.copy(png, folder / label / png.name)
    return folder


def prepared(name: str, tmp_path: Path, **training):
    project = template_project(template_paths()[name])
    if project.meta.get("pretrained"):  # torchvision's weights: never downloaded in tests (see below for a run's)
        project.apply(SetWeightSource(None, None))
        project.dataset.update({"path": str(few_images(tmp_path)), "val_fraction": 0.2, "test_fraction": 0.2})
    project.training.update({**QUICK, **training})
    return project


def app_and_script(project, tmp_path: Path, *script_args: str) -> tuple[dict, dict, str]:
    """(the app's last weights, the script's, the script's output), the script written by `netcanvas export`."""
    done = last_event(train(project.copy(), run_dir=tmp_path / "run", live=False, project_path=tmp_path / "p.json"))
    assert done["type"] == "finished", done
    save_project(project, tmp_path / "p.json")
    assert main(["export", str(tmp_path / "p.json"), "--format", "script", "--out", str(tmp_path / "train.py")]) == 0
    run = subprocess.run([sys.executable, "train.py", "--out", "w.pt", *script_args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return load_file(str(tmp_path / "run" / "last.safetensors")), torch.load(tmp_path / "w.pt", weights_only=True), \
        run.stdout


def assert_same(app: dict, script: dict, exact: bool) -> None:
    assert app.keys() == script.keys()
    for key in app:
        same = torch.equal(app[key], script[key]) if exact else torch.allclose(app[key], script[key], atol=1e-6)
        assert same, key


@pytest.mark.parametrize("name", sorted(template_paths()))
def test_every_templates_script_trains_to_the_apps_weights(name, tmp_path, downloaded):
    project = prepared(name, tmp_path)
    downloaded(project.dataset.get("name"))  # MNIST and CIFAR-10: a small copy where the download lands
    app, script, out = app_and_script(project, tmp_path)
    assert_same(app, script, name in BIT_IDENTICAL)
    assert "epoch 1/1" in out


def test_a_class_subset_and_a_training_fraction_reach_the_script(tmp_path):
    project = prepared("mlp_digits", tmp_path, epochs=2)
    project.dataset.update({"classes": "3-7", "train_fraction": 0.5})
    head = next(n for n in project.graph.nodes.values() if n.type_id == "Linear" and n.params["out_features"] == 10)
    project.graph.set_param(head.id, "out_features", 5)
    app, script, out = app_and_script(project, tmp_path)
    assert_same(app, script, exact=True)
    from runtime.data import describe_dataset

    counts, whole = describe_dataset(project.dataset)["counts"], describe_dataset({"name": "digits"})["counts"]
    assert f"train {counts['train']}, validation {counts['val']}," in out  # the app's split of five classes
    assert counts["train"] < 0.3 * whole["train"]  # half of their training split


def test_a_gan_with_a_schedule_trains_to_the_apps_weights_and_under_torchrun(tmp_path):
    project = prepared("dcgan_digits", tmp_path, epochs=2, schedule="step", step_size=1, gamma=0.5)
    app, script, out = app_and_script(project, tmp_path)
    assert_same(app, script, exact=True)
    ran = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", "train.py", "--epochs", "1",
                          "--out", "ddp.pt"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.count("2 process(es) on cpu") == 1 and "epoch 1/1" in ran.stdout
    assert torch.load(tmp_path / "ddp.pt", weights_only=True).keys() == app.keys()


def test_pretrained_starting_weights_travel_beside_the_script(tmp_path):
    source = prepared("mlp_digits", tmp_path / "source")
    (tmp_path / "source").mkdir(exist_ok=True)
    assert last_event(train(source, run_dir=tmp_path / "source_run", live=False))["type"] == "finished"
    project = prepared("mlp_digits", tmp_path, lr=0.0005)
    project.apply(SetWeightSource(None, {"kind": "run", "run": str(tmp_path / "source_run")}))
    app, script, out = app_and_script(project, tmp_path)
    assert (tmp_path / "train_start.pt").is_file() and "pretrained weights in train_start.pt" in \
        (tmp_path / "train.py").read_text()
    assert_same(app, script, exact=True)
