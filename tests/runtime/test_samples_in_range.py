"""Every generative template's samples lie in the data's range: the digits' raw pixels 0..16, from a model as
initialised and after brief training (the VAEs' prior samples, the GAN's generator, the autoencoder's
reconstructions)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from graph_builder import load_project
from graph_builder.run_folder import RunFolder
from runtime.compile.compiler import build_module
from runtime.data import load_splits, pixel_max
from runtime.generate import generate
from runtime.train.trainer import last_event, train

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
N = 256
# lr at its floor moves no weight visibly in one epoch: the samples are those of the model as initialised.
AS_INITIALISED = {"epochs": 1, "lr": 1e-8}
BRIEFLY_TRAINED = {"epochs": 3}


def trained(template: str, run_dir: Path, budget: dict):
    project = load_project(TEMPLATES / f"{template}.json")
    extra = dict(budget)
    if "lr" in extra and "lr_d" in project.training:
        extra["lr_d"] = extra["lr"]  # a GAN's discriminator too
    project.training.replace({**project.training, "device": "cpu", **extra})
    done = last_event(train(project, run_dir=run_dir, live=False))
    assert done["type"] == "finished", done
    return project


@pytest.mark.parametrize("budget", [AS_INITIALISED, BRIEFLY_TRAINED], ids=["initialised", "trained"])
@pytest.mark.parametrize("template", ["mlp_vae_digits", "conv_vae_digits", "dcgan_digits"])
def test_generated_samples_stay_within_the_pixels_range(template, budget, tmp_path):
    project = trained(template, tmp_path / "run", budget)
    samples = generate(project, tmp_path / "run", N, seed=3)  # in the data's own units
    top = pixel_max(project.dataset["name"])
    assert samples.shape == (N, 1, 8, 8)
    assert float(samples.min()) >= 0.0 and float(samples.max()) <= top
    assert float(samples.std()) > 0.01 * top  # not squashed to one value


@pytest.mark.parametrize("budget", [AS_INITIALISED, BRIEFLY_TRAINED], ids=["initialised", "trained"])
def test_autoencoder_reconstructions_stay_within_the_scaled_pixels(budget, tmp_path):
    project = trained("conv_autoencoder_digits", tmp_path / "run", budget)
    module = build_module(project.graph).eval()
    module.load_state_dict(load_file(str(RunFolder(tmp_path / "run").weights(("last",)))))
    x = torch.from_numpy(load_splits(dict(project.dataset))["test"][0].copy())
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0  # the pixels as the network sees them
    with torch.no_grad():
        out = module(x)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
