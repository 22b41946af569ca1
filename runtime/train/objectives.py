"""Training objectives: the losses, the step and evaluation of each task, written once.

The trainer's loop (runtime/train/loop.py) drives these, and the exported training script embeds
this module's source with `inspect.getsource` (runtime/export/script.py), so what the app trains
and what the script trains cannot drift (DESIGN.md decision 12). Hence plain torch only: nothing
here imports graph_builder, runtime (but the engine modules embedded beside it) or app. Which
objective a run uses is its task's decision (runtime/tasks): no objective tests a task's name.

    objective = Classification("cross_entropy", num_classes=10)
    step = Step(model, params, make_optimizer(params, settings, device), ...)
    for xb, yb in batches:
        out, target, loss, total = step(objective, xb, yb)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from runtime.train.metrics import ClassificationMeter, RegressionMeter, better
from runtime.train.optim import first_output, forward

CHECKPOINT_FORMAT = "netcanvas-checkpoint"
EVAL_BATCH = 1024


class Objective:
    """What every objective does unless it says otherwise: the model's output against a target."""

    def bind(self, model: nn.Module) -> Objective:
        """Called once with the model it trains (the VAE finds its latent layers)."""
        return self

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

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches, device: torch.device, amp: torch.dtype | None = None):
        """A meter filled with this objective's metrics over `batches`, the model in eval mode."""
        meter = self.meter(device, keep_scores=True)
        was = model.training
        model.eval()
        for xb, yb in batches:
            target = self.target(xb, yb)
            out = forward(model, xb, amp)
            self.update(meter, out, target, self.loss(out, target))
        model.train(was)
        return meter


@dataclass
class Classification(Objective):
    """Class scores against class labels: cross-entropy, NLL (a LogSoftmax end) or BCE on logits."""

    loss_name: str
    num_classes: int = 0
    binary_logit: bool = False  # bce_with_logits with one output for two classes

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = out.float()
        if self.loss_name == "cross_entropy":
            return F.cross_entropy(out, target)
        if self.loss_name == "nll":
            return F.nll_loss(out, target)
        if self.binary_logit:
            return F.binary_cross_entropy_with_logits(out.reshape(-1), target.float())
        return F.binary_cross_entropy_with_logits(out, F.one_hot(target, out.shape[1]).float())

    def meter(self, device: torch.device, keep_scores: bool) -> ClassificationMeter:
        return ClassificationMeter(self.num_classes, device, keep_scores=keep_scores)

    def update(self, meter, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch to `meter` on the device (no host sync)."""
        n = target.shape[0]
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
class Regression(Objective):
    """Values against values: MSE, L1 or Huber."""

    loss_name: str
    huber_delta: float = 1.0

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = out.float().reshape(target.shape)
        if self.loss_name == "mse":
            return F.mse_loss(out, target)
        if self.loss_name == "l1":
            return F.l1_loss(out, target)
        return F.huber_loss(out, target, delta=self.huber_delta)

    def meter(self, device: torch.device, keep_scores: bool) -> RegressionMeter:
        return RegressionMeter(device)

    def update(self, meter, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch to `meter` on the device (no host sync)."""
        meter.update(out.detach().float(), target, loss * target.shape[0])


@dataclass
class Reconstruction(Regression):
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

    def bind(self, model: nn.Module) -> VAE:
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

    def meter(self, device: torch.device, keep_scores: bool) -> TermsMeter:
        return TermsMeter(RegressionMeter(device), ("reconstruction", "kl"), device)

    def update(self, meter, out: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        meter.update(out.detach().float(), target, loss * target.shape[0], self.terms)

    @torch.no_grad()
    def sample(self, model: nn.Module, n: int, input_shape: tuple, device: torch.device,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` samples decoded from the prior N(0, I) (the encoder's output is replaced by them)."""
        was = model.training
        model.eval()
        probe = torch.zeros((n, *input_shape), device=device)  # the encoder's output is replaced
        z = torch.randn((n, *self.latent_shape(model, probe)), generator=generator, device=device)
        try:
            out = self.decode(model, z, probe)
        finally:
            model.train(was)
        return out

    def decode(self, model: nn.Module, z: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
        """The model's output with the first latent layer's output replaced by `z` (`probe` feeds the encoder)."""
        latent = self.latents[0]
        latent.prior = z
        try:
            return first_output(model(probe))
        finally:
            latent.prior = None

    def latent_shape(self, model: nn.Module, probe: torch.Tensor) -> tuple:
        """The first latent layer's output shape for `probe`, without the batch."""
        seen = {}

        def keep(module, args, out):
            seen["z"] = out.shape

        handle = self.latents[0].register_forward_hook(keep)
        try:
            model(probe)
        finally:
            handle.remove()
        return tuple(seen["z"][1:])


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
        out, target, loss, total = self.backward(objective, xb, yb, augment, generator, image)
        self.update()
        return out, target, loss, total

    def backward(self, objective, xb: torch.Tensor, yb: torch.Tensor, augment=None,
                 generator: torch.Generator | None = None, image: bool = False):
        """The batch's forward and backward, the weights untouched: what `update` then applies."""
        target = objective.target(xb, yb)
        if augment is not None and augment.enabled:
            xb = augment(xb, generator, image=image)
        out = self.forward(objective.inputs(xb, yb, generator))
        loss = objective.loss(out, target)
        total = loss + self.l1 * sum(p.abs().sum() for p in self.l1_params) if self.l1 > 0 else loss
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
        else:
            total.backward()
        return out, target, loss.detach(), total.detach()

    def update(self) -> None:
        """Clip the gradients `backward` left, step the optimizer (and a one-cycle schedule)."""
        if self.scaler is not None:
            if self.clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.params, self.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            if self.clip is not None:
                nn.utils.clip_grad_norm_(self.params, self.clip)
            self.optimizer.step()
        if self.one_cycle:
            self.scheduler.step()


# ---------------------------------------------------------------- the run's state

@dataclass
class RunState:
    """Where a run stands; `to_checkpoint` with the modules' states is the run's checkpoint."""

    epoch: int = 0
    step: int = 0
    best_epoch: int | None = None
    best_value: float | None = None
    wait: int = 0

    def observe(self, epoch: int, monitored: float | None, min_delta: float, lower_is_better: bool) -> bool:
        """Record the epoch's monitored value; True when it is the best so far."""
        self.epoch = epoch
        improved = monitored is not None and better(monitored, self.best_value, lower_is_better, min_delta)
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
    def from_checkpoint(cls, state: dict) -> RunState:
        return cls(int(state["epoch"]), int(state["step"]), state["best"]["epoch"], state["best"]["value"],
                   int(state["wait"]))
