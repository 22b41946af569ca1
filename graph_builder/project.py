"""Project files: JSON that is validated on load and never executes anything (DESIGN.md decision 8).

    {"format": "netcanvas", "version": 1, "meta": {...}, "graph": {...},
     "dataset": {...}, "training": {...}}

Loading reports the first problem with its JSON path (`$.graph.nodes[2].params.kernel_size`).
Saving is atomic: a temporary file in the same folder is written, fsynced and renamed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_builder.catalog import get_spec, has_spec
from graph_builder.errors import GraphBuilderError, ProjectError
from graph_builder.graph import MAX_NAME_LENGTH, Edge, Graph, Node
from graph_builder.settings import SettingsSection, section

FORMAT = "netcanvas"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ID_LENGTH = 64


@dataclass
class Project:
    """A graph plus the dataset and training settings it is trained with."""

    graph: Graph = field(default_factory=Graph)
    dataset: SettingsSection = field(default_factory=dict)  # a dict given here becomes a section
    training: SettingsSection = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dataset = section("dataset", self.dataset)
        self.training = section("training", self.training)

    def to_dict(self) -> dict:
        return project_to_dict(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Project) and self.to_dict() == other.to_dict()


def project_to_dict(project: Project) -> dict:
    """The JSON document for `project`."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "meta": project.meta,
        "graph": project.graph.to_dict(),
        "dataset": dict(project.dataset),
        "training": dict(project.training),
    }


def project_from_dict(data: Any) -> Project:
    """Validate a decoded JSON document and build the Project; raises ProjectError."""
    if not isinstance(data, dict):
        raise ProjectError(f"a project file holds a JSON object, not {_kind(data)}", "$")
    if data.get("format") != FORMAT:
        raise ProjectError(f"this is not a NetCanvas project (format is {data.get('format')!r}, "
                           f"expected {FORMAT!r})", "$.format")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"version must be a whole number ≥ 1, not {version!r}", "$.version")
    if version > VERSION:
        raise ProjectError(f"this project was made by a newer NetCanvas (format version {version}; this "
                           f"version reads up to {VERSION}); update NetCanvas to open it", "$.version")
    known = {"format", "version", "meta", "graph", "dataset", "training"}
    for key in data:
        if key not in known:
            raise ProjectError(f"unknown section {key!r} (allowed: {', '.join(sorted(known))})", f"$.{_safe(key)}")
    if "graph" not in data:
        raise ProjectError("the project has no graph section", "$")
    sections = {}
    for key in ("meta", "dataset", "training"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise ProjectError(f"{key} must be an object, not {_kind(value)}", f"$.{key}")
        sections[key] = value
    graph = read_graph(data["graph"], "$.graph")
    dataset, training = _validate_settings(sections["dataset"], sections["training"])
    return Project(graph, dataset, training, sections["meta"])


def _validate_settings(dataset: dict, training: dict) -> tuple[dict, dict]:
    from graph_builder import settings

    return (settings.validate_dataset_section(dataset, "$.dataset"),
            settings.validate_training_section(training, "$.training"))


def read_graph(data: Any, path: str = "$") -> Graph:
    """Build a Graph from `Graph.to_dict` data, checking every field."""
    if not isinstance(data, dict):
        raise ProjectError(f"the graph must be an object, not {_kind(data)}", path)
    nodes = data.get("nodes")
    edges = data.get("edges", [])
    if not isinstance(nodes, list):
        raise ProjectError(f"nodes must be a list, not {_kind(nodes)}", f"{path}.nodes")
    if not isinstance(edges, list):
        raise ProjectError(f"edges must be a list, not {_kind(edges)}", f"{path}.edges")
    graph = Graph()
    names: set[str] = set()
    with graph.events.blocked():
        for i, raw in enumerate(nodes):
            node = _read_node(raw, f"{path}.nodes[{i}]", graph, names)
            graph.nodes[node.id] = node
            names.add(node.name)
        seen: set[Edge] = set()
        for i, raw in enumerate(edges):
            edge = _read_edge(raw, f"{path}.edges[{i}]", graph)
            if edge in seen:
                raise ProjectError("this wire appears twice; remove the duplicate", f"{path}.edges[{i}]")
            seen.add(edge)
            graph.edges.append(edge)
    return graph


def _read_node(raw: Any, path: str, graph: Graph, names: set[str]) -> Node:
    if not isinstance(raw, dict):
        raise ProjectError(f"a node must be an object, not {_kind(raw)}", path)
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id or len(node_id) > MAX_ID_LENGTH:
        raise ProjectError(f"id must be a non-empty text of at most {MAX_ID_LENGTH} characters", f"{path}.id")
    if node_id in graph.nodes:
        raise ProjectError(f"id {node_id!r} is used by two nodes; ids must be unique", f"{path}.id")
    type_id = raw.get("type")
    if not has_spec(type_id):
        try:
            get_spec(type_id)
        except GraphBuilderError as exc:
            raise ProjectError(str(exc), f"{path}.type") from None
    spec = get_spec(type_id)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        raise ProjectError(f"name must be a non-empty text of at most {MAX_NAME_LENGTH} characters",
                           f"{path}.name")
    name = name.strip()
    if name in names:
        raise ProjectError(f"another node is already named {name!r}; names are unique in a graph",
                           f"{path}.name")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ProjectError(f"params must be an object, not {_kind(params)}", f"{path}.params")
    values = spec.defaults()
    for key, value in params.items():
        try:
            pspec = spec.param(key)
        except KeyError:
            raise ProjectError(f"{type_id} has no parameter {key!r}", f"{path}.params.{_safe(key)}") from None
        try:
            values[key] = pspec.coerce(value)
        except GraphBuilderError as exc:
            raise ProjectError(str(exc), f"{path}.params.{_safe(key)}") from None
    pos = raw.get("pos", [0, 0])
    if (not isinstance(pos, list) or len(pos) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       and abs(v) < 1e9 for v in pos)):
        raise ProjectError("pos must be two finite numbers [x, y]", f"{path}.pos")
    return Node(node_id, spec.type_id, name, values, (float(pos[0]), float(pos[1])))


def _read_edge(raw: Any, path: str, graph: Graph) -> Edge:
    if not isinstance(raw, dict):
        raise ProjectError(f"a wire must be an object, not {_kind(raw)}", path)
    ends = {}
    for end, direction in (("src", "outputs"), ("dst", "inputs")):
        node_id = raw.get(end)
        if not isinstance(node_id, str) or node_id not in graph.nodes:
            raise ProjectError(f"{end} must be the id of a node in this graph, not {node_id!r}", f"{path}.{end}")
        ports = [p.name for p in getattr(graph.nodes[node_id].spec, direction)]
        default = ports[0] if ports else None
        port = raw.get(f"{end}_port", default)
        if port not in ports:
            kind = "output" if end == "src" else "input"
            listed = ", ".join(ports) or "none"
            raise ProjectError(f"{graph.nodes[node_id].name} has no {kind} port {port!r} (its {kind}s: {listed})",
                               f"{path}.{end}_port")
        ends[end] = (node_id, port)
    return Edge(ends["src"][0], ends["dst"][0], ends["src"][1], ends["dst"][1])


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file; any problem raises ProjectError (never anything else)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ProjectError(f"{path.name} is {size // 2**20} MiB; project files are at most "
                               f"{MAX_FILE_BYTES // 2**20} MiB", "$")
        text = path.read_text(encoding="utf-8")
    except ProjectError:
        raise
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


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a fsynced temporary file and a rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a text", bool: "true/false", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _safe(key: Any) -> str:
    text = str(key)
    return text if text.isidentifier() and len(text) < 60 else json.dumps(text[:60])
