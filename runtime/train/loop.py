"""The epoch loop, written once: the trainer drives it and the exported training script embeds its source.

A task builds a `Built` once (its model, objective, step, optimizer, schedule and what to monitor);
`Loop.run` trains it epoch by epoch: shuffles, batches through the step, checks the loss for
NaN/inf on the device, evaluates, keeps the best weights, steps the schedule and stops early.
It yields a point before and after every batch and one per epoch, so the trainer can obey pause
and stop, throttle its events and write its files, while the script only prints (`Loop.fit`).
Under torchrun (`world` > 1) each process takes every world-th sample of one shared seeded
permutation and a batch of batch_size // world, so the global batch matches the app's.

Plain torch only (DESIGN.md decision 12): nothing here imports graph_builder, runtime or app.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from runtime.train.objectives import EVAL_BATCH, RunState, Step
from runtime.train.optim import end_of_epoch_schedule, freeze, hold_frozen, make_optimizer, make_scheduler


@dataclass
class Built:
    """What the loop drives, made once by a task (runtime/tasks): nothing per batch asks the task."""

    model: nn.Module  # what is evaluated, checkpointed and saved (a GAN's pair of networks)
    objective: Any  # bind, begin_epoch, meter, update, evaluate, nonfinite_network
    step: Any  # (objective, x, y, augment, generator, image) -> (output, target, loss, total)
    optimizer: Any
    scheduler: Any
    params: list
    monitor: tuple  # (split, metric key) that picks the best epoch and drives early stopping
    lower_is_better: bool  # of the monitored metric (the best epoch, the plateau schedule)
    frozen_norms: list = field(default_factory=list)  # BatchNorm layers of frozen nodes: kept in eval mode

    @property
    def scaler(self):
        return self.step.scaler


def batches_per_epoch(samples: int, batch_size: int, world: int = 1) -> int:
    """How many steps one process takes per epoch (its shard of `samples`, batches of batch_size // world)."""
    return math.ceil(math.ceil(samples / world) / max(1, batch_size // world))


def assemble_single(model: nn.Module, objective: Any, s: dict, t: dict, device: torch.device,
                    amp: torch.dtype | None, steps: int, world: int = 1) -> Built:
    """What the loop drives for one network: its frozen layers held, its optimizer (the pretrained part at its
    own rate), schedule and step. `s` are the task's settings (monitor, direction, frozen, pretrained); under
    torchrun (`world` > 1) the step runs the model through DistributedDataParallel."""
    frozen_norms = freeze(model, s["frozen"])
    params = [p for p in model.parameters() if p.requires_grad]
    pretrained = set(s["pretrained"])
    pretrained_params = [p for name, p in model.named_parameters() if name in pretrained and p.requires_grad]
    optimizer = make_optimizer(params, t, device, pretrained_params)
    scheduler = make_scheduler(optimizer, t, steps, s["lower_is_better"])
    trained = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    step = Step(trained, params, optimizer, scheduler, amp, t["grad_clip"], t["l1"], t["schedule"] == "one_cycle")
    return Built(model, objective.bind(model), step, optimizer, scheduler, params, tuple(s["monitor"]),
                 s["lower_is_better"], frozen_norms)


class NonFiniteLoss(ArithmeticError):
    """The loss became NaN or infinite: at which epoch and batch (1-based), and in which network if several."""

    def __init__(self, epoch: int, batch: int, network: str | None) -> None:
        super().__init__(f"the loss became NaN or infinite at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.network = epoch, batch, network


@dataclass
class Epoch:
    """One epoch's end, as the loop reports it."""

    epoch: int
    train: dict
    val: dict
    val_meter: Any  # the validation meter (a classifier's confusion matrix), None without validation
    lr: float  # the rate the epoch trained at
    next_lr: float  # after the schedule's step
    monitored: float | None
    improved: bool
    seconds: float
    samples: int


class Loop:
    """The epochs of one run of `built` on `data` ({"train", "val", "test"} splits with .batches)."""

    def __init__(self, built: Built, data: dict, t: dict, device: torch.device, amp: torch.dtype | None = None,
                 augment: Any = None, image: bool = False, rank: int = 0, world: int = 1) -> None:
        self.built, self.data, self.t, self.device, self.amp = built, data, t, device, amp
        self.augment, self.image, self.rank, self.world = augment, image, rank, world
        self.state = RunState()  # epoch, step, best and patience: with the modules' states, the checkpoint
        self.best_state: dict | None = None
        self.shuffle = torch.Generator().manual_seed(t["seed"])  # the same permutation in every process
        self.noise = torch.Generator(device=device).manual_seed(t["seed"] + 1 + rank)  # augmentation, noise
        self.batch_size = max(1, t["batch_size"] // world)
        self.samples = len(data["train"])
        self.per_rank = math.ceil(self.samples / world)
        self.batches = batches_per_epoch(self.samples, t["batch_size"], world)
        self.bad_at = torch.full((), -1, dtype=torch.long, device=device)  # first batch with a non-finite loss
        self.stopped_early = False
        self.epoch = 0
        self.batch: int | None = None

    def lr(self) -> float:
        return float(self.built.optimizer.param_groups[0]["lr"])

    def order(self) -> torch.Tensor:
        """This epoch's shuffled sample order (this process's equal shard of it under torchrun)."""
        order = torch.randperm(self.samples, generator=self.shuffle)
        if self.world > 1:
            order = torch.cat([order, order[: self.per_rank * self.world - self.samples]])[self.rank::self.world]
        return order

    def run(self, start: int = 0) -> Iterator[tuple]:
        """Train epochs start+1 … epochs: yields ("before", b) and ("after", b, loss) around every batch and
        ("epoch", Epoch) after each epoch; raises NonFiniteLoss when the loss goes NaN or infinite."""
        t, built = self.t, self.built
        model, objective, step = built.model, built.objective, built.step
        train = self.data["train"]
        for epoch in range(start + 1, t["epochs"] + 1):
            self.epoch = epoch
            model.train()
            hold_frozen(built.frozen_norms)  # train() set every layer; frozen BatchNorm keeps its statistics
            objective.begin_epoch(epoch)
            meter = objective.meter(self.device, keep_scores=False)
            started = time.perf_counter()
            order = self.order()
            for b, (xb, yb) in enumerate(train.batches(self.batch_size, order)):
                self.batch = b
                yield ("before", b)
                out, target, loss, total = step(objective, xb, yb, self.augment, self.noise, self.image)
                self.state.step += 1
                self.bad_at = torch.where((self.bad_at < 0) & ~torch.isfinite(total), b, self.bad_at)
                objective.update(meter, out, target, loss)
                yield ("after", b, loss)
            self.batch = None
            self.check_finite()
            seconds = time.perf_counter() - started
            train_metrics = self._over_processes(meter.compute(), len(order))
            val_metrics, val_meter = self.evaluate("val")
            lr = self.lr()
            split, key = built.monitor
            monitored = (val_metrics if split == "val" else train_metrics).get(key)
            improved = self.state.observe(epoch, monitored, t["min_delta"], built.lower_is_better)
            if improved:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            end_of_epoch_schedule(built.scheduler, t, monitored)
            yield ("epoch", Epoch(epoch, train_metrics, val_metrics, val_meter, lr, self.lr(), monitored, improved,
                                  seconds, self.samples))
            if self.state.should_stop(t, t["epochs"]):
                self.stopped_early = True
                return

    def fit(self, start: int = 0, on_epoch: Callable[[Epoch], None] | None = None) -> None:
        """Run every epoch, calling `on_epoch` after each (the exported script's way: nothing to obey)."""
        for point in self.run(start):
            if point[0] == "epoch" and on_epoch is not None:
                on_epoch(point[1])

    def check_finite(self) -> None:
        """Raise NonFiniteLoss if a batch so far had a NaN or infinite loss (one host sync)."""
        b = int(self.bad_at)
        if b >= 0:
            self.batch = b  # what a failure report names
            raise NonFiniteLoss(self.epoch, b + 1, self.built.objective.nonfinite_network())

    def evaluate(self, split: str) -> tuple[dict, Any]:
        """(metrics, meter) of `split` with the model as it is; ({}, None) for an empty split."""
        data = self.data[split]
        if len(data) == 0:
            return {}, None
        meter = self.built.objective.evaluate(self.built.model, data.batches(max(EVAL_BATCH, self.t["batch_size"])),
                                              self.device, self.amp)
        return meter.compute(), meter

    def finish(self) -> tuple[bool, dict, Any]:
        """(whether the best weights were restored, test metrics, test meter): the end of a run."""
        restored = False
        if self.t["restore_best"] and self.best_state is not None:
            self.built.model.load_state_dict(self.best_state)
            restored = True
        metrics, meter = self.evaluate("test")
        return restored, metrics, meter

    def _over_processes(self, metrics: dict, count: int) -> dict:
        """The training loss over every process's shard under torchrun (each process has its own)."""
        if self.world > 1 and "loss" in metrics:
            both = torch.tensor([metrics["loss"] * count, float(count)], dtype=torch.float64)
            dist.all_reduce(both)
            metrics["loss"] = float(both[0] / both[1])
        return metrics
