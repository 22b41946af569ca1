"""Copy and paste of nodes: internal wires kept, new ids and unique names, offset positions."""

from __future__ import annotations

import json

from graph_builder.graph import AddNode, Batch, Connect, Edge, Graph

GRAPH_MIME = "application/x-netcanvas-nodes"


def copy_nodes(graph: Graph, node_ids: list[str]) -> str:
    """JSON text for `node_ids` and the wires between them (wires to other nodes are dropped)."""
    chosen = set(node_ids)
    data = graph.to_dict()
    return json.dumps({
        "nodes": [n for n in data["nodes"] if n["id"] in chosen],
        "edges": [e for e in data["edges"] if e["src"] in chosen and e["dst"] in chosen],
    })


def paste_command(graph: Graph, text: str, offset: tuple[float, float]) -> tuple[Batch, list[str]] | None:
    """The edit adding a copy of the copied nodes (None if `text` is not copied nodes)."""
    try:
        data = json.loads(text)
        nodes, edges = data["nodes"], data["edges"]
    except (ValueError, TypeError, KeyError):
        return None
    ids: dict[str, str] = {}
    taken: set[str] = set()
    commands = []
    for raw in nodes:
        try:
            add = graph.add_node_command(raw["type"], params=raw.get("params", {}),
                                         pos=(raw["pos"][0] + offset[0], raw["pos"][1] + offset[1]))
        except (KeyError, TypeError, IndexError, ValueError):
            return None
        add = AddNode(add.node_id, add.type_id, graph.unique_name(raw["name"], taken), add.params, add.pos,
                      frozen=raw.get("frozen") is True)
        taken.add(add.name)
        ids[raw["id"]] = add.node_id
        commands.append(add)
    for e in edges:
        if e["src"] in ids and e["dst"] in ids:
            commands.append(Connect(Edge(ids[e["src"]], ids[e["dst"]], e["src_port"], e["dst_port"])))
    if not commands:
        return None
    count = len(ids)
    return Batch(commands, f"Paste {count} layer{'s' * (count != 1)}"), list(ids.values())
