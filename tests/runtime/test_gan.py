"""GANs: two networks of a project named in the training settings, trained in turns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from graph_builder import load_project
from runtime.train import gan_objective
from runtime.compile.compiler import build_module
from runtime.train.trainer import last_event, train

ROOT = Path(__file__).resolve().parents[2]
DCGAN = ROOT / "resources" / "templates" / "dcgan_digits.json"


def dcgan(**training):
    project = load_project(DCGAN)
    project.training.replace({**project.training, "device": "cpu", **training})
    return project


def hand_generator():
    return nn.Sequential(nn.Linear(32, 512), nn.Unflatten(1, (128, 2, 2)), nn.BatchNorm2d(128), nn.ReLU(),
                         nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())


def hand_discriminator():
    return nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                         nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(512, 1))


@pytest.mark.parametrize(("network", "hand", "shape"), [("Generator", hand_generator, (16, 32)),
                                                        ("Discriminator", hand_discriminator, (16, 1, 8, 8))])
def test_the_dcgan_template_matches_hand_written_networks(network, hand, shape):
    ours = build_module(load_project(DCGAN).networks[network])
    theirs = hand()
    for _ in range(3):  # move the batch-norm statistics off their defaults
        ours.train()(torch.randn(shape))
    theirs.load_state_dict(dict(zip(theirs.state_dict(), ours.state_dict().values())))
    x = torch.randn(shape)
    assert torch.allclose(ours.eval()(x), theirs.eval()(x), atol=1e-6)


def test_a_gan_trains_both_networks_and_logs_d_real_and_d_fake(tmp_path):
    events = list(train(dcgan(epochs=2), run_dir=tmp_path / "run", live=False))
    assert events[-1]["type"] == "finished", events[-1]
    started = events[0]
    assert started["task"] == "gan" and started["metric"] == "d_real"  # the dashboard's metric plot shows D(real)
    for e in (x for x in events if x["type"] == "epoch"):
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert 0 <= e["train"][key] < 20, key
        assert 0 < e["val"]["diversity"]
    weights = load_file(str(tmp_path / "run" / "last.safetensors"))
    assert any(k.startswith("generator.") for k in weights) and any(k.startswith("discriminator.") for k in weights)
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert set(checkpoint["optimizer"]) == {"generator", "discriminator"}
    g = checkpoint["optimizer"]["generator"]["param_groups"][0]
    assert g["betas"] == (0.5, 0.999)


def test_a_missing_network_is_refused_before_training_with_the_fix():
    done = last_event(train(dcgan(discriminator="Critic"), live=False))
    assert done["type"] == "failed" and done["kind"] == "model"
    assert "'Critic'" in done["message"] and "Generator, Discriminator" in done["message"]


def test_a_generator_that_does_not_fit_the_discriminator_is_refused_with_the_fix():
    project = dcgan()
    g = project.networks["Generator"]
    last = next(n for n in g.nodes.values() if n.name == "up2")
    g.set_param(last.id, "out_channels", 3)
    done = last_event(train(project, live=False))
    assert done["type"] == "failed" and done["kind"] == "model", done
    assert "(N, 3, 8, 8)" in done["message"] and "(N, 1, 8, 8)" in done["message"]
    assert "make the generator's last layer produce" in done["message"]


def test_a_nan_names_the_network_it_came_from(monkeypatch):
    real_d = gan_objective.GAN._d

    def poisoned(self, x):
        return real_d(self, x) * float("nan")  # the discriminator's verdicts go bad

    monkeypatch.setattr(gan_objective.GAN, "_d", poisoned)
    done = last_event(train(dcgan(epochs=1), live=False))
    assert done["type"] == "failed" and done["kind"] == "nan"
    assert "discriminator network 'Discriminator'" in done["message"]


def test_the_gan_objective_tells_which_loss_went_bad_first():
    g, d = build_module(load_project(DCGAN).networks["Generator"]), build_module(load_project(DCGAN).networks["Discriminator"])
    gan = gan_objective.make_gan(g, d, (32,), {"lr": 1e-3, "weight_decay": 0.0, "grad_clip": None}, torch.device("cpu"))
    gan.step(torch.randn(8, 1, 8, 8))
    assert gan.nonfinite_network() is None
    gan.step(torch.full((8, 1, 8, 8), float("nan")))
    assert gan.nonfinite_network() == "discriminator"


def test_the_exported_script_trains_the_gan_standalone_to_the_trainers_weights(tmp_path):
    import subprocess
    import sys

    from runtime.export.script import export_training_script

    project = dcgan(epochs=2)
    assert last_event(train(dcgan(epochs=2), run_dir=tmp_path / "run", live=False))["type"] == "finished"
    script = export_training_script(project, tmp_path / "train_gan.py")
    text = script.read_text()
    assert "class Generator(nn.Module)" in text and "class Discriminator(nn.Module)" in text
    done = subprocess.run([sys.executable, script.name, "--out", "w.pt"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "val d_real" in done.stdout and "epoch 2/2" in done.stdout
    app = load_file(str(tmp_path / "run" / "last.safetensors"))
    ours = torch.load(tmp_path / "w.pt", weights_only=True)
    assert app.keys() == ours.keys()
    for key in app:
        assert torch.allclose(app[key], ours[key], atol=1e-6), key
