"""A run made ready: its settings read and checked, its data on the device, its task's model and optimisers built.

    settings = read_settings(project, module=None, dataset={}, training={"epochs": 2})
    ready = prepare(settings, module=None, splits=None, project_path=None)
    ready.built     # what the loop drives (runtime.train.loop.Built)
    ready.spec      # the task (graph_builder.tasks), ready.runtime its runtime half (runtime.tasks)

The task is resolved here, once, from the settings, the data's kind and the main network; nothing
after this asks for it by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from graph_builder.tasks import TaskSpec, resolve
from runtime.data import DeviceSplit, Splits, dataset_config, load_splits
from runtime.train.devices import select_device
from runtime.train.errors import ModelDataMismatchError, TrainingSettingError
from runtime.train.loop import Built, batches_per_epoch
from runtime.train.optim import amp_dtype
from runtime.train.runlog import read_config

if TYPE_CHECKING:  # runtime.tasks builds on this package's engine: imported where it is used
    from graph_builder.project import Project
    from runtime.tasks import Setup, TaskRuntime

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class Settings:
    """A run's project and its settings, every default filled in, and the snapshot the run's configuration records."""

    project: Project | None  # None for a module given in code
    t: dict
    d: dict
    snapshot: dict


def read_settings(project: Project | dict | None, module: nn.Module | None, dataset: dict | None, training: dict | None,
                  resume: bool = False, run_dir: Path | None = None) -> Settings:
    """The project (a Project or its dict; on resume, the run's own) with `dataset`/`training` overrides applied."""
    from graph_builder.errors import ProjectError
    from graph_builder.project import Project, project_from_dict, project_to_dict
    from graph_builder.settings import validate_training_section

    if project is None and module is None and resume and run_dir is not None:
        project = read_config(run_dir).get("project")
    if isinstance(project, dict):
        project = project_from_dict(project)
    if project is not None and not isinstance(project, Project):
        raise TypeError(f"train() takes a Project or its dict, not {type(project).__name__}")
    if project is None and module is None:
        raise TrainingSettingError("nothing to train: give a project (with a graph) or a module")
    values = {**(project.training if project else {}), **(training or {})}
    try:
        t = validate_training_section(values, "$.training", fill_defaults=True)
    except ProjectError as exc:
        raise TrainingSettingError(f"training setting {exc.path.removeprefix('$.training.')}: "
                                   f"{exc.message}") from None
    d = dataset_config({**(project.dataset if project else {}), **(dataset or {})})
    snapshot = project_to_dict(project) if project else {"dataset": {}, "training": {}}
    snapshot["dataset"], snapshot["training"] = dict(d), dict(t)
    if module is not None:
        for key in ("networks", "main", "graph"):
            snapshot.pop(key, None)  # the networks did not make this model
    return Settings(project, t, d, snapshot)


@dataclass
class Ready:
    """A run's task, its data on the device and what the loop drives, set up once."""

    spec: TaskSpec
    runtime: TaskRuntime
    setup: Setup
    built: Built
    s: dict  # the task's plain settings (loss, classes, monitor …): recorded, and what a script is written with


def place(splits: Splits, device: torch.device, target_dtype: torch.dtype | None) -> dict[str, DeviceSplit]:
    """The three splits as tensors, on the device when they fit (DESIGN.md decision 7)."""
    return {k: DeviceSplit.from_arrays(*splits[k], device, target_dtype) for k in SPLIT_NAMES}


def check_fit(spec: TaskSpec, settings: Settings, description, module: nn.Module | None) -> None:
    """The one model-against-data check (the task's fit problems), before anything is built."""
    from graph_builder.shapes import infer_shapes

    problem = spec.data_problem(description)
    if problem:
        raise TrainingSettingError(problem)
    project = settings.project
    if module is not None or project is None:
        return  # a module given in code: its task's build probes it
    issues = spec.fit_problems(project.graph, infer_shapes(project.graph), description, settings.t, project)
    if issues:
        raise ModelDataMismatchError(issues[0].message)


def prepare(settings: Settings, module: nn.Module | None = None, splits: Splits | None = None,
            project_path: str | os.PathLike | None = None, loaded=None) -> Ready:
    """Seed, choose the device, load and check the data, resolve the task and build what it trains.

    `loaded(splits)` is told once the data is loaded (the trainer's failure words depend on it).
    """
    from runtime.data import describe_splits
    from runtime.tasks import Setup, task_runtime  # here: runtime.tasks builds on this package's engine

    t = settings.t
    torch.manual_seed(t["seed"])
    device = select_device(t["device"])
    amp = amp_dtype(device, t["mixed_precision"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    splits = splits if splits is not None else load_splits(settings.d)
    if loaded is not None:
        loaded(splits)
    description = describe_splits(splits, settings.d)
    graph = settings.project.graph if settings.project is not None and module is None else None
    spec = resolve(t, description.kind, graph)
    check_fit(spec, settings, description, module)
    runtime = task_runtime(spec)
    data = place(splits, device, runtime.target_dtype)
    setup = Setup(settings.project, module, t, splits, description, data, device, amp,
                  batches_per_epoch(len(data["train"]), t["batch_size"]), project_path)
    built, s = runtime.build(setup)
    return Ready(spec, runtime, setup, built, s)
