"""A GAN's exports: both classes in one Python file, the generator (or discriminator) as ONNX, pt2, weights."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

from graph_builder import load_project, save_project
from runtime.compile.compiler import build_module
from runtime.export.gan import GanExportError, gan_network
from runtime.generate.sampling import denormalize
from runtime.train.trainer import last_event, train

ROOT = Path(__file__).resolve().parents[2]
DCGAN = ROOT / "resources" / "templates" / "dcgan_digits.json"


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """The DCGAN template trained one epoch, saved beside its run folder."""
    folder = tmp_path_factory.mktemp("gan")
    project = load_project(DCGAN)
    project.training.replace({**project.training, "device": "cpu", "epochs": 1})
    path = folder / "dcgan.json"
    save_project(project, path)
    run = folder / "dcgan.runs" / "run1"
    assert last_event(train(project, run_dir=run, live=False))["type"] == "finished"
    return path, run


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True, cwd=ROOT)


def pair_state(run: Path, role: str) -> dict:
    state = load_file(str(run / "best.safetensors"))
    return {k[len(role) + 1:]: v for k, v in state.items() if k.startswith(role + ".")}


def test_python_export_holds_both_networks_and_runs_standalone(tmp_path):
    out = tmp_path / "gan.py"
    done = cli("export", str(DCGAN), "--format", "python", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "class Generator(nn.Module)" in text and "class Discriminator(nn.Module)" in text
    ran = subprocess.run([sys.executable, str(out)], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "samples (4, 1, 8, 8)" in ran.stdout and "D(sample is real)" in ran.stdout


def test_python_export_of_a_run_loads_both_trained_networks(gan_run, tmp_path):
    path, run = gan_run
    out = tmp_path / "trained_gan.py"
    done = cli("export", str(path), "--format", "python", "--run", str(run), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "trained_gan.safetensors").is_file()
    module = runpy.run_path(str(out))
    generator, discriminator = module["load_models"]()
    project = load_project(path)
    for role, exported in (("generator", generator), ("discriminator", discriminator)):
        reference = build_module(project.networks[role.capitalize()]).eval()
        reference.load_state_dict(pair_state(run, role))
        shape = (3, 32) if role == "generator" else (3, 1, 8, 8)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert torch.allclose(exported(x), reference(x), atol=1e-6)
    # to_raw undoes the run's normalisation exactly as `netcanvas sample` does
    config = json.loads((run / "config.json").read_text())
    samples = torch.randn(2, 1, 8, 8)
    assert torch.allclose(module["to_raw"](samples), denormalize(samples, config), atol=1e-6)


def test_onnx_of_the_generator_samples_raw_digits_like_the_trained_generator(gan_run, tmp_path):
    path, run = gan_run
    out = tmp_path / "generator.onnx"
    done = cli("export", str(path), "--format", "onnx", "--run", str(run), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "generator 'Generator'" in done.stdout and "raw units" in done.stdout
    project = load_project(path)
    generator = build_module(project.networks["Generator"]).eval()
    generator.load_state_dict(pair_state(run, "generator"))
    noise = torch.randn(5, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = denormalize(generator(noise), json.loads((run / "config.json").read_text())).numpy()
    session = ort.InferenceSession(str(out))
    got = session.run(None, {session.get_inputs()[0].name: noise.numpy()})[0]
    assert got.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["netcanvas.gan_role"] == "generator" and json.loads(meta["netcanvas.noise_shape"]) == [32]


def test_weights_of_one_network_are_keyed_like_its_own_module(gan_run, tmp_path):
    path, run = gan_run
    out = tmp_path / "d.safetensors"
    done = cli("export", str(path), "--format", "weights", "--network", "Discriminator",
               "--weights", str(run / "best.safetensors"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    module = build_module(load_project(path).networks["Discriminator"])
    module.load_state_dict(load_file(str(out)))  # strict: exactly the discriminator's keys
    for key, value in pair_state(run, "discriminator").items():
        assert torch.equal(module.state_dict()[key], value)


def test_a_network_outside_the_gan_is_refused_with_both_names(gan_run):
    path, run = gan_run
    project = load_project(path)
    t = {**project.training, "generator": "Generator", "discriminator": "Discriminator"}
    with pytest.raises(GanExportError, match="generator 'Generator' and its discriminator 'Discriminator'"):
        gan_network(project, t, "Critic", run / "best.safetensors", None)


def test_the_apps_export_writes_the_same_gan_files(gan_run, tmp_path):
    from app.training.export_actions import perform_export

    path, run = gan_run
    project = json.loads(path.read_text())
    report = perform_export("python", project, str(run / "best.safetensors"), str(tmp_path / "app_gan.py"))
    assert report["ok"] and "discriminator 'Discriminator'" in report["message"]
    assert "class Discriminator(nn.Module)" in (tmp_path / "app_gan.py").read_text()
    assert (tmp_path / "app_gan.safetensors").is_file()
    report = perform_export("onnx", project, str(run / "best.safetensors"), str(tmp_path / "app_g.onnx"))
    assert report["ok"] and report["parity_ok"] and "generator 'Generator'" in report["message"]
