"""Optimizers, learning-rate schedules, mixed precision and frozen layers, written once.

Part of the training engine the exported script embeds with inspect.getsource (runtime/export/script.py),
so plain torch only: nothing here imports graph_builder, runtime or app.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 autocast on CUDA where supported, else fp16; None (off) on other devices."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def first_output(out: Any) -> torch.Tensor:
    """A model with several Outputs trains its first one."""
    return out[0] if isinstance(out, (tuple, list)) else out


def forward(model: Any, x: torch.Tensor, amp: torch.dtype | None = None) -> torch.Tensor:
    """The model's (first) output, under CUDA autocast when `amp` is a dtype."""
    if amp is not None:
        with torch.autocast("cuda", dtype=amp):
            return first_output(model(x))
    return first_output(model(x))


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
                          {"params": older, "lr": lr * t["pretrained_lr_factor"], "pretrained": True})
              if g["params"]] or [{"params": [], "lr": lr}]
    # torch's defaults loop over parameters in Python on the CPU; the fused Adam kernels (CPU and
    # CUDA) and the multi-tensor ones cut most of a step's time for the small models drawn here.
    fused = device.type in ("cpu", "cuda")
    # Every torch.optim optimiser imports torch._dynamo (1-3 s) as it is built and on each step
    # (_disable_dynamo on add_param_group, graph_break in step; torch 2.14 has no switch for it):
    # a run pays it once, as a plain script does; warming a spare process hides it (app/training).
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=t["momentum"], nesterov=t["nesterov"],
                               weight_decay=wd, foreach=True)
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(groups, lr=lr, weight_decay=wd, **({"fused": True} if fused else {"foreach": True}))
    return torch.optim.RMSprop(groups, lr=lr, momentum=t["momentum"], weight_decay=wd, foreach=True)


def make_scheduler(optimizer: torch.optim.Optimizer, t: dict, steps_per_epoch: int, lower_is_better: bool):
    """The learning-rate schedule of `t`, or None; plateau follows the monitored metric's direction."""
    kind = t["schedule"]
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=t["step_size"], gamma=t["gamma"])
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t["epochs"])
    if kind == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min" if lower_is_better else "max",
                                                          factor=t["gamma"], patience=t["schedule_patience"])
    if kind == "one_cycle":  # each group peaks at its own rate (the pretrained part's is lower)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
                                                   total_steps=t["epochs"] * steps_per_epoch)
    return None


def end_of_epoch_schedule(scheduler, t: dict, monitored: float | None) -> None:
    """Step an epoch-wise schedule (one-cycle steps per batch, in the step)."""
    if scheduler is None or t["schedule"] == "one_cycle":
        return
    if t["schedule"] == "plateau":
        if monitored is not None:
            scheduler.step(monitored)
    else:
        scheduler.step()


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


class Schedulers:
    """The schedules of several optimizers stepped as one (a GAN's two)."""

    def __init__(self, **schedulers) -> None:
        self.schedulers = schedulers

    def step(self, *args) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step(*args)

    def state_dict(self) -> dict:
        return {name: s.state_dict() for name, s in self.schedulers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, s in self.schedulers.items():
            s.load_state_dict(state[name])


def average_gradients(params: list, world: int) -> None:
    """Average the gradients of `params` over the `world` processes (what DistributedDataParallel does)."""
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


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
