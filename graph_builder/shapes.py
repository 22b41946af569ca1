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
    dtype: dict[str, str] = field(default_factory=dict)
    inferred: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, ShapeError] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological; nodes on a cycle are left out
    in_shapes: dict[str, list] = field(default_factory=dict)

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    def edge_shape(self, edge: Edge) -> tuple | None:
        """The shape carried by a wire (its source's output)."""
        return self.out.get(edge.src)

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
            ports = [p.name for p in graph.nodes[node_id].spec.inputs]
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


def _dtype_error(type_id: str, wanted: str, got: str) -> ShapeError | None:
    if wanted == "float" and got == "int":
        return ShapeError("expects float values but receives integer token ids; add an Embedding first",
                          fix="Embedding")
    if wanted == "int" and got == "float":
        return ShapeError("expects integer token ids but receives float values; "
                          "set the Input's dtype to int64")
    return None


def infer_shapes(graph: Graph) -> ShapeReport:
    """Infer every node's output shape, inferred arguments, parameters and MACs."""
    report = ShapeReport()
    report.order = topological_order(graph)
    edges_in = incoming(graph)
    for node_id in report.order:
        node = graph.nodes[node_id]
        spec = get_spec(node.type_id)
        if not spec.inputs:  # an Input
            report.out[node_id] = (None, *node.params["shape"])
            report.dtype[node_id] = "int" if node.params["dtype"] == "int64" else "float"
            continue
        in_edges = edges_in[node_id]
        ins = [report.out.get(e.src) for e in in_edges]
        if not _complete(spec, in_edges) or any(s is None for s in ins):
            continue  # validation names the missing wire; nothing to infer here
        report.in_shapes[node_id] = ins
        dtypes = [report.dtype[e.src] for e in in_edges]
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


def _complete(spec, in_edges: list[Edge]) -> bool:
    """True when every input port has the wires it needs (one, or two or more for a merge)."""
    for port in spec.inputs:
        count = sum(1 for e in in_edges if e.dst_port == port.name)
        if count < (2 if port.multi else 1) or (count > 1 and not port.multi):
            return False
    return True
