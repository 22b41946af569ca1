"""What each task does with torch, registered by its spec's id (graph_builder.tasks says what it is).

    runtime = task_runtime(project.task())      # or task_runtime("vae")
    built, s = runtime.build(setup)             # what the loop drives
    views = runtime.views(built, setup, s)      # its dashboard's events
    part = runtime.script(project, setup)       # its part of the exported training script

A test checks that every registered spec has a runtime (and the reverse), as a layer has a lowering.
"""

from __future__ import annotations

from graph_builder.tasks import TASKS, TaskSpec
from runtime.tasks.base import Objective, Sampler, ScriptPart, Setup, TaskRuntime, Views
from runtime.tasks.classification import ClassificationRuntime
from runtime.tasks.forecasting import ForecastingRuntime
from runtime.tasks.gan import GANRuntime
from runtime.tasks.reconstruction import ReconstructionRuntime
from runtime.tasks.regression import RegressionRuntime
from runtime.tasks.vae import VAERuntime

RUNTIMES: dict[str, TaskRuntime] = {}


class UnknownTaskError(KeyError):
    """A task id with no runtime registered (a spec registered without its runtime half)."""


def register_runtime(runtime: TaskRuntime) -> TaskRuntime:
    """Add a task's runtime half; its spec must be registered (graph_builder.tasks.register) and its id new."""
    task_id = runtime.spec.id
    if task_id in RUNTIMES:
        raise ValueError(f"the runtime of task {task_id!r} is registered twice")
    if TASKS.get(task_id) is not runtime.spec:
        raise ValueError(f"task {task_id!r} has no registered spec; register its spec first")
    RUNTIMES[task_id] = runtime
    return runtime


def unregister_runtime(task_id: str) -> None:
    """Remove a runtime that a test registered."""
    RUNTIMES.pop(task_id, None)


def task_runtime(task: TaskSpec | str) -> TaskRuntime:
    """The runtime half of `task` (a spec or its id)."""
    task_id = task if isinstance(task, str) else task.id
    try:
        return RUNTIMES[task_id]
    except KeyError:
        raise UnknownTaskError(f"task {task_id!r} has no runtime; known: {', '.join(RUNTIMES)}") from None


for _runtime in (ClassificationRuntime(), RegressionRuntime(), ForecastingRuntime(), ReconstructionRuntime(),
                 VAERuntime(), GANRuntime()):
    register_runtime(_runtime)

__all__ = ["RUNTIMES", "Objective", "Sampler", "ScriptPart", "Setup", "TaskRuntime", "UnknownTaskError", "Views",
           "register_runtime", "task_runtime", "unregister_runtime"]
