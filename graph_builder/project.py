"""Project files: JSON that is validated on load and never executes anything (DESIGN.md decision 8).

    {"format": "netcanvas", "version": 2, "meta": {...}, "main": "Net",
     "networks": [{"name": "Net", "graph": {...}}, ...], "dataset": {...}, "training": {...}}

Version 1 files hold one network as "graph"; they open unchanged as a one-network project.

Loading reports the first problem with its JSON path (`$.graph.nodes[2].params.kernel_size`).
Saving is atomic: a temporary file in the same folder is written, fsynced and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from graph_builder.errors import GraphBuilderError, ProjectError, json_key, json_kind
from graph_builder.files import write_atomic
from graph_builder.graph import Graph
from graph_builder.graph_file import read_graph
from graph_builder.limits import PROJECT, LimitError, read_bounded
from graph_builder.networks import DEFAULT_NETWORK, Networks, name_problem
from graph_builder.experiment import ReplaceExperiment, experiment_section
from graph_builder.settings import section
from graph_builder.task_scope import TaskScope
from graph_builder.tasks import TaskSpec

FORMAT = "netcanvas"
VERSION = 2  # 2: several named networks ("networks", "main"); 1: one "graph"
MAX_NETWORKS = 200


class Project:
    """The document: the networks (one main), plus the dataset and training settings they train with.

    `Project(graph)` makes a one-network project; `project.graph` is always the main network.
    """

    def __init__(self, graph: Graph | None = None, dataset: dict | None = None, training: dict | None = None,
                 meta: dict | None = None, networks: Networks | None = None, experiment: Any = None) -> None:
        if networks is None:
            networks = Networks({DEFAULT_NETWORK: graph if graph is not None else Graph()})
        elif graph is not None:
            raise ValueError("give either graph or networks, not both")
        self.networks = networks
        self.dataset = section("dataset", dataset if dataset is not None else {})  # a dict becomes a section
        self.training = section("training", training if training is not None else {})
        self.meta = meta if meta is not None else {}
        self.experiment = experiment_section(experiment, self)  # what a search varies (graph_builder.experiment)
        self.scope = TaskScope(self, self.training.events)  # the task it trains: which settings apply
        self.training.scope = self.scope

    def task(self, training: dict | None = None) -> TaskSpec:
        """The task this project trains (graph_builder.tasks), with its own training values or `training`."""
        return self.scope.task(training)

    @property
    def graph(self) -> Graph:
        """The main network."""
        return self.networks.main_graph

    def network(self, name: str | None = None) -> Graph:
        """The network called `name` (the main one when None); NetworkError naming the choices."""
        return self.networks.main_graph if name is None else self.networks.network(name)

    def apply(self, command: Any) -> Any:
        """Perform a project-wide command (one spanning networks and settings, e.g. ApplyTrial); its inverse."""
        return command.apply(self)

    def to_dict(self) -> dict:
        return project_to_dict(self)

    def copy(self) -> Project:
        """An independent copy (through the JSON form, so it is exactly what a save and load would give)."""
        return project_from_dict(project_to_dict(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Project) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        return f"<Project {len(self.networks)} network(s), main {self.networks.main!r}>"


def project_to_dict(project: Project) -> dict:
    """The JSON document for `project` (always the current format version)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "meta": project.meta,
        "main": project.networks.main,
        "networks": project.networks.to_list(),
        "dataset": dict(project.dataset),
        "training": dict(project.training),
        **({"experiment": project.experiment.to_dict()} if project.experiment else {}),
    }


_SECTIONS = {1: {"format", "version", "meta", "graph", "dataset", "training", "experiment"},
             2: {"format", "version", "meta", "main", "networks", "dataset", "training", "experiment"}}


def project_from_dict(data: Any) -> Project:
    """Validate a decoded JSON document and build the Project; raises ProjectError.

    Version-1 files (one "graph") open as a project whose only network is the main one.
    """
    if not isinstance(data, dict):
        raise ProjectError(f"a project file holds a JSON object, not {json_kind(data)}", "$")
    if data.get("format") != FORMAT:
        raise ProjectError(f"this is not a NetCanvas project (format is {data.get('format')!r}, "
                           f"expected {FORMAT!r})", "$.format")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"version must be a whole number ≥ 1, not {version!r}", "$.version")
    if version > VERSION:
        raise ProjectError(f"this project was made by a newer NetCanvas (format version {version}; this "
                           f"version reads up to {VERSION}); update NetCanvas to open it", "$.version")
    known = _SECTIONS[version]
    for key in data:
        if key not in known:
            raise ProjectError(f"unknown section {key!r} (allowed: {', '.join(sorted(known))})", f"$.{json_key(key)}")
    sections = {}
    for key in ("meta", "dataset", "training"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise ProjectError(f"{key} must be an object, not {json_kind(value)}", f"$.{key}")
        sections[key] = value
    if version == 1:
        if "graph" not in data:
            raise ProjectError("the project has no graph section", "$")
        networks = Networks({DEFAULT_NETWORK: read_graph(data["graph"], "$.graph")})
        paths = {DEFAULT_NETWORK: "$.graph"}
    else:
        networks, paths = _read_networks(data)
    _check_blocks(networks, paths)
    dataset, training = _validate_settings(sections["dataset"], sections["training"])
    project = Project(dataset=dataset, training=training, meta=sections["meta"], networks=networks)
    project.experiment.apply(ReplaceExperiment(data.get("experiment", {}), "Open"))  # raises ExperimentError
    return project


def _read_networks(data: dict) -> tuple[Networks, dict[str, str]]:
    raw = data.get("networks")
    if not isinstance(raw, list) or not raw:
        raise ProjectError("networks must be a non-empty list of {\"name\": …, \"graph\": …}", "$.networks")
    if len(raw) > MAX_NETWORKS:
        raise ProjectError(f"a project holds at most {MAX_NETWORKS} networks, not {len(raw)}", "$.networks")
    graphs: dict[str, Graph] = {}
    paths: dict[str, str] = {}
    for i, entry in enumerate(raw):
        path = f"$.networks[{i}]"
        if not isinstance(entry, dict):
            raise ProjectError(f"a network must be an object, not {json_kind(entry)}", path)
        for key in entry:
            if key not in ("name", "graph"):
                raise ProjectError(f"unknown key {key!r} in a network (allowed: graph, name)", f"{path}.{json_key(key)}")
        name = entry.get("name")
        problem = name_problem(name)
        if problem or not isinstance(name, str):
            raise ProjectError(f"{problem}; rename it in the file", f"{path}.name")
        name = name.strip()
        if name in graphs:
            raise ProjectError(f"two networks are named {name!r}; network names are unique", f"{path}.name")
        if "graph" not in entry:
            raise ProjectError(f"network {name} has no graph", path)
        graphs[name] = read_graph(entry["graph"], f"{path}.graph")
        paths[name] = f"{path}.graph"
    main = data.get("main", next(iter(graphs)))
    if not isinstance(main, str) or main not in graphs:
        raise ProjectError(f"main must name one of the networks ({', '.join(graphs)}), not {main!r}", "$.main")
    return Networks(graphs, main), paths


def _check_blocks(networks: Networks, paths: dict[str, str]) -> None:
    """Every Block stands for a network of the project, on ports it has, and no network contains itself."""
    for name, graph in networks.items():
        for i, node in enumerate(graph.nodes.values()):
            if node.type_id != "Block":
                continue
            target = node.params["network"]
            if target not in networks:
                raise ProjectError(f"block {node.name} stands for network {target!r}, which this project does "
                                   f"not have (its networks: {', '.join(networks)})",
                                   f"{paths[name]}.nodes[{i}].params.network")
        for i, edge in enumerate(graph.edges):
            for end, port, ports in (("src", edge.src_port, graph.output_ports(edge.src)),
                                     ("dst", edge.dst_port, graph.input_ports(edge.dst))):
                node = graph.nodes[edge.src if end == "src" else edge.dst]
                if node.type_id == "Block" and port not in {p.name for p in ports}:
                    listed = ", ".join(f"{p.name} ({p.label})" for p in ports) or "none"
                    raise ProjectError(f"block {node.name} has no port {port!r} (its network "
                                       f"{node.params['network']} gives: {listed})", f"{paths[name]}.edges[{i}].{end}_port")
    for name in networks:
        try:
            networks.dependencies(name)
        except GraphBuilderError as exc:
            raise ProjectError(str(exc), paths[name]) from None


def _validate_settings(dataset: dict, training: dict) -> tuple[dict, dict]:
    from graph_builder import settings

    return (settings.validate_dataset_section(dataset, "$.dataset"),
            settings.validate_training_section(training, "$.training"))


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file; any problem raises ProjectError (never anything else)."""
    path = Path(path)
    try:
        text = read_bounded(path, PROJECT, "a project file").decode("utf-8")
    except LimitError as exc:
        raise ProjectError(str(exc), "") from None
    except FileNotFoundError:
        raise ProjectError(f"there is no file {str(path)!r}", "") from None
    except IsADirectoryError:
        raise ProjectError(f"{str(path)!r} is a folder, not a project file", "") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{path.name} is not a text (UTF-8) file; is it a project file?", "") from None
    except OSError as exc:
        raise ProjectError(f"cannot read {str(path)!r}: {exc.strerror or exc}", "") from None
    return loads_project(text)


def loads_project(text: str) -> Project:
    """Parse project JSON text; raises ProjectError."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", "$") from None
    except RecursionError:
        raise ProjectError("the JSON is nested too deeply", "$") from None
    except ValueError as exc:
        raise ProjectError(str(exc), "$") from None
    try:
        return project_from_dict(data)
    except RecursionError:
        raise ProjectError("the JSON is nested too deeply", "$") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in a project file; use a finite number")


def dumps_project(project: Project) -> str:
    """The project as pretty, stable JSON text."""
    return json.dumps(project_to_dict(project), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write atomically: a crash mid-save leaves the old file intact."""
    write_atomic(Path(path), dumps_project(project).encode("utf-8"))
