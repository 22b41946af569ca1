"""Generated digits' quality against peers measured in the same run (not a test).

The VAE templates (MLP and convolutional) and the DCGAN template train through NetCanvas's trainer with
their own settings; beside each, the same network in a plain hand-written PyTorch loop trains for the
same epochs and, again, for the same seconds. A digits classifier trained here (a small CNN on the
pixels scaled to 0–1, never one of the templates) judges every set of samples:

  * confident: the share of samples it is more than 0.9 sure of (real digits score near 1);
  * FD: the Fréchet distance between its 64 features of the samples and of the test digits (lower is better);
  * NN: the mean distance from each sample to its nearest test digit, in 0–1 pixels (lower is better);
  * in range: the share of sample pixels inside the digits' 0..16.

Held-out real digits (the validation split) and uniform noise in range are the two anchors. The ratios
printed are the hand-written loop's FD over the template's: above 1 means the template's samples are
better at the same epochs, or at the same seconds of training.

    python bench/bench_generative_quality.py [--epochs N] [--samples 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from graph_builder import load_project  # noqa: E402
from runtime.data import load_splits, pixel_max  # noqa: E402
from runtime.generate import generate  # noqa: E402
from runtime.train.trainer import last_event, train  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"
DIGITS = {"name": "digits", "input_normalization": "custom", "input_mean": "0", "input_std": "1"}  # 0–1 pixels
TOP = pixel_max("digits")


# ---------------------------------------------------------------- the judge

class Judge(nn.Module):
    """A LeNet-style digits classifier; `features` are its 64 penultimate activations."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def trained_judge(x: torch.Tensor, y: torch.Tensor, epochs: int = 40) -> Judge:
    torch.manual_seed(0)
    judge = Judge()
    opt = torch.optim.Adam(judge.parameters(), 2e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            F.cross_entropy(judge(x[idx]), y[idx]).backward()
            opt.step()
    return judge.eval()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to feature rows `a` and `b`."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(np.clip(cross, 0, None)).sum())


def scores(judge: Judge, samples: torch.Tensor, test: torch.Tensor, test_features: np.ndarray) -> dict:
    """What the judge makes of `samples` (0–1 pixels, clamped for it; `in range` counts before the clamp)."""
    inside = float(((samples >= 0) & (samples <= 1)).float().mean())
    x = samples.clamp(0, 1)
    with torch.no_grad():
        features = judge.body(x)
        confident = float((torch.softmax(judge.head(features), 1).amax(1) > 0.9).float().mean())
    nn_distance = float(torch.cdist(x.flatten(1), test.flatten(1)).amin(1).mean())
    return {"confident": confident, "fd": frechet(features.numpy(), test_features), "nn": nn_distance,
            "in_range": inside}


# ---------------------------------------------------------------- the templates, through the trainer

def template_samples(name: str, epochs: int | None, n: int, folder: Path) -> tuple[torch.Tensor, float, int]:
    """(samples in 0–1 pixels, training seconds, epochs) of template `name` trained with its own settings."""
    project = load_project(TEMPLATES / f"{name}.json")
    project.training.replace({**project.training, "device": "cpu", **({"epochs": epochs} if epochs else {})})
    run = folder / name
    t0 = time.perf_counter()
    done = last_event(train(project, run_dir=run, live=False))
    seconds = time.perf_counter() - t0
    if done["type"] != "finished":
        raise SystemExit(f"{name} did not finish: {done}")
    return generate(project, run, n, seed=1) / TOP, seconds, int(project.training["epochs"])


# ---------------------------------------------------------------- the same networks, in plain PyTorch loops

class HandVAE(nn.Module):
    """The MLP VAE template written by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU())
        self.mean, self.log_var = nn.Linear(256, 8), nn.Linear(256, 8)
        self.decoder = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 64), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, 8, 8)))

    def forward(self, x):
        h = self.encoder(x)
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decoder(z), mean, log_var


class HandConvVAE(HandVAE):
    """The convolutional VAE template written by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                                     nn.Flatten())
        self.decoder = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Unflatten(1, (64, 2, 2)),
                                     nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())


def hand_vae(model: HandVAE, x: torch.Tensor, epochs: int, seconds: float | None, n: int,
             lr: float = 2e-3, batch: int = 64, warmup: int = 10) -> tuple[torch.Tensor, float, int]:
    """Train by epochs (or until `seconds` pass); (prior samples, seconds, epochs trained)."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr)
    t0, epoch = time.perf_counter(), 0
    while epoch < epochs if seconds is None else time.perf_counter() - t0 < seconds:
        epoch += 1
        weight = min(1.0, epoch / warmup)
        for idx in torch.randperm(len(x)).split(batch):
            out, mean, log_var = model(x[idx])
            kl = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(1).mean()
            loss = (out - x[idx]).pow(2).flatten(1).sum(1).mean() + weight * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        return model.decoder(torch.randn(n, 8, generator=torch.Generator().manual_seed(1))), elapsed, epoch


def hand_gan(x: torch.Tensor, epochs: int, seconds: float | None, n: int, lr: float = 5e-4, batch: int = 64,
             smoothing: float = 0.1) -> tuple[torch.Tensor, float, int]:
    """The DCGAN template's two networks in the textbook loop, on pixels scaled to -1..1."""
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(32, 512), nn.Unflatten(1, (128, 2, 2)), nn.BatchNorm2d(128), nn.ReLU(),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                      nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(512, 1))
    opt_g = torch.optim.Adam(g.parameters(), lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr, betas=(0.5, 0.999))
    real_x = x * 2 - 1
    t0, epoch = time.perf_counter(), 0
    while epoch < epochs if seconds is None else time.perf_counter() - t0 < seconds:
        epoch += 1
        for idx in torch.randperm(len(real_x)).split(batch):
            real = real_x[idx]
            fake = g(torch.randn(len(real), 32))
            d_real, d_fake = d(real), d(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1 - smoothing))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            verdict = d(fake)
            g_loss = F.binary_cross_entropy_with_logits(verdict, torch.ones_like(verdict))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
    elapsed = time.perf_counter() - t0
    g.eval()
    with torch.no_grad():
        return (g(torch.randn(n, 32, generator=torch.Generator().manual_seed(1))) + 1) / 2, elapsed, epoch


# ---------------------------------------------------------------- the run

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs for every model (default: each template's)")
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    s = load_splits(DIGITS)
    x, y = (torch.from_numpy(a.copy()) for a in s["train"])
    val, test = torch.from_numpy(s["val"][0].copy()), torch.from_numpy(s["test"][0].copy())
    judge = trained_judge(x, y.long())
    with torch.no_grad():
        test_features = judge.body(test).numpy()
    n = args.samples
    rows = {"real digits (held out)": scores(judge, val[:n], test, test_features),
            "uniform noise in range": scores(judge, torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(1)),
                                             test, test_features)}
    ratios = []
    hands = {"mlp_vae_digits": lambda e, sec: hand_vae(HandVAE(), x, e, sec, n),
             "conv_vae_digits": lambda e, sec: hand_vae(HandConvVAE(), x, e, sec, n),
             "dcgan_digits": lambda e, sec: hand_gan(x, e, sec, n)}
    with tempfile.TemporaryDirectory() as folder:
        for name, hand in hands.items():
            samples, seconds, epochs = template_samples(name, args.epochs, n, Path(folder))
            ours = rows[f"{name} (template, {epochs} epochs, {seconds:.1f} s)"] = scores(judge, samples, test,
                                                                                         test_features)
            same_epochs, hand_seconds, _ = hand(epochs, None)
            by_epochs = rows[f"{name} hand loop, {epochs} epochs ({hand_seconds:.1f} s)"] = \
                scores(judge, same_epochs, test, test_features)
            same_time, _, hand_epochs = hand(epochs, seconds)
            by_time = rows[f"{name} hand loop, {seconds:.1f} s ({hand_epochs} epochs)"] = \
                scores(judge, same_time, test, test_features)
            ratios.append((name, by_epochs["fd"] / ours["fd"], by_time["fd"] / ours["fd"],
                           ours["confident"] / max(by_epochs["confident"], 1e-9),
                           ours["confident"] / max(by_time["confident"], 1e-9)))
    width = max(len(k) for k in rows)
    print(f"{'samples':<{width}}  confident      FD      NN  in range")
    for label, r in rows.items():
        print(f"{label:<{width}}  {r['confident']:9.1%}  {r['fd']:6.2f}  {r['nn']:6.3f}  {r['in_range']:8.1%}")
    print("\nhand loop's FD / template's (> 1: the template's samples are nearer the test digits), and the template's "
          "confident share / the hand loop's")
    for name, fd_epochs, fd_time, conf_epochs, conf_time in ratios:
        print(f"  {name:<16} FD same epochs {fd_epochs:5.2f}x  same seconds {fd_time:5.2f}x   "
              f"confident same epochs {conf_epochs:5.2f}x  same seconds {conf_time:5.2f}x")


if __name__ == "__main__":
    main()
