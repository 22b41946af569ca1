"""What one real training step holds in memory, measured (the check on graph_builder.memory's estimate).

    measured = measure_step(project, batch_size=32)
    measured.peak        # bytes live at the step's highest point: weights, gradients, optimiser state,
                         # the batch, the saved activations and every temporary

The step is the trainer's own (runtime.train.setup builds the task's model, objective, optimiser and
step); one step first fills the gradients and the optimiser's state, as in every step after the
first, then the second step runs under torch's profiler with `profile_memory=True`. On the CPU the
profiler's allocation events carry the allocator's running total, so their highest value is the
step's peak above what was live when it began; what was live that belongs to the step (weights,
gradients, optimiser state) is counted from the tensors themselves. On CUDA the allocator's own
peak (`torch.cuda.max_memory_allocated`) replaces the profiler. A dataset whose files are not here
(a download not yet made) is replaced by random samples of its shape, and pretrained weights by random ones: memory depends on shapes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from graph_builder.project import Project

# the step's model-resident part: parameters, their gradients, the optimiser's state tensors
RESIDENT = ("params", "grads", "state")


@dataclass(frozen=True)
class StepMemory:
    """One measured step: its peak and what was resident before it (bytes)."""

    peak: int
    params: int
    grads: int
    state: int
    batch_size: int
    device: str

    @property
    def resident(self) -> int:
        return self.params + self.grads + self.state


def measure_step(project: Project, batch_size: int | None = None, device: str = "cpu",
                 project_path: str | Path | None = None) -> StepMemory:
    """The peak bytes of one steady-state training step of `project` at `batch_size` (the project's by default)."""
    from runtime.train.loop import Loop
    from runtime.train.setup import prepare, read_settings

    training = {"device": device, "mixed_precision": False, **({"batch_size": batch_size} if batch_size else {})}
    settings = read_settings(_without_weight_sources(project), None, None, training)
    folder = Path(project_path).parent if project_path else None
    ready = prepare(settings, splits=_splits(settings.d, folder))
    s = ready.setup
    loop = Loop(ready.built, s.data, s.t, s.device, s.amp)
    built, bs = ready.built, s.t["batch_size"]
    xb, yb = next(s.data["train"].batches(bs, torch.arange(min(bs, len(s.data["train"])))))
    built.model.train()
    built.objective.begin_epoch(1)

    def step() -> None:
        built.step(built.objective, xb.clone(), yb.clone(), None, loop.noise, s.splits.image)

    if s.device.type == "cuda":
        step()  # the gradients and the optimiser's state now exist, as in every step after the first
        torch.cuda.synchronize(s.device)
        torch.cuda.reset_peak_memory_stats(s.device)
        start = torch.cuda.memory_allocated(s.device)
        params, grads, state = _resident(built)
        step()
        torch.cuda.synchronize(s.device)
        above = torch.cuda.max_memory_allocated(s.device) - start
    else:
        above, (params, grads, state) = _profiled_peak(step, lambda: _resident(built))
    return StepMemory(params + grads + state + above, params, grads, state, bs, s.device.type)


def _profiled_peak(step, resident) -> tuple[int, tuple]:
    """The highest bytes above its start that the CPU allocator held during a second call of `step`.

    Both calls run under the profiler: the second frees the gradients the first made, and the
    allocator reports only the frees of blocks it saw allocated while profiling."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
        held = resident()
        with record_function(_MARK):
            step()
    stack, allocations, window = list(prof.profiler.kineto_results.experimental_event_tree()), [], None
    while stack:
        event = stack.pop()
        stack.extend(event.children)
        if event.tag == _EventType.Allocation:
            allocations.append((event.start_time_ns, event.extra_fields.alloc_size))
        elif event.name == _MARK:
            window = (event.start_time_ns, event.end_time_ns)
    running, start, peak = 0, None, 0
    for time, size in sorted(allocations):
        if start is None and time >= window[0]:
            start = running
        running += size
        if start is not None and time <= window[1]:
            peak = max(peak, running - start)
    return peak, held


_MARK = "netcanvas.measured_step"


def _without_weight_sources(project: Project) -> Project:
    """A copy of `project` that starts from random weights: memory depends on shapes, not on values."""
    from graph_builder.project import project_from_dict, project_to_dict

    data = project_to_dict(project)
    data.get("meta", {}).pop("pretrained", None)
    return project_from_dict(data)


def _resident(built) -> tuple[int, int, int]:
    """Bytes of the parameters, their gradients and every optimiser's state (each storage once)."""
    seen: set[int] = set()

    def size(tensors) -> int:
        total = 0
        for t in tensors:
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in seen:
                seen.add(t.untyped_storage().data_ptr())
                total += t.untyped_storage().nbytes()
        return total

    params = list(built.model.parameters())
    state = [v for opt in _optimizers(built) for per in opt.state.values() for v in per.values()]
    return size(params), size(p.grad for p in params), size(state)


def _optimizers(built) -> list:
    from runtime.train.optim import Optimizers

    opt = built.optimizer
    return list(opt.optimizers.values()) if isinstance(opt, Optimizers) else [opt]


def _splits(dataset: dict, folder: Path | None):
    """The dataset's splits; random ones of its shape when its files are not here (memory needs shapes only)."""
    from graph_builder.datafit import describe_builtin
    from runtime.data import DataError, Splits, load_splits

    config = dict(dataset)
    if config.get("path") and folder is not None and not Path(config["path"]).is_absolute():
        config["path"] = str(folder / config["path"])
    try:
        return load_splits(config)
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
                  description.image, arrays)
