"""What a task is, declared once: its networks, losses, metrics, settings and views (torch-free, Qt-free).

A task's runtime half (runtime.tasks: objective, build, samples, exports, its part of the script)
and its Qt views (app.tasks) are joined to its spec by the task's id, as a LayerSpec is joined to
its lowering. Nothing outside the tasks packages tests a task's name: callers ask the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from graph_builder.data_description import DataDescription
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Graph
from graph_builder.protocols import ProjectLike
from graph_builder.shapes import ShapeReport
from graph_builder.tasks.fit import class_output_issues, input_issues, range_issues, value_output_issues
from graph_builder.validation import ERROR, Issue


class TaskSettingError(GraphBuilderError, ValueError):
    """A training setting that does not fit the task (a class loss for values, a monitor it has not got)."""


@dataclass(frozen=True)
class Metric:
    """One measure a task reports per split; `key` is its name in the epoch and finished events."""

    key: str
    label: str  # short, in a sentence or a table: "accuracy", "MAE"
    title: str  # a plot's title: "Accuracy", "Mean absolute error"
    lower_is_better: bool
    monitorable: bool = True  # may be `monitor`, early stopping's measure and an experiment's metric
    two_classes_only: bool = False  # ROC-AUC
    fmt: str = ".4g"  # how a summary writes a value: ".2%" for accuracy, ".3f" for scores in 0–1

    def words(self, value: float) -> str:
        """The value as a run's summary writes it: "accuracy 96.66%", "MAE 0.1234"."""
        return f"{self.label} {value:{self.fmt}}"


@dataclass(frozen=True)
class Role:
    """A network the task trains: the main network (`setting` None), or the one a training setting names."""

    name: str  # "model", "generator", "discriminator": keys of the run's weights and of exports
    setting: str | None
    class_name: str  # what codegen, the script and the exports call its class


MAIN = (Role("model", None, "Net"),)

LOSS = Metric("loss", "loss", "Loss", lower_is_better=True)

Target = Literal["labels", "values", "input", "none"]


@dataclass(frozen=True)
class TaskSpec:
    """One task. Instances are frozen and registered by their module (graph_builder.tasks.register)."""

    id: str  # recorded as a run's `resolved.task`
    title: str
    priority: int  # resolution order, highest first: gan 30 > vae 20 > reconstruction 10 > supervised 0
    target: Target  # what the model's output is compared with
    metrics: tuple[Metric, ...]  # LOSS first; every key the task's epoch events carry
    headline: str  # the metric key the dashboard plots, the runs list shows and a template card cites
    views: tuple[str, ...]  # view ids, matched by app.tasks' registered views, in display order
    setting_tags: frozenset[str]  # the Field.tags whose settings apply to this task
    losses: tuple[str, ...] = ()  # allowed `loss` values, the first is what "auto" means; () = its own loss
    roles: tuple[Role, ...] = MAIN
    epochs_ranked: bool = True  # False: epochs have no best (a GAN samples and exports its last weights)
    distributed: bool = True  # the exported script may run under torchrun
    summary_keys: tuple[str, ...] = ()  # the test metrics a finished run's one-line summary names
    per_class: tuple[str, ...] = ()  # list-valued keys its metric dicts also hold, one value per class
    own_settings: tuple = ()  # schema Fields it adds to the training section (tagged with its setting_tags)
    sample_role: str | None = None  # the role whose Output imitates the data (an autoencoder's, a generator's)

    # ------------------------------------------------------------ metrics

    def metric(self, key: str) -> Metric:
        """The task's metric `key`; KeyError when it has none by that name."""
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(key)

    def metrics_for(self, num_classes: int) -> tuple[Metric, ...]:
        """The metrics a run of this task reports with `num_classes` classes (AUC needs exactly two)."""
        return tuple(m for m in self.metrics if not m.two_classes_only or num_classes == 2)

    def monitors(self, num_classes: int = 2) -> tuple[str, ...]:
        """The `monitor` values this task accepts ("val_accuracy", …, then "train_loss")."""
        keys = [m.key for m in self.metrics_for(num_classes) if m.monitorable]
        return (*(f"val_{k}" for k in keys), "train_loss")

    def monitor(self, name: str, num_classes: int, has_val: bool) -> tuple[str, Metric]:
        """(split, metric) of a monitor such as "val_accuracy" (train when there is no validation split)."""
        split, _, key = name.partition("_")
        if name not in self.monitors(num_classes):
            raise TaskSettingError(f"monitor {name} does not exist for a {self.title.lower()} run; choose one of "
                                   f"{', '.join(self.monitors(num_classes))}")
        return ("val" if split == "val" and has_val else "train"), self.metric(key)

    def summary(self, test: Mapping[str, Any]) -> str:
        """A finished run's test metrics in one line ("test accuracy 96.66 %, macro F1 0.965")."""
        parts = [self.metric(k).words(test[k]) for k in self.summary_keys
                 if isinstance(test.get(k), (int, float)) and not isinstance(test.get(k), bool)]
        return ("test " + ", ".join(parts)) if parts else ""

    def headline_words(self, metrics: Mapping[str, Any]) -> str:
        """The headline metric of `metrics` in words, or "" when it is missing."""
        value = metrics.get(self.headline)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return ""
        return self.metric(self.headline).words(value)

    # ------------------------------------------------------------ settings

    def resolve_loss(self, loss: str) -> str | None:
        """The loss this task trains with for the `loss` setting ("auto" resolved); None: its own loss."""
        if not self.losses:
            return None
        if loss == "auto":
            return self.losses[0]
        if loss not in self.losses:
            raise TaskSettingError(f"loss {loss} does not fit a {self.title.lower()} run; use "
                                   f"{', '.join(self.losses)}")
        return loss

    def settings_problems(self, training: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(setting, message) for each setting that contradicts the task; [] when the section fits.

        The monitor is checked where the number of classes is known (`monitor`).
        """
        problems = []
        loss = training.get("loss", "auto")
        if self.losses and loss != "auto" and loss not in self.losses:
            problems.append(("loss", f"loss {loss} does not fit a {self.title.lower()} run; use "
                                     f"{', '.join(self.losses)}"))
        return problems

    def offers(self, tags: frozenset[str]) -> bool:
        """Whether a setting with these Field.tags applies to this task (untagged settings apply to all)."""
        return not tags or bool(tags & self.setting_tags)

    # ------------------------------------------------------------ networks

    def networks(self, project: ProjectLike) -> dict[str, str | None]:
        """Role name -> network name of `project` (the main network for the main role; None: not named)."""
        training = project.training
        return {r.name: (project.networks.main if r.setting is None else training.get(r.setting) or None)
                for r in self.roles}

    def graphs(self, project: ProjectLike) -> dict[str, Graph | None]:
        """Role name -> the network's graph (None where the setting names no network of the project)."""
        names = self.networks(project)
        return {role: project.networks[name] if name is not None and name in project.networks else None
                for role, name in names.items()}

    # ------------------------------------------------------------ the data

    def fit_problems(self, graph: Graph, shapes: ShapeReport, description: DataDescription,
                     training: Mapping[str, Any], project: ProjectLike | None = None) -> list[Issue]:
        """Every way the main network `graph` (of `project`, when known) does not fit the described data."""
        problem = self.data_problem(description)
        if problem:
            return [Issue(ERROR, "fit-task", problem)]
        issues = input_issues(graph, description)
        if self.target == "labels":
            issues += class_output_issues(graph, shapes, description, training.get("loss") or "auto")
        elif self.target == "values":
            issues += value_output_issues(graph, shapes, description, description.target_shape,
                                              "regression target")
        elif self.target == "input":
            issues += value_output_issues(graph, shapes, description, description.input_shape,
                                              "reconstruction target (the input)")
        return issues

    def range_problems(self, graph: Graph, description: DataDescription,
                       project: ProjectLike | None = None) -> list[Issue]:
        """Warnings where the samples this task makes can leave, or cannot fill, the data's range (none when it
        makes no samples)."""
        if self.sample_role is None:
            return []
        made = graph if self.sample_role == MAIN[0].name else \
            self.graphs(project).get(self.sample_role) if project is not None else None
        return range_issues(made, description, tied=made is graph) if made is not None else []

    def data_problem(self, description: DataDescription) -> str | None:
        """Why this task cannot train on data of this kind at all (a classifier on values), or None."""
        return None

    def classes(self, description: DataDescription | None) -> tuple[str, ...]:
        """The class names a run of this task scores (its labels' names; () when it predicts no classes)."""
        return tuple(description.classes) if description is not None and self.target == "labels" else ()

    # ------------------------------------------------------------ resolution

    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Graph | None) -> bool:
        """Whether a project with these training settings, data of this kind and this main graph is this task."""
        raise NotImplementedError


@dataclass(frozen=True)
class SupervisedTask(TaskSpec):
    """A task named by the `task` setting, or by the data's own kind when `task` is auto."""

    data_kind: str | None = None  # the data kind (data_description.CLASSES or VALUES) that makes `auto` this task
    default: bool = False  # the task of `auto` when the data's kind is not known
    names: tuple[str, ...] = field(default=())  # the `task` values that name this task
    wrong_data: str = ""  # why data of another kind does not fit, with the fix; {label} is the data's

    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Graph | None) -> bool:
        task = training.get("task") or "auto"
        if task in self.names:
            return True
        return task == "auto" and (data_kind == self.data_kind or (data_kind is None and self.default))

    def data_problem(self, description: DataDescription) -> str | None:
        if self.data_kind is None or description.kind == self.data_kind:
            return None
        return self.wrong_data.format(label=description.label, kind=description.kind)
