"""Automatic layered layout, top to bottom as Netron and MATLAB draw networks.

A node's row is its longest path from the inputs; within a row, nodes are ordered by the
mean column of their neighbours (a few sweeps down and up cut crossings), then each sits
under its parents where it can. A skip connection spans several rows; the canvas routes such
wires beside the chain rather than through it.
"""

from __future__ import annotations

from graph_builder.catalog import get_spec
from graph_builder.graph import Batch, Connect, Disconnect, Edge, Graph, Move
from graph_builder.shapes import topological_order

COLUMN = 240.0  # the editor draws 180-px cards: leave a gutter for wires routed beside them
ROW = 140.0  # card height (88 px) plus room for the shape label on the wire below; on the 20-px grid
_SWEEPS = 4


def layered_positions(graph: Graph, node_ids: set[str] | None = None,
                      origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """New top-left positions for `node_ids` (all nodes when None), rows from the top down."""
    ids = set(graph.nodes) if node_ids is None else set(node_ids)
    order = [n for n in topological_order(graph) if n in ids]
    seen = set(order)
    order += [n for n in graph.nodes if n in ids and n not in seen]  # nodes on a cycle
    parents: dict[str, list[str]] = {n: [] for n in ids}
    children: dict[str, list[str]] = {n: [] for n in ids}
    for e in graph.edges:
        if e.src in ids and e.dst in ids:
            parents[e.dst].append(e.src)
            children[e.src].append(e.dst)
    rank: dict[str, int] = {}
    for n in order:
        rank[n] = max((rank[p] + 1 for p in parents[n] if p in rank), default=0)
    rows: dict[int, list[str]] = {}
    for n in order:
        rows.setdefault(rank[n], []).append(n)
    levels = [rows[r] for r in sorted(rows)]

    slot = {n: float(i) for row in levels for i, n in enumerate(row)}
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        for row in (levels[1:] if downward else levels[-2::-1]):
            neighbours = parents if downward else children
            row.sort(key=lambda n: _mean([slot[m] for m in neighbours[n]], slot[n]))
            for i, n in enumerate(row):
                slot[n] = float(i)

    x: dict[str, float] = {}
    for row in levels:
        wanted = [_mean([x[p] for p in parents[n] if p in x], 0.0) for n in row]
        placed = _spread(wanted)
        for n, value in zip(row, placed):
            x[n] = value
    return {n: (origin[0] + x[n] * COLUMN, origin[1] + rank[n] * ROW) for n in order}


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _spread(wanted: list[float]) -> list[float]:
    """Columns as close to `wanted` as possible, in the given order, at least one apart."""
    placed: list[float] = []
    for w in wanted:
        placed.append(w if not placed else max(w, placed[-1] + 1.0))
    # Pushing right only drifts the row; centre it on what was wanted.
    shift = (sum(wanted) - sum(placed)) / len(placed) if placed else 0.0
    if len(placed) > 1 or shift:
        placed = [p + shift for p in placed]
    return [round(p * 2) / 2 for p in placed]  # half columns keep cards on the grid


def room_for_insert(graph: Graph, edge: Edge) -> tuple[tuple[float, float], list[Move]]:
    """Where a layer spliced into `edge` goes, and the moves that push the layers below it down.

    The wire's own direction says which way the network reads (old projects run left to
    right); the new card takes one step along it, and the wire's end and everything after it
    move on by whatever the gap lacked, so no card lands on another.
    """
    src, dst = graph.node(edge.src), graph.node(edge.dst)
    dx, dy = dst.pos[0] - src.pos[0], dst.pos[1] - src.pos[1]
    vertical = abs(dy) >= abs(dx)
    step = ROW if vertical else COLUMN + 60.0
    gap = abs(dy) if vertical else abs(dx)
    sign = -1.0 if (dy if vertical else dx) < 0 else 1.0
    if vertical:
        pos = (src.pos[0], src.pos[1] + sign * step)
    else:
        pos = (src.pos[0] + sign * step, src.pos[1])
    lack = 2 * step - gap
    if lack <= 0:
        return ((src.pos[0] + dst.pos[0]) / 2, (src.pos[1] + dst.pos[1]) / 2), []
    shift = (0.0, sign * lack) if vertical else (sign * lack, 0.0)
    below = _reachable(graph, dst.id)
    moves = [Move(n, (graph.nodes[n].pos[0] + shift[0], graph.nodes[n].pos[1] + shift[1]))
             for n in graph.nodes if n in below]
    return pos, moves


def _reachable(graph: Graph, start: str) -> set[str]:
    """`start` and every node downstream of it."""
    seen, todo = {start}, [start]
    while todo:
        n = todo.pop()
        for e in graph.edges:
            if e.src == n and e.dst not in seen:
                seen.add(e.dst)
                todo.append(e.dst)
    return seen


def insert_on_edge(graph: Graph, edge: Edge, type_id: str, params: dict | None = None) -> Batch:
    """The edit that splices a new `type_id` layer into the wire `edge`, making room for it (one undo step)."""
    index = graph.edges.index(edge)
    pos, moves = room_for_insert(graph, edge)
    add = graph.add_node_command(type_id, params=params, pos=pos)
    in_port = get_spec(type_id).inputs[0].name
    return Batch(
        [
            *moves,
            Disconnect(edge),
            add,
            Connect(Edge(edge.src, add.node_id, edge.src_port, in_port)),
            Connect(Edge(add.node_id, edge.dst, "out", edge.dst_port), index=index + 1),
        ],
        f"Insert {add.name}",
    )
