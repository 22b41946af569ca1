"""Validation: one pass that lists every problem of a graph, each tied to its nodes.

Structure comes from networkx (cycles, reachability), arity from the catalog's ports,
parameters from their specs, shapes from shape inference. Where a problem has an obvious
repair, the Issue carries it as a ready-to-apply command (one undo step in the editor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Batch, Command, Connect, Edge, Graph
from graph_builder.layout import ROW, insert_on_edge
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport, incoming, infer_shapes

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Fix:
    """A suggested repair: a title for the button and the command that performs it."""

    title: str
    command: Command = field(compare=False)


@dataclass(frozen=True)
class Issue:
    """One problem: severity, a stable code, a message naming the node, the nodes involved."""

    severity: str
    code: str
    message: str
    node_ids: tuple[str, ...] = ()
    fix: Fix | None = None

    def to_dict(self) -> dict:
        data = {"severity": self.severity, "code": self.code, "message": self.message,
                "nodes": list(self.node_ids)}
        if self.fix:
            data["fix"] = self.fix.title
        return data


@dataclass
class Validation:
    """Issues plus the shape report they were computed from (the editor shows both)."""

    issues: list[Issue]
    shapes: ShapeReport

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_node(self, node_id: str) -> list[Issue]:
        return [i for i in self.issues if node_id in i.node_ids]


def validate(graph: Graph) -> list[Issue]:
    """Every problem in `graph`, errors first, in graph order."""
    return check(graph).issues


def check(graph: Graph, _memo: _Memo | None = None, _shapes: ShapeReport | None = None) -> Validation:
    """Validate and keep the shape report (one inference pass for both).

    Blocks are checked through their networks: a network with errors gives its Block nodes an
    error too (each network is checked once per pass, however often it is used).
    """
    memo = _memo if _memo is not None else _Memo()
    shapes = _shapes if _shapes is not None else infer_shapes(graph, memo.shapes)
    issues: list[Issue] = []
    issues += _endpoints(graph)
    cyclic = _cycles(graph, issues)
    edges_in = incoming(graph)
    broken = _arity(graph, edges_in, issues)
    _params(graph, issues)
    _blocks(graph, shapes, memo, issues)
    _reachability(graph, cyclic | broken, issues)
    _shape_issues(graph, shapes, edges_in, issues)
    issues.sort(key=lambda i: i.severity != ERROR)
    return Validation(issues, shapes)


def _name(graph: Graph, node_id: str) -> str:
    return graph.nodes[node_id].name


def _endpoints(graph: Graph) -> list[Issue]:
    issues = []
    if not graph.inputs():
        issues.append(Issue(ERROR, "no-input", "the graph has no Input; add an Input layer and set its shape"))
    if not graph.outputs():
        fix = None
        sinks = [n for n in graph.nodes.values() if graph.output_ports(n.id) and not graph.out_edges(n.id)]
        if len(sinks) == 1:
            add = graph.add_node_command("Output", pos=(sinks[0].pos[0], sinks[0].pos[1] + ROW))  # one row below
            fix = Fix(f"Add an Output after {sinks[0].name}",
                      Batch([add, Connect(Edge(sinks[0].id, add.node_id))], "Add Output"))
        issues.append(Issue(ERROR, "no-output", "the graph has no Output; add an Output after the last layer",
                            tuple(n.id for n in sinks[:1]), fix))
    return issues


def _cycles(graph: Graph, issues: list[Issue]) -> set[str]:
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.src, e.dst) for e in graph.edges)
    on_cycle: set[str] = set()
    for component in nx.strongly_connected_components(g):
        if len(component) < 2:
            continue
        cycle = [u for u, _ in nx.find_cycle(g.subgraph(component))]
        names = " → ".join(_name(graph, n) for n in cycle + cycle[:1])
        issues.append(Issue(ERROR, "cycle", f"{names} form a cycle; remove one of these wires "
                            "(a network's data must flow one way)", tuple(cycle)))
        on_cycle |= component
    return on_cycle


def _arity(graph: Graph, edges_in: dict[str, list[Edge]], issues: list[Issue]) -> set[str]:
    broken = set()
    for edge in graph.edges:  # a block's ports follow its network, so a wire can outlive its port
        src = graph.nodes.get(edge.src)
        if src is not None and edge.src_port not in {p.name for p in graph.output_ports(src.id)}:
            issues.append(Issue(ERROR, "stale-port", f"{src.name} no longer has the output this wire leaves "
                                f"from (its network changed); delete the wire and connect it again",
                                (src.id, edge.dst)))
            broken.add(edge.dst)
    for node in graph.nodes.values():
        ports = graph.input_ports(node.id)
        for port in ports:
            count = sum(1 for e in edges_in[node.id] if e.dst_port == port.name)
            label = f"input {port.title!r}" if len(ports) > 1 else "input"
            if count == 0:
                issues.append(Issue(ERROR, "unconnected", f"{node.name} has nothing connected to its {label}; "
                                    "wire a layer's output into it", (node.id,)))
                broken.add(node.id)
            elif port.multi and count < 2:
                issues.append(Issue(ERROR, "too-few-inputs", f"{node.name} merges two or more inputs but has "
                                    f"{count}; connect another branch or remove it", (node.id,)))
                broken.add(node.id)
            elif not port.multi and count > 1:
                issues.append(Issue(ERROR, "port-overfilled", f"{node.name} receives {count} wires on its single "
                                    f"{label}; remove all but one, or merge them first with Add or Concatenate",
                                    (node.id,)))
                broken.add(node.id)
    return broken


def _params(graph: Graph, issues: list[Issue]) -> None:
    for node in graph.nodes.values():
        spec = node.spec
        for p in spec.params:
            try:
                p.coerce(node.params.get(p.name, p.default))
            except GraphBuilderError as exc:
                issues.append(Issue(ERROR, "bad-param", f"{node.name}: {exc}", (node.id,)))
        if spec.type_id in ("RNN", "LSTM", "GRU") and node.params["dropout"] > 0 and node.params["num_layers"] == 1:
            issues.append(Issue(WARNING, "no-effect", f"{node.name}: dropout only acts between stacked layers; "
                                "with num_layers=1 it does nothing", (node.id,)))


@dataclass
class _Memo:
    """Per-pass results of the networks used as blocks (None while one is being checked)."""

    checks: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)


def _blocks(graph: Graph, shapes: ShapeReport, memo: _Memo, issues: list[Issue]) -> None:
    for node in graph.nodes.values():
        inner = graph.block_network(node.id)
        if inner is None or node.id in shapes.errors:
            continue  # a missing network or a recursion is a shape error on the block already
        name = node.params["network"]
        if name not in memo.checks:
            memo.checks[name] = None
            memo.checks[name] = check(inner, memo, memo.shapes.get(name))  # its shapes are known already
        inner_check = memo.checks[name]
        if inner_check is None or inner_check.ok:
            continue
        errors = inner_check.errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        issues.append(Issue(ERROR, "block-invalid", f"{node.name}: its network {name} has a problem{more}: "
                            f"{errors[0].message}; double-click {node.name} to open {name} and fix it", (node.id,)))


def _reachability(graph: Graph, skip: set[str], issues: list[Issue]) -> None:
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.src, e.dst) for e in graph.edges)
    inputs = [n.id for n in graph.inputs()]
    outputs = [n.id for n in graph.outputs()]
    fed = set(inputs).union(*(nx.descendants(g, i) for i in inputs)) if inputs else set()
    useful = set(outputs).union(*(nx.ancestors(g, o) for o in outputs)) if outputs else set()
    for node_id in graph.nodes:
        if node_id in skip:
            continue
        name = _name(graph, node_id)
        if inputs and node_id not in fed:
            issues.append(Issue(ERROR, "unreachable", f"{name} is not reachable from any Input; "
                                "connect it to the data path", (node_id,)))
        elif outputs and node_id not in useful:
            issues.append(Issue(WARNING, "dead-end", f"{name} does not lead to any Output, so its result is "
                                "unused; connect it onward or delete it", (node_id,)))


def _shape_issues(graph: Graph, shapes: ShapeReport, edges_in: dict[str, list[Edge]],
                  issues: list[Issue]) -> None:
    for node_id, error in shapes.errors.items():
        node = graph.nodes[node_id]
        fix = _fix_for(graph, shapes, node_id, edges_in[node_id], error.fix)
        issues.append(Issue(ERROR, "shape", f"{node.name} {error}", (node_id,), fix))
    # Legal in torch but nearly always a mistake: a Linear on an image acts on its last axis only.
    for node_id, ins in shapes.in_shapes.items():
        node = graph.nodes[node_id]
        if node.type_id == "Linear" and len(ins[0]) > 3 and node_id not in shapes.errors:
            edge = edges_in[node_id][0]
            fix = Fix(f"Insert Flatten before {node.name}", insert_on_edge(graph, edge, "Flatten"))
            issues.append(Issue(WARNING, "linear-on-image", f"{node.name} receives {format_shape(ins[0])} and "
                                "acts on the last dimension only; insert a Flatten to classify the whole image",
                                (node_id,), fix))


def _fix_for(graph: Graph, shapes: ShapeReport, node_id: str, in_edges: list[Edge], kind: str | None):
    node = graph.nodes[node_id]
    ins = [shapes.edge_shape(e) for e in in_edges]
    first = ins[0] if ins else None
    if kind in ("Unflatten", "Reshape") and len(in_edges) == 1 and first is not None and len(first) == 2:
        size = _square_unflatten(first[1], _wanted_rank(node.type_id))
        if size:
            command = insert_on_edge(graph, in_edges[0], "Unflatten", {"unflattened_size": size})
            return Fix(f"Insert Unflatten to {format_shape((None, *size))} before {node.name}", command)
    if kind == "Embedding" and len(in_edges) == 1:
        return Fix(f"Insert an Embedding before {node.name}", insert_on_edge(graph, in_edges[0], "Embedding"))
    if (node.type_id in ("Add", "Multiply", "Average") and first is not None and len(ins) >= 2
            and all(s and len(s) == 4 for s in ins)):
        for edge, shape in zip(in_edges[1:], ins[1:]):
            if shape is not None and shape[2:] == first[2:] and shape[1] != first[1]:
                command = insert_on_edge(graph, edge, "Conv2d", {"out_channels": first[1], "kernel_size": 1})
                return Fix(f"Insert a 1×1 Conv2d ({first[1]} channels) on the wire from "
                           f"{_name(graph, edge.src)}", command)
    return None


def _wanted_rank(type_id: str) -> int:
    """Conv2d, MaxPool2d … want a 4-D input; the digit before "d" says how many spatial axes."""
    for digit, rank in (("1d", 3), ("2d", 4), ("3d", 5)):
        if type_id.endswith(digit):
            return rank
    return 4


def _square_unflatten(features: int, rank: int) -> tuple | None:
    spatial = rank - 2
    if spatial < 1:
        return None
    side = round(features ** (1 / spatial))
    for s in (side - 1, side, side + 1):
        if s > 0 and s ** spatial == features:
            return (1, *(s,) * spatial)
    return None
