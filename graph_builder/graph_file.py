"""A graph read back from its JSON form (`Graph.to_dict`), every field checked; the first problem is a
ProjectError naming its JSON path. Project files and run snapshots both read their graphs here."""

from __future__ import annotations

import math
from typing import Any

from graph_builder.catalog import get_spec, has_spec
from graph_builder.errors import GraphBuilderError, ProjectError, json_key, json_kind
from graph_builder.graph import MAX_NAME_LENGTH, Edge, Graph, Node

MAX_ID_LENGTH = 64


def read_graph(data: Any, path: str = "$") -> Graph:
    """Build a Graph from `Graph.to_dict` data, checking every field."""
    if not isinstance(data, dict):
        raise ProjectError(f"the graph must be an object, not {json_kind(data)}", path)
    nodes = data.get("nodes")
    edges = data.get("edges", [])
    if not isinstance(nodes, list):
        raise ProjectError(f"nodes must be a list, not {json_kind(nodes)}", f"{path}.nodes")
    if not isinstance(edges, list):
        raise ProjectError(f"edges must be a list, not {json_kind(edges)}", f"{path}.edges")
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
        raise ProjectError(f"a node must be an object, not {json_kind(raw)}", path)
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id or len(node_id) > MAX_ID_LENGTH:
        raise ProjectError(f"id must be a non-empty text of at most {MAX_ID_LENGTH} characters", f"{path}.id")
    if node_id in graph.nodes:
        raise ProjectError(f"id {node_id!r} is used by two nodes; ids must be unique", f"{path}.id")
    type_id = raw.get("type")
    if not isinstance(type_id, str):
        raise ProjectError(f"type must be the name of a layer type, not {json_kind(type_id)}", f"{path}.type")
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
        raise ProjectError(f"params must be an object, not {json_kind(params)}", f"{path}.params")
    values = spec.defaults()
    for key, value in params.items():
        try:
            pspec = spec.param(key)
        except KeyError:
            raise ProjectError(f"{type_id} has no parameter {key!r}", f"{path}.params.{json_key(key)}") from None
        try:
            values[key] = pspec.coerce(value)
        except GraphBuilderError as exc:
            raise ProjectError(str(exc), f"{path}.params.{json_key(key)}") from None
    pos = raw.get("pos", [0, 0])
    if (not isinstance(pos, list) or len(pos) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       and abs(v) < 1e9 for v in pos)):
        raise ProjectError("pos must be two finite numbers [x, y]", f"{path}.pos")
    frozen = raw.get("frozen", False)
    if not isinstance(frozen, bool):
        raise ProjectError(f"frozen must be true or false, not {json_kind(frozen)}", f"{path}.frozen")
    return Node(node_id, spec.type_id, name, values, (float(pos[0]), float(pos[1])), frozen)


def _read_edge(raw: Any, path: str, graph: Graph) -> Edge:
    if not isinstance(raw, dict):
        raise ProjectError(f"a wire must be an object, not {json_kind(raw)}", path)
    ends: dict[str, tuple[str, str]] = {}
    for end, direction in (("src", "outputs"), ("dst", "inputs")):
        node_id = raw.get(end)
        if not isinstance(node_id, str) or node_id not in graph.nodes:
            raise ProjectError(f"{end} must be the id of a node in this graph, not {node_id!r}", f"{path}.{end}")
        node = graph.nodes[node_id]
        ports = [p.name for p in getattr(node.spec, direction)]
        default = ports[0] if ports else None
        port = raw.get(f"{end}_port", default)
        if node.type_id == "Block":  # its ports come from its network: checked once every network is read
            if not isinstance(port, str) or not port or len(port) > MAX_ID_LENGTH:
                raise ProjectError(f"{end}_port must name a port of block {node.name}", f"{path}.{end}_port")
        elif port not in ports:
            kind = "output" if end == "src" else "input"
            listed = ", ".join(ports) or "none"
            raise ProjectError(f"{graph.nodes[node_id].name} has no {kind} port {port!r} (its {kind}s: {listed})",
                               f"{path}.{end}_port")
        ends[end] = (node_id, str(port))  # a listed port, or a block's checked name
    return Edge(ends["src"][0], ends["dst"][0], ends["src"][1], ends["dst"][1])
