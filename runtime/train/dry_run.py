"""A few real training steps before training: what one epoch will take.

    prepared = prepare_step(project, batch_size=32, device="cpu")
    prepared.step()                # one step of the trainer's own, on one fixed batch of the training split
    timing = time_epoch(project)   # EpochTime: seconds per step, steps per epoch, seconds per epoch

The step is the trainer's (runtime.train.setup builds the task's model, objective, optimiser and
step). time_epoch starts the trainer's epoch loop and times its first four batches: the first fills
the gradients and the optimiser's state and, on CUDA, lets cuDNN choose its kernels, so it is left
out and the median of the other three is a step. With one evaluation batch of the validation split
timed too, an epoch is the steps it takes plus the validation batches it evaluates. A dataset
whose files are not here (a download not yet made) is replaced by random samples of its shape, and
pretrained weights by random ones: time and memory depend on shapes, not on values.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from runtime.train.objectives import EVAL_BATCH

if TYPE_CHECKING:
    from graph_builder.project import Project

TIMED_STEPS = 3


@dataclass
class PreparedStep:
    """One fixed training batch and the trainer's step on it, with what it was built from."""

    step: Callable[[], None]
    built: Any  # runtime.train.loop.Built
    setup: Any  # runtime.tasks.Setup
    loop: Any  # runtime.train.loop.Loop: the epoch loop over the same data
    batch_size: int
    stand_in: bool  # random samples of the data's shape stood in for files that are not here


@dataclass(frozen=True)
class EpochTime:
    """A dry run's figures (seconds)."""

    step_seconds: float  # one training step, the median of the timed ones
    steps_per_epoch: int  # 0: unknown (the data's files are not here, so neither is its length)
    eval_seconds: float  # one evaluation batch of the validation split
    eval_batches: int
    batch_size: int
    device: str

    @property
    def epoch_seconds(self) -> float | None:
        if not self.steps_per_epoch:
            return None
        return self.step_seconds * self.steps_per_epoch + self.eval_seconds * self.eval_batches

    def text(self) -> str:
        """One line: the epoch's estimate and what it is made of."""
        if not self.steps_per_epoch:
            return (f"one training step ≈ {seconds_text(self.step_seconds)} on {self.device} at batch size "
                    f"{self.batch_size}; the data is not here yet, so neither is an epoch's length: "
                    f"download it to estimate an epoch")
        words = (f"one epoch ≈ {seconds_text(self.epoch_seconds or 0.0)} on {self.device}: {self.steps_per_epoch} "
                 f"step{'s' * (self.steps_per_epoch != 1)} of {seconds_text(self.step_seconds)} at batch size "
                 f"{self.batch_size}")
        if self.eval_batches:
            words += (f", {self.eval_batches} validation batch{'es' * (self.eval_batches != 1)} of "
                      f"{seconds_text(self.eval_seconds)}")
        return words + f" (from a dry run of {TIMED_STEPS} steps)"

    def to_dict(self) -> dict:
        return {"step_seconds": self.step_seconds, "steps_per_epoch": self.steps_per_epoch,
                "eval_seconds": self.eval_seconds, "eval_batches": self.eval_batches,
                "epoch_seconds": self.epoch_seconds, "batch_size": self.batch_size, "device": self.device}


def prepare_step(project: Project | dict, batch_size: int | None = None, device: str = "cpu",
                 project_path: str | Path | None = None, mixed_precision: bool = False) -> PreparedStep:
    """The trainer's step of `project` at `batch_size` (the project's by default) on its first training batch."""
    from runtime.train.loop import Loop
    from runtime.train.setup import prepare, read_settings

    training = {"device": device, "mixed_precision": mixed_precision,
                **({"batch_size": batch_size} if batch_size else {})}
    settings = read_settings(_without_weight_sources(project), None, None, training)
    folder = Path(project_path).parent if project_path else None
    splits, stand_in = _splits(settings.d, folder)
    ready = prepare(settings, splits=splits)
    s = ready.setup
    loop = Loop(ready.built, s.data, s.t, s.device, s.amp)
    built, bs = ready.built, s.t["batch_size"]
    xb, yb = next(s.data["train"].batches(bs, torch.arange(min(bs, len(s.data["train"])))))
    built.model.train()
    built.objective.begin_epoch(1)

    def step() -> None:
        built.step(built.objective, xb.clone(), yb.clone(), None, loop.noise, s.splits.image)

    return PreparedStep(step, built, s, loop, bs, stand_in)


def time_epoch(project: Project | dict, batch_size: int | None = None, device: str = "auto",
               project_path: str | Path | None = None) -> EpochTime:
    """How long one epoch of `project` takes on `device`, from three timed steps (see the module's words)."""
    project = _as_project(project)
    prepared = prepare_step(project, batch_size, device, project_path,
                            mixed_precision=bool(project.training.get("mixed_precision", False)))
    s, built = prepared.setup, prepared.built
    step_seconds = _loop_steps(prepared.loop, s.device, 1 + TIMED_STEPS)
    val = s.data["val"]
    eval_batch = max(EVAL_BATCH, prepared.batch_size)
    eval_seconds, eval_batches = 0.0, 0
    if len(val):
        first = torch.arange(min(eval_batch, len(val)))

        def evaluate() -> None:
            built.objective.evaluate(built.model, val.batches(eval_batch, first), s.device, s.amp)

        eval_seconds = _timed(evaluate, s.device, 1)
        eval_batches = math.ceil(len(val) / eval_batch)
        built.model.train()
    if prepared.stand_in:
        return EpochTime(step_seconds, 0, 0.0, 0, prepared.batch_size, s.device.type)
    return EpochTime(step_seconds, s.steps, eval_seconds, eval_batches, prepared.batch_size, s.device.type)


def seconds_text(seconds: float) -> str:
    """0.0042 → '4.2 ms', 12.3 → '12.3 s', 754 → '12 min 34 s', 7300 → '2 h 1 min'."""
    if seconds < 1:
        return f"{seconds * 1000:.2g} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _loop_steps(loop: Any, device: torch.device, count: int) -> float:
    """The median seconds of the first epoch's batches 2 … `count` as the epoch loop runs them (its step, its
    loss check and its metrics), the first left out; the first alone when the epoch has only one batch."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda _device: None)
    times: list[float] = []
    started = 0.0
    run = loop.run()
    for point in run:
        if point[0] == "before":
            sync(device)
            started = time.perf_counter()
        elif point[0] == "after":
            sync(device)
            times.append(time.perf_counter() - started)
            if len(times) == count:
                break
        else:
            break  # the epoch ended first
    run.close()
    return statistics.median(times[1:] or times)


def _timed(fn: Callable[[], None], device: torch.device, repeats: int) -> float:
    """The median seconds of `repeats` calls of `fn`, each timed with the device's queue drained before and after
    (the median: one call slowed by another program on the machine does not make the epoch look slower)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda _device: None)
    times = []
    for _ in range(repeats):
        sync(device)
        started = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _as_project(project: Project | dict) -> Project:
    """A Project from a Project or its dict (the app's snapshot)."""
    from graph_builder.project import project_from_dict

    return project_from_dict(project) if isinstance(project, dict) else project


def _without_weight_sources(project: Project | dict) -> Project:
    """A copy of `project` that starts from random weights: time and memory depend on shapes, not on values."""
    from graph_builder.project import project_from_dict, project_to_dict

    data = project_to_dict(_as_project(project))
    data.get("meta", {}).pop("pretrained", None)
    return project_from_dict(data)


def _splits(dataset: dict, folder: Path | None) -> tuple[Any, bool]:
    """(the dataset's splits, False); (random ones of its shape, True) when its files are not here."""
    from graph_builder.datafit import describe_builtin
    from runtime.data import DataError, Splits, load_splits

    config = dict(dataset)
    if config.get("path") and folder is not None and not Path(config["path"]).is_absolute():
        config["path"] = str(folder / config["path"])
    try:
        return load_splits(config), False
    except DataError:
        description = describe_builtin(config)
        if description is None:
            raise
    rng = np.random.default_rng(0)
    n = 64
    x = rng.standard_normal((n, *description.input_shape)).astype(np.float32)
    if description.classes:
        y = rng.integers(0, len(description.classes), n)
    else:
        y = rng.standard_normal((n, *description.target_shape)).astype(np.float32)
    arrays = {"train": (x, y), "val": (x[:8], y[:8]), "test": (x[:8], y[:8])}
    return Splits(config["name"], description.label, description.kind, tuple(description.classes or ()),
                  description.image, arrays), True
