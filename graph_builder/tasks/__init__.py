"""The task registry: classification, regression, forecasting, reconstruction, VAE and GAN, each in its module.

    spec = project_task(project)           # what this project trains
    spec.monitors(num_classes=10)          # the `monitor` values it accepts
    spec = run_task(config)                # what a run's configuration says it trained

Resolution is the only code that reads `task`, `generator`, `discriminator` and looks for a latent
layer: tasks are tried highest `priority` first and the first that claims the project is it. The
stored settings keep their old vocabulary (`task` is auto, classification, regression, forecasting or
reconstruction; a GAN is its roles set; a VAE is reconstruction with a Gaussian latent layer), so
older files open unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph_builder.graph import Graph
from graph_builder.protocols import NetworksLike, ProjectLike
from graph_builder.tasks.base import LOSS, MAIN, Metric, Role, SupervisedTask, TaskSettingError, TaskSpec
from graph_builder.tasks.classification import CLASSIFICATION
from graph_builder.tasks.forecasting import FORECASTING
from graph_builder.tasks.gan import GAN, GanTask
from graph_builder.tasks.reconstruction import RECONSTRUCTION, has_latent
from graph_builder.tasks.regression import REGRESSION
from graph_builder.tasks.vae import VAE

TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task to the registry (a task module, or a test's own task); its id must be new."""
    if spec.id in TASKS:
        raise ValueError(f"task {spec.id!r} is registered twice")
    TASKS[spec.id] = spec
    return spec


def unregister(task_id: str) -> None:
    """Remove a task that a test registered."""
    TASKS.pop(task_id, None)


for _spec in (CLASSIFICATION, REGRESSION, FORECASTING, RECONSTRUCTION, VAE, GAN):
    register(_spec)

# The stored `task` setting's vocabulary: what project files have always held.
SELECTABLE = ("auto", "classification", "regression", "forecasting", "reconstruction")


def by_priority() -> list[TaskSpec]:
    """Every registered task, the one tried first first."""
    return sorted(TASKS.values(), key=lambda s: -s.priority)


def resolve(training: Mapping[str, Any], data_kind: str | None = None, graph: Graph | None = None) -> TaskSpec:
    """The task of a training section, for data of `data_kind` (its target kind; None when not known) and a
    main network `graph` (None when not known: a VAE then reads as reconstruction)."""
    for spec in by_priority():
        if spec.claims(training, data_kind, graph):
            return spec
    return CLASSIFICATION


def project_task(project: ProjectLike, data_kind: str | None = None,
                 training: Mapping[str, Any] | None = None) -> TaskSpec:
    """The task `project` trains (its training section, or `training`; its main network; its data's kind when known)."""
    return resolve(project.training if training is None else training, data_kind, project.graph)


ROLE_TAG = "gan_roles"  # the settings that name a task's networks: offered once a second network stands alone


def offered_tags(project: ProjectLike, training: Mapping[str, Any] | None = None,
                 data_kind: str | None = None) -> frozenset[str]:
    """The Field.tags whose settings apply to `project` with these training values (its own by default).

    Its task's tags, plus the network roles once two networks stand alone (no Block uses them): a user
    can make a GAN from scratch while a classifier's form stays free of them, its block networks included.
    """
    spec = project_task(project, data_kind, training)
    return spec.setting_tags | ({ROLE_TAG} if _standing_alone(project.networks) >= 2 else frozenset())


def _standing_alone(networks: NetworksLike) -> int:
    """How many networks no Block stands for: those a run could give a role of its own."""
    used = {node.params.get("network") for name in networks for node in networks[name].nodes.values()
            if node.type_id == "Block"}
    return sum(1 for name in networks if name not in used)


def run_task(config: Mapping[str, Any]) -> TaskSpec:
    """The task a run trained, from its configuration: `resolved.task`, older runs' names mapped.

    Runs before tasks were registered recorded a VAE as "reconstruction": a Gaussian latent layer in
    the run's project snapshot makes it a VAE. A run that records no task was a classifier.
    """
    resolved = config.get("resolved")
    task_id = resolved.get("task") if isinstance(resolved, Mapping) else None
    spec = TASKS.get(task_id) if isinstance(task_id, str) else None
    if spec is None:
        return CLASSIFICATION
    if spec is RECONSTRUCTION and _snapshot_has_latent(config.get("project")):
        return VAE
    return spec


def _snapshot_has_latent(snapshot: Any) -> bool:
    if not isinstance(snapshot, Mapping):
        return False
    graphs = [n.get("graph") for n in snapshot.get("networks") or () if isinstance(n, Mapping)]
    graphs.append(snapshot.get("graph"))
    return any(isinstance(g, Mapping) and any(isinstance(node, Mapping) and node.get("type") == "GaussianLatent"
                                              for node in g.get("nodes") or ()) for g in graphs)


def all_monitors() -> tuple[str, ...]:
    """Every `monitor` value some task accepts (the field's choices: a file is checked against its task)."""
    seen: dict[str, None] = {}
    for spec in TASKS.values():
        seen.update(dict.fromkeys(m for m in spec.monitors() if m != "train_loss"))
    return (*seen, "train_loss")


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of metric `key` is better (losses and errors), by any task that reports it."""
    for spec in TASKS.values():
        for m in spec.metrics:
            if m.key == key:
                return m.lower_is_better
    return key.endswith("loss")


__all__ = [
    "CLASSIFICATION", "FORECASTING", "GAN", "LOSS", "MAIN", "RECONSTRUCTION", "REGRESSION", "ROLE_TAG", "SELECTABLE", "TASKS", "VAE",
    "GanTask", "Metric", "Role", "SupervisedTask", "TaskSettingError", "TaskSpec", "all_monitors", "by_priority",
    "has_latent", "lower_is_better", "offered_tags", "project_task", "register", "resolve", "run_task",
    "unregister",
]
