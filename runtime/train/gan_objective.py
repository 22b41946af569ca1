"""The GAN objective: alternating discriminator and generator steps over two networks, written once.

Part of the training engine (plain torch; embedded in a GAN's exported script, runtime/export/script.py).
The trainer's one loop (runtime/train/loop.py) drives it as it drives every objective: the GAN's step
owns its two optimizers (Lightning's manual optimisation), and its schedules step with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from runtime.train.loop import Built
from runtime.train.metrics import sample_diversity
from runtime.train.optim import Optimizers, Schedulers, average_gradients, first_output, forward, make_scheduler


class GANPair(nn.Module):
    """The generator and discriminator of a GAN as one module, so weights and checkpoints hold both."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return first_output(self.generator(z))


class GANMeter:
    """Epoch means of the GAN's terms (on the device) plus the spread of its samples."""

    NAMES = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, device: torch.device) -> None:
        self.keep_scores = False
        self.sums = {name: torch.zeros((), dtype=torch.float64, device=device) for name in self.NAMES}
        self.count = 0
        self.extra: dict = {}

    def update(self, terms: dict, n: int) -> None:
        for name in self.NAMES:
            self.sums[name] += terms[name].detach().double() * n
        self.count += n

    def compute(self) -> dict:
        if not self.count:
            return {}
        out = {name: float(total / self.count) for name, total in self.sums.items()}
        out["loss"] = out["d_loss"] + out["g_loss"]
        return {**out, **self.extra}


@dataclass
class GAN:
    """Alternating discriminator and generator steps with the non-saturating loss.

    The discriminator learns real → 1 (1 - `smoothing`, one-sided label smoothing) and fake → 0;
    the generator learns to make the discriminator say 1 for its samples. Under torchrun
    (`world` > 1) each step averages the gradients over the processes, as DistributedDataParallel
    would, before either optimizer steps.
    """

    pair: GANPair
    noise_shape: tuple
    d_optimizer: torch.optim.Optimizer
    g_optimizer: torch.optim.Optimizer
    smoothing: float = 0.0
    clip: float | None = None
    amp: torch.dtype | None = None
    names: tuple = ("generator", "discriminator")  # the project's network names, for messages
    world: int = 1
    terms: dict = field(default_factory=dict)
    bad: Any = None  # first non-finite loss: 0 the discriminator's, 1 the generator's

    def __post_init__(self) -> None:
        self._params = {"discriminator": list(self.pair.discriminator.parameters()),
                        "generator": list(self.pair.generator.parameters())}

    def bind(self, model: nn.Module) -> GAN:
        return self

    def begin_epoch(self, epoch: int) -> None:
        pass

    def noise(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn((n, *self.noise_shape), generator=generator, device=device)

    def _d(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.pair.discriminator, x, self.amp).float().reshape(-1)

    def _update(self, optimizer, loss: torch.Tensor, params: list) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.world > 1:
            average_gradients(params, self.world)
        if self.clip is not None:
            nn.utils.clip_grad_norm_(params, self.clip)
        optimizer.step()

    def step(self, xb: torch.Tensor, augment=None, generator: torch.Generator | None = None, image: bool = False):
        """One discriminator step then one generator step; returns the generated batch."""
        if augment is not None and augment.enabled:
            xb = augment(xb, generator, image=image)
        fake = forward(self.pair.generator, self.noise(xb.shape[0], xb.device, generator), self.amp)
        d_real, d_fake = self._d(xb), self._d(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1.0 - self.smoothing))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self._update(self.d_optimizer, d_loss, self._params["discriminator"])
        d_fooled = self._d(fake)
        g_loss = F.binary_cross_entropy_with_logits(d_fooled, torch.ones_like(d_fooled))  # non-saturating
        self._update(self.g_optimizer, g_loss, self._params["generator"])
        self.terms = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                      "d_real": torch.sigmoid(d_real).mean().detach(), "d_fake": torch.sigmoid(d_fake).mean().detach()}
        if self.bad is None:
            self.bad = torch.full((), -1, dtype=torch.long, device=xb.device)
        self.bad = torch.where((self.bad < 0) & ~torch.isfinite(d_loss.detach()), 0, self.bad)
        self.bad = torch.where((self.bad < 0) & ~torch.isfinite(g_loss.detach()), 1, self.bad)
        return fake.detach(), xb, g_loss.detach(), (d_loss + g_loss).detach()

    def nonfinite_network(self) -> str | None:
        """The network whose loss first became NaN or infinite, if one did."""
        if self.bad is None or int(self.bad) < 0:
            return None
        return ("discriminator", "generator")[int(self.bad)]

    def meter(self, device: torch.device, keep_scores: bool) -> GANMeter:
        return GANMeter(device)

    def update(self, meter: GANMeter, out, target, loss) -> None:
        meter.update(self.terms, target.shape[0])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches, device: torch.device, amp: torch.dtype | None = None) -> GANMeter:
        """The discriminator on real batches and on as many fresh samples; their diversity (its own pair, amp)."""
        meter = GANMeter(device)
        was = self.pair.training
        self.pair.eval()
        fakes, reals = [], []
        gen = torch.Generator(device=device).manual_seed(0)  # the same noise every epoch
        for xb, _ in batches:
            fake = forward(self.pair.generator, self.noise(xb.shape[0], device, gen), self.amp)
            d_real, d_fake = self._d(xb), self._d(fake)
            d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            g_loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
            meter.update({"d_loss": d_loss, "g_loss": g_loss, "d_real": torch.sigmoid(d_real).mean(),
                          "d_fake": torch.sigmoid(d_fake).mean()}, xb.shape[0])
            fakes.append(fake)
            reals.append(xb)
        if fakes:
            meter.extra["diversity"] = sample_diversity(torch.cat(fakes), torch.cat(reals))
        self.pair.train(was)
        return meter

    @torch.no_grad()
    def sample(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
        was = self.pair.training
        self.pair.eval()
        out = forward(self.pair.generator, self.noise(n, device, generator), self.amp)
        self.pair.train(was)
        return out


@dataclass
class GANStep:
    """The Step of a GAN: the objective alternates its own two optimizers; one-cycle steps both schedules."""

    objective: GAN
    scheduler: Any = None
    one_cycle: bool = False
    scaler: Any = None

    def __call__(self, objective: GAN, xb, yb, augment=None, generator=None, image: bool = False):
        out = objective.step(xb, augment, generator, image)
        if self.one_cycle:
            self.scheduler.step()
        return out


def make_gan(generator: nn.Module, discriminator: nn.Module, noise_shape: tuple, t: dict, device: torch.device,
             names: tuple = ("generator", "discriminator"), amp: torch.dtype | None = None, world: int = 1) -> GAN:
    """The GAN objective with its two Adam optimizers (β1 = t['gan_beta1'], 0.5 by default)."""
    betas = (t.get("gan_beta1", 0.5), 0.999)
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
    lr_d = t.get("lr_d") or t["lr"]
    g_opt = torch.optim.Adam(generator.parameters(), lr=t["lr"], betas=betas, weight_decay=t["weight_decay"], **fused)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas, weight_decay=t["weight_decay"],
                             **fused)
    return GAN(GANPair(generator, discriminator), tuple(noise_shape), d_opt, g_opt, t.get("label_smoothing", 0.0),
               t["grad_clip"], amp, names, world)


def assemble_gan(generator: nn.Module, discriminator: nn.Module, s: dict, t: dict, device: torch.device,
                 amp: torch.dtype | None, steps: int, world: int = 1) -> Built:
    """What the loop drives for a GAN: the pair, its objective, step, two optimizers and their schedules."""
    amp = amp if amp != torch.float16 else None  # no loss scaling across two optimizers
    gan = make_gan(generator.to(device), discriminator.to(device), tuple(s["noise_shape"]), t, device,
                   tuple(s["names"]), amp, world)
    optimizer = Optimizers(generator=gan.g_optimizer, discriminator=gan.d_optimizer)
    schedules = {role: make_scheduler(opt, t, steps, s["lower_is_better"]) for role, opt in optimizer.optimizers.items()}
    scheduler = Schedulers(**schedules) if all(schedules.values()) else None
    step = GANStep(gan, scheduler, t["schedule"] == "one_cycle")
    params = [p for p in gan.pair.parameters() if p.requires_grad]
    return Built(gan.pair, gan, step, optimizer, scheduler, params, tuple(s["monitor"]), s["lower_is_better"])
