"""Training objectives: the step, evaluation, losses, optimizers and schedules, written once.

The trainer (runtime/train/trainer.py) drives these, and the exported training script embeds this
module's source with `inspect.getsource` (runtime/export/script.py), so what the app trains and
what the script trains cannot drift (DESIGN.md decision 12). Hence plain torch only: nothing
here imports graph_builder, runtime (but runtime.train.metrics, embedded beside it) or app.

    objective = Supervised("classification", "cross_entropy", classes=10)
    step = Step(model, params, make_optimizer(params, settings, device), ...)
    for xb, yb in batches:
        out, target, loss = step(objective, xb, yb)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from runtime.train.metrics import ClassificationMeter, RegressionMeter, better

CHECKPOINT_FORMAT = "netcanvas-checkpoint"
EVAL_BATCH = 1024
CLASS_LOSSES = ("cross_entropy", "bce_with_logits", "nll")
VALUE_LOSSES = ("mse", "l1", "huber")


class ObjectiveError(ValueError):
    """A setting that cannot work with this task (the trainer reports it as a settings failure)."""


# ---------------------------------------------------------------- settings resolved

def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 autocast on CUDA where supported, else fp16; None (off) on other devices."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def resolve_loss(task: str, loss: str, title: str = "the dataset") -> str:
    """The loss a task trains with ('auto' resolved); ObjectiveError when it does not fit the task."""
    if task == "classification":
        if loss in VALUE_LOSSES:
            raise ObjectiveError(f"loss {loss} is for values but {title} has classes; use cross_entropy, "
                                 "bce_with_logits or nll")
        return "cross_entropy" if loss == "auto" else loss
    if loss in CLASS_LOSSES:
        raise ObjectiveError(f"loss {loss} is for classes but the task is {task}; use mse, l1 or huber")
    return "mse" if loss == "auto" else loss


def resolve_monitor(name: str, task: str, num_classes: int, has_val: bool) -> tuple[str, str]:
    """(split, metric key) of a monitor setting such as 'val_accuracy'; train when there is no val split."""
    split, _, key = name.partition("_")
    valid = {"loss"} if task == "gan" else {"loss"} | ({"accuracy", "f1_macro"} | ({"auc"} if num_classes == 2 else set())
                        if task == "classification" else {"mae", "mse", "r2"})
    if key not in valid:
        raise ObjectiveError(f"monitor {name} does not exist for this {task} task; choose one of "
                             f"{', '.join('val_' + v for v in sorted(valid))}")
    return ("val" if split == "val" and has_val else "train"), key


def make_optimizer(params: list, t: dict, device: torch.device,
                   pretrained: list | None = None) -> torch.optim.Optimizer:
    """The optimizer of the training settings `t` over `params`.

    Parameters also in `pretrained` (trainable weights that came from a pretrained source) form
    a second parameter group at `lr * pretrained_lr_factor`; the first group is the rest.
    """
    name, lr, wd = t["optimizer"], t["lr"], t["weight_decay"]
    marked = {id(p) for p in pretrained or ()}
    fresh = [p for p in params if id(p) not in marked]
    older = [p for p in params if id(p) in marked]
    groups = [g for g in ({"params": fresh, "lr": lr},
                          {"params": older, "lr": lr * t.get("pretrained_lr_factor", 1.0), "pretrained": True})
              if g["params"]] or [{"params": [], "lr": lr}]
    # torch's defaults loop over parameters in Python on the CPU; the fused Adam kernels (CPU and
    # CUDA) and the multi-tensor ones cut most of a step's time for the small models drawn here.
    fused = device.type in ("cpu", "cuda")
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=t["momentum"], nesterov=t["nesterov"],
                               weight_decay=wd, foreach=True)
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(groups, lr=lr, weight_decay=wd, **({"fused": True} if fused else {"foreach": True}))
    return torch.optim.RMSprop(groups, lr=lr, momentum=t["momentum"], weight_decay=wd, foreach=True)


def freeze(model: nn.Module, prefixes) -> list:
    """Stop training every parameter under the module paths `prefixes`; returns their BatchNorm layers.

    Those layers must stay in eval mode while the rest trains (`hold_frozen`), so their running
    statistics stay the pretrained ones.
    """
    prefixes = tuple(prefixes)

    def under(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    for name, p in model.named_parameters():
        if under(name):
            p.requires_grad_(False)
    return [m for name, m in model.named_modules()
            if under(name) and isinstance(m, nn.modules.batchnorm._BatchNorm)]


def hold_frozen(norms: list) -> None:
    """Put frozen BatchNorm layers back in eval mode (after `model.train()`, which sets every layer)."""
    for m in norms:
        m.eval()


def make_scheduler(optimizer: torch.optim.Optimizer, t: dict, steps_per_epoch: int, monitor_key: str):
    """The learning-rate schedule of `t`, or None; plateau follows the monitored metric's direction."""
    kind = t["schedule"]
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=t["step_size"], gamma=t["gamma"])
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t["epochs"])
    if kind == "plateau":
        mode = "min" if monitor_key in ("loss", "mae", "mse") else "max"
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=t["gamma"],
                                                          patience=t["schedule_patience"])
    if kind == "one_cycle":  # each group peaks at its own rate (the pretrained part's is lower)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
                                                   total_steps=t["epochs"] * steps_per_epoch)
    return None


def end_of_epoch_schedule(scheduler, t: dict, monitored: float | None) -> None:
    """Step an epoch-wise schedule (one-cycle steps per batch, in Step)."""
    if scheduler is None or t["schedule"] == "one_cycle":
        return
    if t["schedule"] == "plateau":
        if monitored is not None:
            scheduler.step(monitored)
    else:
        scheduler.step()


def first_output(out: Any) -> torch.Tensor:
    """A model with several Outputs trains its first one."""
    return out[0] if isinstance(out, (tuple, list)) else out


# ---------------------------------------------------------------- objectives

@dataclass
class Supervised:
    """Classification or regression: the model's output against the dataset's target."""

    task: str
    loss_name: str
    num_classes: int = 0
    binary_logit: bool = False  # bce_with_logits with one output for two classes
    huber_delta: float = 1.0

    def begin_epoch(self, epoch: int) -> None:
        """Called before each epoch (1-based); the VAE's KL warm-up uses it."""

    def nonfinite_network(self) -> str | None:
        """One network: a non-finite loss is the model's (a GAN names which of its two)."""
        return None

    def inputs(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """What the model is fed for the batch (x, y)."""
        return x

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = out.float()
        name = self.loss_name
        if self.task == "classification":
            if name == "cross_entropy":
                return F.cross_entropy(out, target)
            if name == "nll":
                return F.nll_loss(out, target)
            if self.binary_logit:
                return F.binary_cross_entropy_with_logits(out.reshape(-1), target.float())
            return F.binary_cross_entropy_with_logits(out, F.one_hot(target, out.shape[1]).float())
        out = out.reshape(target.shape)
        if name == "mse":
            return F.mse_loss(out, target)
        if name == "l1":
            return F.l1_loss(out, target)
        return F.huber_loss(out, target, delta=self.huber_delta)

    def meter(self, device: torch.device, keep_scores: bool):
        if self.task == "classification":
            return ClassificationMeter(self.num_classes, device, keep_scores=keep_scores)
        return RegressionMeter(device)

    def update(self, meter, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch to `meter` on the device (no host sync)."""
        n = target.shape[0]
        if self.task != "classification":
            meter.update(out.detach().float(), target, loss * n)
            return
        out = out.detach().float()
        if self.binary_logit:
            logit = out.reshape(-1)
            meter.update((logit > 0).long(), target, loss * n, torch.sigmoid(logit))
            return
        positive = None
        if meter.keep_scores:
            positive = out[:, 1].exp() if self.loss_name == "nll" else (
                torch.sigmoid(out[:, 1]) if self.loss_name == "bce_with_logits" else torch.softmax(out, 1)[:, 1])
        meter.update(out.argmax(1), target, loss * n, positive)


@dataclass
class Reconstruction(Supervised):
    """An autoencoder: the input is the target; with `noise` > 0 it is a denoising one (noisy in, clean out)."""

    noise: float = 0.0

    def inputs(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.noise <= 0:
            return x
        return x + self.noise * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    @torch.no_grad()
    def anomaly_scores(self, model: nn.Module, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
        """Per-sample reconstruction error (mean squared), the higher the more anomalous."""
        was = model.training
        model.eval()
        scores = []
        for i in range(0, len(x), batch):
            xb = x[i:i + batch]
            out = first_output(model(xb)).float().reshape(xb.shape)
            scores.append((out - xb).pow(2).flatten(1).mean(1))
        model.train(was)
        return torch.cat(scores) if scores else torch.zeros(0)


class TermsMeter:
    """A metrics meter plus named loss terms averaged over samples (kept on the device)."""

    def __init__(self, inner, names: tuple[str, ...], device: torch.device) -> None:
        self.inner, self.keep_scores = inner, False
        self.sums = {name: torch.zeros((), dtype=torch.float64, device=device) for name in names}
        self.count = 0

    def update(self, pred, target, loss_sum, terms: dict) -> None:
        self.inner.update(pred, target, loss_sum)
        n = target.shape[0]
        for name, value in terms.items():
            self.sums[name] += value.detach().double() * n
        self.count += n

    def compute(self) -> dict:
        out = self.inner.compute()
        if self.count:
            out.update({name: float(total / self.count) for name, total in self.sums.items()})
        return out


def is_latent(module: nn.Module) -> bool:
    """A GaussianLatent layer of the generated code (runtime.compile.lowering), found by what it keeps."""
    return type(module).__name__ == "GaussianLatent" and hasattr(module, "kl") and hasattr(module, "prior")


@dataclass
class VAE(Reconstruction):
    """A variational autoencoder: reconstruction error (summed per sample) + beta * KL of its latent layers.

    The KL weight rises linearly from beta/warmup to beta over the first `warmup` epochs (0: off).
    """

    beta: float = 1.0
    warmup: int = 0
    weight: float = 1.0
    latents: list = field(default_factory=list)
    terms: dict = field(default_factory=dict)

    def bind(self, model: nn.Module) -> "VAE":
        self.latents = [m for m in model.modules() if is_latent(m)]
        self.weight = self.beta
        return self

    def begin_epoch(self, epoch: int) -> None:
        self.weight = self.beta * min(1.0, epoch / self.warmup) if self.warmup > 0 else self.beta

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = out.float().reshape(target.shape) - target
        if self.loss_name == "l1":
            per_value = err.abs()
        elif self.loss_name == "huber":
            per_value = F.huber_loss(err, torch.zeros_like(err), delta=self.huber_delta, reduction="none")
        else:
            per_value = err.pow(2)
        reconstruction = per_value.flatten(1).sum(1).mean()
        kl = sum(m.kl.float() for m in self.latents).mean()
        self.terms = {"reconstruction": reconstruction.detach(), "kl": kl.detach()}
        return reconstruction + self.weight * kl

    def meter(self, device: torch.device, keep_scores: bool):
        return TermsMeter(RegressionMeter(device), ("reconstruction", "kl"), device)

    def update(self, meter, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        meter.update(out.detach().float(), target, loss * target.shape[0], self.terms)

    @torch.no_grad()
    def sample(self, model: nn.Module, n: int, input_shape: tuple, device: torch.device,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` samples decoded from the prior N(0, I) (the encoder's output is replaced by them)."""
        latent = self.latents[0]
        was = model.training
        model.eval()
        probe = torch.zeros((n, *input_shape), device=device)  # the encoder's output is replaced
        z = torch.randn((n, *self._latent_shape(model, probe)), generator=generator, device=device)
        latent.prior = z
        try:
            out = first_output(model(probe))
        finally:
            latent.prior = None
            model.train(was)
        return out

    def _latent_shape(self, model: nn.Module, probe: torch.Tensor) -> tuple:
        seen = {}

        def keep(module, args, out):
            seen["z"] = out.shape

        handle = self.latents[0].register_forward_hook(keep)
        try:
            model(probe)
        finally:
            handle.remove()
        return tuple(seen["z"][1:])


def make_objective(task: str, loss_name: str, num_classes: int, t: dict, binary_logit: bool = False,
                   model: nn.Module | None = None):
    """The objective of a task: 'reconstruction' gives the autoencoder (with t['denoise'] noise), or
    the VAE when `model` has a Gaussian latent layer."""
    if task == "reconstruction":
        if model is not None and any(is_latent(m) for m in model.modules()):
            return VAE(task, loss_name, 0, False, t["huber_delta"], noise=t.get("denoise", 0.0),
                       beta=t.get("beta", 1.0), warmup=t.get("beta_warmup", 0)).bind(model)
        return Reconstruction(task, loss_name, 0, False, t["huber_delta"], noise=t.get("denoise", 0.0))
    return Supervised(task, loss_name, num_classes, binary_logit, t["huber_delta"])


# ---------------------------------------------------------------- the step

@dataclass
class Step:
    """One optimisation step: forward (autocast when `amp`), loss + L1, backward, clipping, update."""

    model: Any  # the module called (a DistributedDataParallel wrapper in the script)
    params: list
    optimizer: torch.optim.Optimizer
    scheduler: Any = None
    amp: torch.dtype | None = None
    clip: float | None = None
    l1: float = 0.0
    one_cycle: bool = False
    scaler: Any = None
    l1_params: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.l1_params = [p for p in self.params if p.dim() > 1]  # weights, not biases or norm scales
        if self.amp == torch.float16 and self.scaler is None:
            self.scaler = torch.amp.GradScaler("cuda")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.model, x, self.amp)

    def __call__(self, objective, xb: torch.Tensor, yb: torch.Tensor, augment=None,
                 generator: torch.Generator | None = None, image: bool = False):
        """Train on one batch; returns (output, target, loss, loss with penalties) without a host sync."""
        target = objective.target(xb, yb)
        if augment is not None and augment.enabled:
            xb = augment(xb, generator, image=image)
        out = self.forward(objective.inputs(xb, yb, generator))
        loss = objective.loss(out, target)
        total = loss + self.l1 * sum(p.abs().sum() for p in self.l1_params) if self.l1 > 0 else loss
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            if self.clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.params, self.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            if self.clip is not None:
                nn.utils.clip_grad_norm_(self.params, self.clip)
            self.optimizer.step()
        if self.one_cycle:
            self.scheduler.step()
        return out, target, loss.detach(), total.detach()


def forward(model: Any, x: torch.Tensor, amp: torch.dtype | None = None) -> torch.Tensor:
    """The model's (first) output, under CUDA autocast when `amp` is a dtype."""
    if amp is not None:
        with torch.autocast("cuda", dtype=amp):
            return first_output(model(x))
    return first_output(model(x))


@torch.no_grad()
def evaluate(objective, model: nn.Module, batches, device: torch.device, amp: torch.dtype | None = None):
    """A meter filled with `objective`'s metrics over `batches`, the model in eval mode."""
    if hasattr(objective, "evaluate"):  # a GAN judges its own two networks
        return objective.evaluate(batches, device)
    meter = objective.meter(device, keep_scores=True)
    was = model.training
    model.eval()
    for xb, yb in batches:
        target = objective.target(xb, yb)
        out = forward(model, xb, amp)
        objective.update(meter, out, target, objective.loss(out, target))
    model.train(was)
    return meter


# ---------------------------------------------------------------- the run's state

@dataclass
class RunState:
    """Where a run stands; `to_checkpoint` with the modules' states is checkpoint.pt."""

    epoch: int = 0
    step: int = 0
    best_epoch: int | None = None
    best_value: float | None = None
    wait: int = 0

    def observe(self, epoch: int, key: str, monitored: float | None, min_delta: float) -> bool:
        """Record the epoch's monitored value; True when it is the best so far."""
        self.epoch = epoch
        improved = monitored is not None and better(key, monitored, self.best_value, min_delta)
        if improved:
            self.best_epoch, self.best_value, self.wait = epoch, monitored, 0
        else:
            self.wait += 1
        return improved

    def should_stop(self, t: dict, epochs: int) -> bool:
        """Early stopping: the monitored metric did not improve for `patience` epochs."""
        return bool(t["early_stopping"]) and self.wait >= t["patience"] and self.epoch < epochs

    def to_checkpoint(self, **states: Any) -> dict:
        """The checkpoint dict: this state plus model/optimizer/scheduler/scaler/rng states."""
        return {"format": CHECKPOINT_FORMAT, "version": 1, "epoch": self.epoch,
                "best": {"epoch": self.best_epoch, "value": self.best_value}, "wait": self.wait,
                "step": self.step, **states}

    @classmethod
    def from_checkpoint(cls, state: dict) -> "RunState":
        return cls(int(state["epoch"]), int(state["step"]), state["best"]["epoch"], state["best"]["value"],
                   int(state["wait"]))


# ---------------------------------------------------------------- GAN

class GANPair(nn.Module):
    """The generator and discriminator of a GAN as one module, so weights and checkpoints hold both."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return first_output(self.generator(z))


class Optimizers:
    """Several optimizers behind one optimizer's state_dict/param_groups (the first sets the reported rate)."""

    def __init__(self, **optimizers: torch.optim.Optimizer) -> None:
        self.optimizers = optimizers
        self.param_groups = next(iter(optimizers.values())).param_groups

    def state_dict(self) -> dict:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state[name])


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


def sample_diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Per-pixel spread of generated samples over that of real ones: near 0 when the samples collapse."""
    spread = lambda x: x.float().flatten(1).std(0).mean()  # noqa: E731
    return float(spread(fake) / spread(real).clamp(min=1e-12))


@dataclass
class GAN:
    """Alternating discriminator and generator steps with the non-saturating loss.

    The discriminator learns real → 1 (1 - `smoothing`, one-sided label smoothing) and fake → 0;
    the generator learns to make the discriminator say 1 for its samples.
    """

    pair: GANPair
    noise_shape: tuple
    d_optimizer: torch.optim.Optimizer
    g_optimizer: torch.optim.Optimizer
    smoothing: float = 0.0
    clip: float | None = None
    amp: torch.dtype | None = None
    names: tuple = ("generator", "discriminator")  # the project's network names, for messages
    task: str = "gan"
    terms: dict = field(default_factory=dict)
    bad: Any = None  # first non-finite loss: 0 the discriminator's, 1 the generator's

    def begin_epoch(self, epoch: int) -> None:
        pass

    def noise(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn((n, *self.noise_shape), generator=generator, device=device)

    def _d(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.pair.discriminator, x, self.amp).float().reshape(-1)

    def _update(self, optimizer, loss: torch.Tensor, params) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
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
        self._update(self.d_optimizer, d_loss, self.pair.discriminator.parameters())
        d_fooled = self._d(fake)
        g_loss = F.binary_cross_entropy_with_logits(d_fooled, torch.ones_like(d_fooled))  # non-saturating
        self._update(self.g_optimizer, g_loss, self.pair.generator.parameters())
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
    def evaluate(self, batches, device: torch.device) -> GANMeter:
        """The discriminator on real batches and on as many fresh samples; their diversity."""
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
    """The Step of a GAN: the objective alternates its own two optimizers."""

    objective: GAN
    scheduler: Any = None
    scaler: Any = None

    def __call__(self, objective: GAN, xb, yb, augment=None, generator=None, image: bool = False):
        return objective.step(xb, augment, generator, image)


def make_gan(generator: nn.Module, discriminator: nn.Module, noise_shape: tuple, t: dict, device: torch.device,
             names: tuple = ("generator", "discriminator"), amp: torch.dtype | None = None) -> GAN:
    """The GAN objective with its two Adam optimizers (β1 = t['gan_beta1'], 0.5 by default)."""
    betas = (t.get("gan_beta1", 0.5), 0.999)
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
    lr_d = t.get("lr_d") or t["lr"]
    g_opt = torch.optim.Adam(generator.parameters(), lr=t["lr"], betas=betas, weight_decay=t["weight_decay"], **fused)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas, weight_decay=t["weight_decay"],
                             **fused)
    return GAN(GANPair(generator, discriminator), tuple(noise_shape), d_opt, g_opt, t.get("label_smoothing", 0.0),
               t["grad_clip"], amp, names)
