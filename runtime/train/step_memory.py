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

import torch

from runtime.train.dry_run import prepare_step

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
    prepared = prepare_step(project, batch_size, device, project_path)
    s, built, bs, step = prepared.setup, prepared.built, prepared.batch_size, prepared.step
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
