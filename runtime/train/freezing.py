"""What freezing and pretrained weights mean for the compiled module: parameter and module paths.

The document says which nodes are frozen (`Node.frozen`, graph_builder.freezing's presets); the
generated module names each node's submodule after the node (runtime.compile.codegen). This module
joins the two: the module paths of the frozen nodes (blocks recursed into), and the main-network
nodes that own the state-dict keys the pretrained weights filled.
"""

from __future__ import annotations

import os

from graph_builder.graph import Graph
from graph_builder.protocols import ProjectLike

from runtime.compile.codegen import node_attributes


def frozen_modules(graph: Graph) -> list[str]:
    """The module paths (`features`, `block2.conv1`) of the frozen nodes of `graph`, blocks recursed into."""
    if not _any_frozen(graph):
        return []
    top, inner = node_attributes(graph)
    networks = graph.library
    paths: list[str] = []

    def walk(g: Graph, attrs: dict[str, str], prefix: str) -> None:
        for node_id, attr in attrs.items():
            node = g.nodes[node_id]
            if node.frozen:
                paths.append(prefix + attr)
            elif node.type_id == "Block" and networks is not None:
                name = node.params["network"]
                walk(networks[name], inner.get(name, {}), f"{prefix}{attr}.")

    walk(graph, top, "")
    return paths


def _any_frozen(graph: Graph, seen: set | None = None) -> bool:
    seen = seen if seen is not None else set()
    for node in graph.nodes.values():
        if node.frozen:
            return True
        if node.type_id == "Block" and graph.library is not None and node.params["network"] not in seen:
            seen.add(node.params["network"])
            inner = graph.library.get(node.params["network"])
            if inner is not None and _any_frozen(inner, seen):
                return True
    return False


def nodes_of_keys(graph: Graph, keys) -> set[str]:
    """The ids of `graph`'s nodes whose submodule holds one of the state-dict `keys`."""
    by_attr = {attr: node_id for node_id, attr in node_attributes(graph)[0].items()}
    return {by_attr[k.split(".", 1)[0]] for k in keys if k.split(".", 1)[0] in by_attr}


def pretrained_nodes(project: ProjectLike, project_path: str | os.PathLike | None) -> set[str]:
    """The main-network nodes whose weights come from the project's pretrained weights (loads them)."""
    from runtime.compile.compiler import build_module
    from runtime.pretrained.registry import load_initial_weights

    module = build_module(project.graph)
    return nodes_of_keys(project.graph, load_initial_weights(project, project_path, module))
