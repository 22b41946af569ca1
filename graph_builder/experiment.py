"""The experiment section of a project: what a hyperparameter search varies and what it optimises.

    {"metric": "val_accuracy", "direction": "auto", "trials": 16, "method": "tpe", "pruner": "median",
     "space": [{"network": "Net", "node": "n3", "param": "out_features", "low": 32, "high": 256},
               {"setting": "lr", "low": 1e-4, "high": 1e-1, "log": true},
               {"setting": "optimizer", "choices": ["adam", "sgd"]}]}

A dimension of the space is a node parameter (network, node id, param) or a training setting,
searched over an int or float range (optionally on a log scale) or a list of choices. Its values
are checked by the Field of what it varies (one schema with layer parameters and settings), so a
range the parameter itself refuses is refused here. The section is an evented model changed only
through reversible commands (DESIGN.md decision 11); runtime.tune.study runs it with Optuna. Pure
Python: no torch, no Qt, no optuna.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from collections.abc import Iterator

from psygnal import Signal, SignalGroup

from graph_builder.errors import EditError, ParamError, ProjectError
from graph_builder.schema import Field
from graph_builder.settings import training_fields
from graph_builder.protocols import ProjectLike, TrialSource, TrialTarget
from graph_builder.task_scope import data_kind, task_of
from graph_builder.tasks import all_monitors, lower_is_better, offered_tags

METHODS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
DIRECTIONS = ("auto", "maximize", "minimize")
MAX_DIMENSIONS = 32
MAX_CHOICES = 64
MAX_GRID = 10_000

EXPERIMENT_FIELDS = (
    Field("metric", "choice", "val_loss", "The per-epoch metric a trial is judged by (its best epoch).",
          choices=all_monitors(), label="metric"),
    Field("direction", "choice", "auto", "auto: losses and errors are minimised, scores maximised.",
          choices=DIRECTIONS, label="direction"),
    Field("trials", "int", 20, "How many trials the study runs in all (a grid runs at most its size).",
          min=1, max=100_000, label="trials"),
    Field("method", "choice", "tpe", "grid: every combination; random; tpe: Bayesian (Optuna's TPE).",
          choices=METHODS, label="method"),
    Field("pruner", "choice", "median", "median: stop a trial whose metric is below the median of earlier "
          "trials at the same epoch.", choices=PRUNERS, label="pruning"),
    Field("seed", "int", 0, "Seed of the sampler.", min=0, max=2**31 - 1, label="seed"),
)
_FIELDS = {f.name: f for f in EXPERIMENT_FIELDS}
def _training() -> dict[str, Field]:
    """The training settings a search may vary, as registered now (a task may add its own)."""
    return {f.name: f for f in training_fields()}
_DIMENSION_KEYS = {"network", "node", "param", "setting", "low", "high", "log", "step", "points", "choices"}


class ExperimentError(ProjectError):
    """An experiment setting or search dimension that cannot work; `path` names where."""


# ---------------------------------------------------------------- one dimension


@dataclass(frozen=True)
class Dimension:
    """One searched value: a node parameter (network, node, param) or a training setting (setting)."""

    param: str | None = None
    network: str | None = None
    node: str | None = None  # the node's id: stable when the node is renamed
    setting: str | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: int | None = None  # int ranges: the grid's stride
    points: int = 3  # float ranges: how many values a grid takes
    choices: tuple = ()

    @property
    def key(self) -> str:
        """The name Optuna knows it by: `training/lr` or `Net/n3/out_features`."""
        return f"training/{self.setting}" if self.setting else f"{self.network}/{self.node}/{self.param}"

    @property
    def kind(self) -> str:
        """'choice', 'int' or 'float'."""
        if self.choices:
            return "choice"
        return "int" if isinstance(self.low, int) and isinstance(self.high, int) else "float"

    def label(self, project: ProjectLike | None = None) -> str:
        """What people read: `lr`, `hidden.out_features` (the node's current name when the project has it)."""
        if self.setting:
            return self.setting
        name = self.node
        if project is not None:
            graph = project.networks.get(self.network)
            if graph is not None and self.node in graph.nodes:
                name = graph.nodes[self.node].name
        prefix = "" if project is None or len(project.networks) == 1 else f"{self.network}."
        return f"{prefix}{name}.{self.param}"

    def field(self, project: ProjectLike) -> Field:
        """The schema Field of what this dimension varies; ExperimentError when it no longer exists."""
        if self.setting:
            return _training()[self.setting]
        graph = project.networks.get(self.network)
        if graph is None:
            raise ExperimentError(f"the search varies {self.label()}, but the project has no network "
                                  f"{self.network!r} any more; remove it from the search space", "$.experiment")
        node = graph.nodes.get(self.node) if self.node is not None else None
        if node is None:
            raise ExperimentError(f"the search varies {self.param} of node {self.node}, which is no longer in "
                                  f"network {self.network}; remove it from the search space", "$.experiment")
        try:
            return node.spec.param(str(self.param))  # a node's dimension names its parameter (read_dimension)
        except KeyError:
            raise ExperimentError(f"the search varies {node.name}.{self.param}, but {node.name} ({node.type_id}) "
                                  f"has no parameter {self.param!r}; remove it from the search space",
                                  "$.experiment") from None

    def bounds(self) -> tuple[float, float]:
        """(low, high) of a range dimension (a choice dimension has none)."""
        if self.low is None or self.high is None:
            raise ExperimentError(f"the search over {self.label()} is a list of choices, not a range", "$.experiment")
        return self.low, self.high

    def values(self) -> list:
        """Every value a grid search tries."""
        if self.choices:
            return list(self.choices)
        low, high = self.bounds()
        if self.kind == "int":
            step = self.step or 1
            if self.log:
                out, v = [], int(low)
                while v <= high:
                    out.append(v)
                    v = max(v + 1, v * 2)
                return out
            return list(range(int(low), int(high) + 1, step))
        if self.log:
            a, b = math.log(low), math.log(high)
            return [math.exp(a + (b - a) * i / (self.points - 1)) for i in range(self.points)]
        return [low + (high - low) * i / (self.points - 1) for i in range(self.points)]

    def to_dict(self) -> dict:
        out: dict[str, Any] = ({"setting": self.setting} if self.setting else
                               {"network": self.network, "node": self.node, "param": self.param})
        if self.choices:
            out["choices"] = list(self.choices)
            return out
        out.update(low=self.low, high=self.high)
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        if self.kind == "float" and self.points != 3:
            out["points"] = self.points
        return out


def read_dimension(raw: Any, path: str = "$.experiment.space[0]", project: ProjectLike | None = None,
                   strict: bool = True) -> Dimension:
    """A Dimension from its JSON form, its range checked (against what it varies when `project` is given).

    With `strict=False` a node parameter the project no longer has is read as it stands (a file
    still opens after the node was deleted; `Experiment.problems` reports it).
    """
    if not isinstance(raw, Mapping):
        raise ExperimentError("a search dimension must be an object", path)
    for key in raw:
        if key not in _DIMENSION_KEYS:
            raise ExperimentError(f"unknown key {key!r} in a search dimension (allowed: "
                                  f"{', '.join(sorted(_DIMENSION_KEYS))})", path)
    setting = raw.get("setting")
    if setting is not None:
        if setting not in _training() or setting == "device":
            raise ExperimentError(f"{setting!r} is not a training setting a search can vary; known settings: "
                                  f"{', '.join(n for n in _training() if n != 'device')}", f"{path}.setting")
        where = {"setting": setting}
    else:
        for key in ("network", "node", "param"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ExperimentError(f"a search dimension names a training setting (setting) or a node parameter "
                                      f"(network, node, param); {key} is missing", f"{path}.{key}")
        where = {"network": raw["network"], "node": raw["node"], "param": raw["param"]}
    probe = Dimension(**where)
    target = _training()[setting] if setting else None
    if project is not None and not setting:
        try:
            target = probe.field(project)
        except ExperimentError:
            if strict:
                raise
    name = probe.label(project)
    if "choices" in raw:
        choices = raw["choices"]
        if not isinstance(choices, (list, tuple)) or len(choices) < 2 or len(choices) > MAX_CHOICES:
            raise ExperimentError(f"the choices of {name} must be a list of 2 to {MAX_CHOICES} values",
                                  f"{path}.choices")
        if any(k in raw for k in ("low", "high", "log", "step", "points")):
            raise ExperimentError(f"{name} is searched over choices or a range, not both", path)
        if not all(isinstance(c, (str, int, float, bool)) for c in choices):
            raise ExperimentError(f"the choices of {name} must be numbers, texts or true/false", f"{path}.choices")
        if target is not None:
            choices = [_coerce(target, c, name, f"{path}.choices") for c in choices]
        if len(set(map(repr, choices))) != len(choices):
            raise ExperimentError(f"the choices of {name} repeat a value", f"{path}.choices")
        return Dimension(**where, choices=tuple(choices))
    if target is not None and target.kind not in ("int", "float"):
        raise ExperimentError(f"{name} takes {target.describe()}: search it over choices, not a range", path)
    for key in ("low", "high"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ExperimentError(f"the range of {name} needs low and high numbers; {key} is {value!r}",
                                  f"{path}.{key}")
    low, high = raw["low"], raw["high"]
    if target is not None and target.kind == "int":
        low, high = (_coerce(target, v, name, f"{path}.{k}") for k, v in (("low", low), ("high", high)))
    elif target is not None:
        low, high = (float(_coerce(target, v, name, f"{path}.{k}")) for k, v in (("low", low), ("high", high)))
    if not low < high:
        what = "empty" if low == high else "inverted"
        raise ExperimentError(f"the range of {name} is {what} (low {low:g}, high {high:g}); low must be below high",
                              f"{path}.high")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ExperimentError(f"log must be true or false, not {log!r}", f"{path}.log")
    if log and low <= 0:
        raise ExperimentError(f"a log-scale range of {name} must start above 0, not at {low:g}", f"{path}.low")
    step = raw.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1 or log
                             or not isinstance(low, int)):
        raise ExperimentError(f"step of {name} must be a whole number ≥ 1, for a whole-number range without log",
                              f"{path}.step")
    points = raw.get("points", 3)
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= 100:
        raise ExperimentError(f"points of {name} must be a whole number from 2 to 100", f"{path}.points")
    return Dimension(**where, low=low, high=high, log=log, step=step, points=points)


def _coerce(target: Field, value: Any, name: str, path: str) -> Any:
    try:
        return target.coerce(value)
    except ParamError as exc:
        raise ExperimentError(f"{name}: {exc}", path) from None


# ---------------------------------------------------------------- commands


class ExperimentCommand:
    """A reversible edit of the experiment section: `apply` performs it and returns its inverse."""

    @property
    def title(self) -> str:
        """What Edit ▸ Undo names."""
        return "Edit experiment"

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        raise NotImplementedError


@dataclass
class SetExperimentSetting(ExperimentCommand):
    """Set metric, direction, trials, method, pruner or seed."""

    name: str
    value: Any

    @property
    def title(self) -> str:
        return f"Set experiment {self.name}"

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        value = _setting_field(self.name).coerce(self.value)
        before = experiment._settings.get(self.name)
        had = self.name in experiment._settings
        experiment._settings[self.name] = value
        return SetExperimentSetting(self.name, before) if had else _Unset(self.name)


@dataclass
class _Unset(ExperimentCommand):
    name: str

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        value = experiment._settings.pop(self.name)
        return SetExperimentSetting(self.name, value)


@dataclass
class AddDimension(ExperimentCommand):
    """Search over one more value (it replaces a dimension of the same key: one range per value)."""

    dimension: Any  # a Dimension or its JSON form
    index: int | None = None

    title = "Search over this"

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        raw = self.dimension.to_dict() if isinstance(self.dimension, Dimension) else self.dimension
        dim = read_dimension(raw, "$.experiment.space[-]", experiment.project)
        before = list(experiment._space)
        space = [d for d in before if d.key != dim.key]
        if len(space) >= MAX_DIMENSIONS:
            raise EditError(f"a search varies at most {MAX_DIMENSIONS} values; remove one first")
        space.insert(len(space) if self.index is None else self.index, dim)
        experiment._space = space
        return _SetSpace(before, self.title)


@dataclass
class RemoveDimension(ExperimentCommand):
    """Stop searching over the value whose key is `key`."""

    key: str

    title = "Remove from search"

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        before = list(experiment._space)
        if self.key not in {d.key for d in before}:
            raise EditError(f"the search does not vary {self.key}; it varies "
                            f"{', '.join(d.key for d in before) or 'nothing yet'}")
        experiment._space = [d for d in before if d.key != self.key]
        return _SetSpace(before, self.title)


@dataclass
class _SetSpace(ExperimentCommand):
    space: list
    label: str = "Edit search space"

    @property
    def title(self) -> str:
        return self.label

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        before = list(experiment._space)
        experiment._space = list(self.space)
        return _SetSpace(before, self.label)


@dataclass
class ReplaceExperiment(ExperimentCommand):
    """Make the section hold exactly `data` (its JSON form)."""

    data: dict
    label: str = "Replace experiment"

    @property
    def title(self) -> str:
        return self.label

    def apply(self, experiment: Experiment) -> ExperimentCommand:
        settings, space = read_experiment(self.data, "$.experiment", experiment.project, strict=False)
        before = experiment.to_dict()
        experiment._settings, experiment._space = settings, space
        return ReplaceExperiment(before, self.label)


def _setting_field(name: str) -> Field:
    try:
        return _FIELDS[name]
    except (KeyError, TypeError):
        raise EditError(f"there is no experiment setting {name!r}; known settings: {', '.join(_FIELDS)}") from None


# ---------------------------------------------------------------- the section


class ExperimentEvents(SignalGroup):
    """`changed` fires once after every applied command."""

    changed = Signal()


class Experiment(Mapping):
    """The experiment section: its settings read like a dict (`experiment["trials"]`, defaults filled in),
    `space` the searched dimensions. `project`, when set, is what dimensions are checked against."""

    def __init__(self, data: Mapping | None = None, project: ProjectLike | None = None) -> None:
        self.project = project
        self.events = ExperimentEvents()
        self._settings: dict = {}
        self._space: list[Dimension] = []
        if data:
            self._settings, self._space = read_experiment(data, "$.experiment", project, strict=False)

    def apply(self, command: ExperimentCommand) -> ExperimentCommand:
        """Perform `command` and return its inverse; a refused edit raises and changes nothing."""
        inverse = command.apply(self)
        self.events.changed.emit()
        return inverse

    @property
    def space(self) -> tuple[Dimension, ...]:
        return tuple(self._space)

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self._space if d.key == key), None)

    @property
    def direction(self) -> str:
        """'maximize' or 'minimize': `direction`, or for auto what the metric is (losses fall, scores rise)."""
        if self["direction"] != "auto":
            return self["direction"]
        return "minimize" if lower_is_better(self["metric"].split("_", 1)[1]) else "maximize"

    def grid_size(self) -> int:
        """How many combinations a grid over the space has."""
        return math.prod(len(d.values()) for d in self._space) if self._space else 0

    def problems(self, project: ProjectLike | None = None) -> list[str]:
        """What keeps the search from running on `project` (its own when None): each with what to do."""
        project = project if project is not None else self.project
        out = []
        if not self._space:
            out.append("the search space is empty; add a parameter or a training setting to search over "
                       "(right-click a field ▸ Search over this)")
        for i, dim in enumerate(self._space):
            try:
                read_dimension(dim.to_dict(), f"$.experiment.space[{i}]", project)
            except ExperimentError as exc:
                out.append(exc.message)
        if project is not None:
            out += self._task_problems(project)
        if self["method"] == "grid" and self.grid_size() > MAX_GRID:
            out.append(f"the grid has {self.grid_size():,} combinations; at most {MAX_GRID:,} — narrow the ranges "
                       "or use random or tpe")
        return out

    def _task_problems(self, project: ProjectLike) -> list[str]:
        """A study trains one task: no setting it searches may change the task or be one the task ignores,
        and its metric must be one the task's runs report each epoch."""
        spec = task_of(project)
        out = []
        offered = offered_tags(project, project.training, data_kind(project.dataset))
        for dim in self._space:
            if not dim.setting:
                continue
            tags = _training()[dim.setting].tags
            if tags and not tags & offered:
                out.append(f"{spec.title} runs do not use the training setting {dim.setting}; searching it only "
                           "repeats the same trial; remove it from the search space")
                continue
            tried = dim.values() if dim.choices else [dim.low, dim.high]
            for value in tried:
                other = task_of(project, {**project.training, dim.setting: value})
                if other is not spec:
                    out.append(f"searching {dim.setting} would make some trials {other.title} runs instead of "
                               f"{spec.title} runs ({dim.setting} = {value!r}); a study compares runs of one task: "
                               f"set {dim.setting} in the Training panel and search the other settings")
                    break
        monitors = spec.monitors(2)  # the number of classes is not known here: AUC stays allowed
        if self["metric"] not in monitors:
            out.append(f"the metric {self['metric']} is not reported by {spec.title} runs; choose one of "
                       f"{', '.join(monitors)}")
        return out

    def to_dict(self) -> dict:
        """The JSON form: the settings the user set and the space (empty when nothing is set)."""
        out = dict(self._settings)
        if self._space:
            out["space"] = [d.to_dict() for d in self._space]
        return out

    def __getitem__(self, name: str) -> Any:
        return self._settings[name] if name in self._settings else _setting_field(name).default

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELDS)

    def __len__(self) -> int:
        return len(_FIELDS)

    def __bool__(self) -> bool:
        return bool(self._settings or self._space)

    def __repr__(self) -> str:
        return f"<experiment {self.to_dict()!r}>"


def read_experiment(data: Any, path: str = "$.experiment", project: ProjectLike | None = None,
                    strict: bool = True) -> tuple[dict, list[Dimension]]:
    """The settings and dimensions of an experiment section's JSON; raises ExperimentError naming the path."""
    if not isinstance(data, Mapping):
        raise ExperimentError("experiment must be an object", path)
    settings = {}
    for key, value in data.items():
        if key == "space":
            continue
        if key not in _FIELDS:
            raise ExperimentError(f"unknown experiment setting {key!r}; known settings: {', '.join(_FIELDS)}, space",
                                  f"{path}.{key if str(key).isidentifier() else repr(key)}")
        try:
            settings[key] = _FIELDS[key].coerce(value)
        except ParamError as exc:
            raise ExperimentError(str(exc), f"{path}.{key}") from None
    raw_space = data.get("space", [])
    if not isinstance(raw_space, list) or len(raw_space) > MAX_DIMENSIONS:
        raise ExperimentError(f"space must be a list of at most {MAX_DIMENSIONS} dimensions", f"{path}.space")
    space: list[Dimension] = []
    for i, raw in enumerate(raw_space):
        dim = read_dimension(raw, f"{path}.space[{i}]", project, strict)
        if dim.key in {d.key for d in space}:
            raise ExperimentError(f"{dim.label(project)} is searched twice; keep one range", f"{path}.space[{i}]")
        space.append(dim)
    return settings, space


def experiment_section(data: Any = None, project: ProjectLike | None = None) -> Experiment:
    """An Experiment from its JSON form (an Experiment is kept, rebound to `project`)."""
    if isinstance(data, Experiment):
        data.project = project
        return data
    return Experiment(data or {}, project)


P = TypeVar("P", bound=TrialSource)


def apply_values(project: P, values: Mapping[str, Any]) -> P:
    """A copy of `project` with a trial's values set (keys as Dimension.key); the original is untouched.

    A value the parameter or setting refuses raises ExperimentError naming it.
    """
    from graph_builder.graph import SetParam
    from graph_builder.settings import SetSetting

    trial = project.copy()
    for key, value in values.items():
        parts = key.split("/")
        try:
            if parts[0] == "training" and len(parts) == 2:
                trial.training.apply(SetSetting(parts[1], value))
            elif len(parts) == 3:
                trial.networks.network(parts[0]).apply(SetParam(parts[1], parts[2], value))
            else:
                raise EditError(f"{key!r} names neither a training setting nor a node parameter")
        except (ParamError, EditError) as exc:
            raise ExperimentError(f"{key} = {value!r} cannot be set: {exc}", "$.experiment") from None
    return trial


@dataclass
class ApplyTrial:
    """Set a trial's values in the project (node parameters and training settings) as one edit.

    Its target is the Project (`project.apply`); the inverse puts back the parameters and the
    training section exactly as they were.
    """

    values: dict  # Dimension.key -> value
    training: dict | None = None  # the whole training section to restore (inverses only)
    label: str = "Apply best trial"

    @property
    def title(self) -> str:
        return self.label

    def apply(self, project: TrialTarget) -> ApplyTrial:
        from graph_builder.graph import SetParam
        from graph_builder.settings import ReplaceSettings, SetSetting

        training_before = dict(project.training)
        graph_old: dict = {}
        done: list = []
        try:
            for key, value in self.values.items():
                parts = key.split("/")
                if parts[0] == "training" and len(parts) == 2:
                    project.training.apply(SetSetting(parts[1], value))
                elif len(parts) == 3:
                    graph = project.networks.network(parts[0])
                    graph_old[key] = graph.node(parts[1]).params[parts[2]]
                    done.append((graph, graph.apply(SetParam(parts[1], parts[2], value))))
                else:
                    raise EditError(f"{key!r} names neither a training setting nor a node parameter")
            if self.training is not None:
                project.training.apply(ReplaceSettings(self.training))
        except Exception:
            for graph, inverse in reversed(done):
                graph.apply(inverse)
            project.training.apply(ReplaceSettings(training_before))
            raise
        return ApplyTrial(graph_old, training_before, self.label)


__all__ = ["ApplyTrial", "AddDimension", "Dimension", "EXPERIMENT_FIELDS", "Experiment", "ExperimentError", "METHODS",
           "RemoveDimension", "ReplaceExperiment", "SetExperimentSetting", "apply_values", "experiment_section",
           "read_dimension", "read_experiment"]
