"""The graphs tests build, in one place: a column or row of layers wired one after the other.

    chain(("Input", {"shape": [4]}), ("Linear", {"out_features": 3}), ("Output", {}))
    chain(("Input", "digit", {"shape": [1, 8, 8]}), ("Flatten", "flat", {}), ...)   # named layers
    wire(graph, a, b, c)                                                             # nodes already added
"""

from __future__ import annotations

from graph_builder.graph import Graph

COLUMN = (0.0, 160.0)  # where auto-layout puts the next layer of a chain


def chain(*specs, names=None, step: tuple[float, float] = COLUMN, start: tuple[float, float] = (0.0, 0.0),
          graph: Graph | None = None) -> Graph:
    """A graph of `specs` wired in order; each spec is (type, params) or (type, name, params).

    `names` names the layers of (type, params) specs; the i-th layer stands at start + i * step.
    """
    g = Graph() if graph is None else graph
    previous = None
    for i, spec in enumerate(specs):
        type_id, name, params = spec if len(spec) == 3 else (spec[0], names[i] if names else None, spec[1])
        node = g.add_node(type_id, name=name, params=params,
                          pos=(start[0] + i * step[0], start[1] + i * step[1]))
        if previous is not None:
            g.connect(previous.id, node.id)
        previous = node
    return g


def wire(g: Graph, *nodes) -> None:
    """Connect nodes already in `g`, each to the next."""
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
