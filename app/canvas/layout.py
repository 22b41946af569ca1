"""Automatic layered layout: columns by longest path from the inputs, rows ordered to cut crossings."""

from __future__ import annotations

from graph_builder.graph import Graph
from graph_builder.shapes import topological_order

COLUMN = 300.0
ROW = 140.0


def layered_positions(graph: Graph, node_ids: set[str] | None = None,
                      origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """New top-left positions for `node_ids` (all nodes when None), left to right by depth."""
    ids = set(graph.nodes) if node_ids is None else set(node_ids)
    order = [n for n in topological_order(graph) if n in ids]
    order += [n for n in graph.nodes if n in ids and n not in set(order)]  # nodes on a cycle
    parents: dict[str, list[str]] = {n: [] for n in ids}
    for e in graph.edges:
        if e.src in ids and e.dst in ids:
            parents[e.dst].append(e.src)
    depth: dict[str, int] = {}
    for n in order:
        depth[n] = max((depth[p] + 1 for p in parents[n] if p in depth), default=0)
    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(depth[n], []).append(n)
    row_of: dict[str, float] = {}
    positions = {}
    for d in sorted(columns):
        column = columns[d]
        # Barycentre of the parents' rows keeps wires short and mostly uncrossed.
        column.sort(key=lambda n: (sum(row_of[p] for p in parents[n] if p in row_of)
                                   / max(1, sum(1 for p in parents[n] if p in row_of))))
        top = -(len(column) - 1) / 2
        for i, n in enumerate(column):
            row_of[n] = top + i
            positions[n] = (origin[0] + d * COLUMN, origin[1] + (top + i) * ROW)
    return positions
