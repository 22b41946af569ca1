"""Shape inference in pure Python (DESIGN.md decision 2): one pass in topological order.

Every node gets its output shape (batch dimension None), dtype, the constructor arguments it
reads off its input (in_features, in_channels …), its parameter count and multiply-accumulates.
A node whose rule fails gets a ShapeError instead; nodes downstream of it get no shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph_builder.catalog import get_spec
from graph_builder.errors import GraphBuilderError, ShapeError
from graph_builder.graph import Edge, Graph
from graph_builder.shape_math import format_shape

__all__ = ["ShapeReport", "infer_shapes", "format_shape", "topological_order"]


@dataclass
class ShapeReport:
    """Shapes and sizes of every node that could be computed."""

    out: dict[str, tuple] = field(default_factory=dict)
    dtype: dict[str, str | None] = field(default_factory=dict)
    inferred: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, ShapeError] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological; nodes on a cycle are left out
    in_shapes: dict[str, list] = field(default_factory=dict)
    port_out: dict[tuple[str, str], tuple] = field(default_factory=dict)  # a block's outputs, by port
    port_dtype: dict[tuple[str, str], str | None] = field(default_factory=dict)
    blocks: dict[str, ShapeReport] = field(default_factory=dict)  # network name -> its report

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    def edge_shape(self, edge: Edge) -> tuple | None:
        """The shape carried by a wire (its source's output, or the block output it leaves from)."""
        return self.port_out.get((edge.src, edge.src_port), self.out.get(edge.src))

    def edge_dtype(self, edge: Edge) -> str | None:
        return self.port_dtype.get((edge.src, edge.src_port), self.dtype.get(edge.src))

    def constructor_args(self, graph: Graph, node_id: str) -> dict:
        """The node's parameters merged with what was inferred from its input."""
        return {**graph.nodes[node_id].params, **self.inferred.get(node_id, {})}


def incoming(graph: Graph) -> dict[str, list[Edge]]:
    """Edges into each node, ordered by the node's input ports, then by wire order."""
    by_dst: dict[str, list[Edge]] = {node_id: [] for node_id in graph.nodes}
    for e in graph.edges:
        if e.dst in by_dst:
            by_dst[e.dst].append(e)
    for node_id, edges in by_dst.items():
        if len(edges) > 1:
            ports = [p.name for p in graph.input_ports(node_id)]
            edges.sort(key=lambda e: ports.index(e.dst_port) if e.dst_port in ports else len(ports))
    return by_dst


def topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm in graph order; nodes on (or behind) a cycle are left out."""
    indegree = {node_id: 0 for node_id in graph.nodes}
    children: dict[str, list[str]] = {node_id: [] for node_id in graph.nodes}
    for e in graph.edges:
        if e.src in indegree and e.dst in indegree:
            indegree[e.dst] += 1
            children[e.src].append(e.dst)
    ready = [n for n, d in indegree.items() if d == 0]
    ready.reverse()
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for c in reversed(children[n]):
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    return order


def _dtype_error(type_id: str, wanted: str, got: str | None) -> ShapeError | None:
    if wanted == "float" and got == "int":
        return ShapeError("expects float values but receives integer token ids; add an Embedding first",
                          fix="Embedding")
    if wanted == "int" and got == "float":
        return ShapeError("expects integer token ids but receives float values; "
                          "set the Input's dtype to int64")
    return None


def infer_shapes(graph: Graph, _blocks: dict | None = None) -> ShapeReport:
    """Infer every node's output shape, inferred arguments, parameters and MACs.

    A Block node's shapes, parameters and MACs come from its network's own report (computed
    once per pass: a block's Inputs declare their shapes, so its report does not depend on use).
    """
    blocks = {} if _blocks is None else _blocks
    report = ShapeReport()
    report.order = topological_order(graph)
    edges_in = incoming(graph)
    for node_id in report.order:
        node = graph.nodes[node_id]
        spec = get_spec(node.type_id)
        if spec.type_id == "Input":
            report.out[node_id] = (None, *node.params["shape"])
            report.dtype[node_id] = "int" if node.params["dtype"] == "int64" else "float"
            continue
        in_edges = edges_in[node_id]
        ins = [report.edge_shape(e) for e in in_edges]
        if not _complete(graph.input_ports(node_id), in_edges) or any(s is None for s in ins):
            continue  # validation names the missing wire; nothing to infer here
        report.in_shapes[node_id] = ins
        dtypes = [report.edge_dtype(e) for e in in_edges]
        if spec.type_id == "Block":
            _infer_block(graph, node_id, in_edges, ins, dtypes, report, blocks)
            continue
        try:
            error = _dtype_error(spec.type_id, spec.input_dtype, dtypes[0])
            if error:
                raise error
            out = tuple(spec.shape(node.params, ins))
            inferred = spec.infer(node.params, ins)
            args = {**node.params, **inferred}
            report.params[node_id] = spec.count_params(args)
            report.macs[node_id] = spec.macs(args, ins, out)
        except ShapeError as exc:
            report.errors[node_id] = exc
            continue
        except (GraphBuilderError, ArithmeticError, ValueError, TypeError, IndexError) as exc:
            report.errors[node_id] = ShapeError(f"cannot compute the output shape: {exc}")
            continue
        report.out[node_id] = out
        report.inferred[node_id] = inferred
        report.dtype[node_id] = dtypes[0] if spec.output_dtype == "same" else spec.output_dtype
    return report


def block_report(graph: Graph, name: str, blocks: dict) -> ShapeReport:
    """The shape report of network `name` (used as a block), computed once per pass in `blocks`."""
    if name not in blocks:
        blocks[name] = None  # in progress: meeting it again means the network contains itself
        if graph.library is None:
            raise ShapeError(f"block {name} is outside a project, so its network {name} cannot be found")
        blocks[name] = infer_shapes(graph.library[name], blocks)
    if blocks[name] is None:
        raise ShapeError(f"network {name} contains itself through its blocks; remove the block that closes the loop")
    return blocks[name]


def _infer_block(graph: Graph, node_id: str, in_edges: list[Edge], ins: list, dtypes: list,
                 report: ShapeReport, blocks: dict) -> None:
    node = graph.nodes[node_id]
    name = node.params["network"]
    inner = graph.block_network(node_id)
    try:
        if inner is None:
            raise ShapeError(f"stands for network {name!r}, which this project does not have; choose one of its "
                             "networks" if name else "stands for no network yet; choose one of the project's networks")
        inner_report = block_report(graph, name, blocks)
        for edge, shape, dtype in zip(in_edges, ins, dtypes):
            port = inner.nodes.get(edge.dst_port)
            if port is None or port.type_id != "Input":
                raise ShapeError(f"has no input {edge.dst_port!r} any more (network {name} changed); rewire it")
            wanted = inner_report.out.get(port.id)
            if wanted is not None and tuple(shape) != tuple(wanted):
                raise ShapeError(f"receives {format_shape(shape)} on {port.name}, but network {name}'s Input "
                                 f"{port.name} expects {format_shape(wanted)}; set {port.name}'s shape to "
                                 f"{', '.join(str(d) for d in shape[1:])} in {name}, or change what feeds {node.name}",
                                 fix="BlockInputShape", fix_params={"network": name, "input": port.id,
                                                                    "shape": tuple(shape[1:])})
            error = _dtype_error("Block", "int" if inner_report.dtype.get(port.id) == "int" else "float", dtype)
            if error:
                raise error
        outs = inner.outputs()
        if not outs:
            raise ShapeError(f"stands for network {name}, which has no Output; add one to {name}")
        if any(o.id not in inner_report.out for o in outs):
            return  # the network's own problems say why; validation puts them on every block using it
    except ShapeError as exc:
        report.errors[node_id] = exc
        return
    for o in outs:
        report.port_out[(node_id, o.id)] = inner_report.out[o.id]
        report.port_dtype[(node_id, o.id)] = inner_report.dtype[o.id]
    report.out[node_id] = inner_report.out[outs[0].id]
    report.dtype[node_id] = inner_report.dtype[outs[0].id]
    report.inferred[node_id] = {}
    report.params[node_id] = inner_report.total_params
    report.macs[node_id] = inner_report.total_macs
    report.blocks[name] = inner_report


def _complete(ports, in_edges: list[Edge]) -> bool:
    """True when every input port has the wires it needs (one, or two or more for a merge)."""
    for port in ports:
        count = sum(1 for e in in_edges if e.dst_port == port.name)
        if count < (2 if port.multi else 1) or (count > 1 and not port.multi):
            return False
    return True
