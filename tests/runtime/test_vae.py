"""Variational autoencoders: the Gaussian latent layer, its KL term, the VAE objective and templates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from graph_builder import load_project
from runtime.train import objectives
from runtime.compile.compiler import build_module
from runtime.train.trainer import train

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


class HandVAE(nn.Module):
    """The MLP VAE template written by hand."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU())
        self.mean, self.log_var = nn.Linear(256, 8), nn.Linear(256, 8)
        self.decoder = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 64), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, 8, 8)))

    def forward(self, x):
        h = self.encoder(x)
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean if not self.training else mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decoder(z), mean, log_var


def copy_weights(generated: nn.Module, hand: nn.Module) -> None:
    ours = [p for p in generated.parameters()]
    theirs = [p for p in hand.parameters()]
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.copy_(a)


def latent_of(module: nn.Module):
    return next(m for m in module.modules() if objectives.is_latent(m))


def test_the_mlp_vae_template_matches_a_hand_written_vae_in_eval_mode():
    module = build_module(load_project(TEMPLATES / "mlp_vae_digits.json").graph).eval()
    hand = HandVAE().eval()
    copy_weights(module, hand)
    x = torch.randn(16, 1, 8, 8)
    out, mean, log_var = hand(x)
    assert torch.allclose(module(x), out, atol=1e-6)
    closed = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(1)
    assert torch.allclose(latent_of(module).kl, closed, atol=1e-6)


def test_the_kl_term_is_the_closed_form_kl_divergence_to_the_standard_normal():
    latent = latent_of(build_module(load_project(TEMPLATES / "mlp_vae_digits.json").graph))
    mean, log_var = torch.randn(32, 8), torch.randn(32, 8)
    latent(mean, log_var)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros(8), torch.ones(8))
    assert torch.allclose(latent.kl, torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_the_latent_samples_while_training_and_gives_the_mean_in_eval():
    latent = latent_of(build_module(load_project(TEMPLATES / "mlp_vae_digits.json").graph))
    mean, log_var = torch.zeros(4000, 2), torch.full((4000, 2), 2.0)  # std e
    z = latent.train()(mean, log_var)
    assert z.std().item() == pytest.approx(torch.e, rel=0.05)
    assert torch.equal(latent.eval()(mean, log_var), mean)


def test_beta_warms_up_over_the_first_epochs():
    vae = objectives.VAE("mse", beta=2.0, warmup=4)
    weights = []
    for epoch in range(1, 7):
        vae.begin_epoch(epoch)
        weights.append(vae.weight)
    assert weights == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]


def test_a_vae_run_logs_reconstruction_and_kl_and_both_fall(tmp_path):
    project = load_project(TEMPLATES / "conv_vae_digits.json")
    project.training.replace({**project.training, "epochs": 4, "beta_warmup": 0})
    events = list(train(project, run_dir=tmp_path / "run", live=False))
    assert events[-1]["type"] == "finished", events[-1]
    epochs = [e for e in events if e["type"] == "epoch"]
    first, last = epochs[0]["train"], epochs[-1]["train"]
    assert last["reconstruction"] < first["reconstruction"]
    for split in ("train", "val"):
        e = epochs[-1][split]
        assert e["loss"] == pytest.approx(e["reconstruction"] + e["kl"], rel=1e-4)  # β = 1


def test_prior_samples_decode_to_images():
    module = build_module(load_project(TEMPLATES / "mlp_vae_digits.json").graph)
    vae = objectives.VAE("mse").bind(module)
    a = vae.sample(module, 5, (1, 8, 8), torch.device("cpu"), torch.Generator().manual_seed(1))
    b = vae.sample(module, 5, (1, 8, 8), torch.device("cpu"), torch.Generator().manual_seed(1))
    assert a.shape == (5, 1, 8, 8) and torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])  # different codes, different images
    assert latent_of(module).prior is None  # the encoder is back in charge
