"""Edits keep their meaning with the per-node indexes that keep them fast on big graphs."""

from __future__ import annotations

import pytest

from graph_builder import Graph
from graph_builder.errors import EditError
from graph_builder.graph import Connect, RemoveNode
from graph_builder.graph_file import read_graph


def relu_chain(n: int, head: str | None = None) -> tuple[Graph, list]:
    """Input (→ head) → ReLU × n; a multi-input head (Add) can take a wire that closes a loop."""
    g = Graph()
    nodes = [g.add_node("Input", params={"shape": [8]})]
    if head:
        nodes.append(g.add_node(head))
        g.connect(nodes[0].id, nodes[1].id)
    for _ in range(n):
        nodes.append(g.add_node("ReLU"))
        g.connect(nodes[-2].id, nodes[-1].id)
    return g, nodes


def test_a_long_chain_still_refuses_the_wire_that_closes_a_cycle():
    g, nodes = relu_chain(3000, head="Add")
    with pytest.raises(EditError, match="would create a cycle"):
        g.connect(nodes[-1].id, nodes[1].id)
    with pytest.raises(EditError, match="already has an input"):
        g.connect(nodes[5].id, nodes[7].id)
    assert len(g.edges) == 3001


def test_a_freed_name_is_given_again_first():
    g, nodes = relu_chain(5)
    assert [n.name for n in nodes[1:]] == ["relu", "relu_1", "relu_2", "relu_3", "relu_4"]
    g.remove_node(nodes[2].id)
    assert g.add_node("ReLU").name == "relu_1"
    g.rename(nodes[3].id, "middle")
    assert g.add_node("ReLU").name == "relu_2"
    assert g.add_node("ReLU").name == "relu_5"
    with pytest.raises(EditError, match="already named 'middle'"):
        g.add_node("ReLU", name="middle")


def test_undo_of_a_disconnect_and_a_removal_keeps_the_wiring_index_in_step():
    g, nodes = relu_chain(4, head="Add")
    undo = g.apply(RemoveNode(nodes[3].id))
    assert len(g.edges) == 3
    g.apply(undo)
    assert len(g.edges) == 5
    with pytest.raises(EditError, match="would create a cycle"):
        g.connect(nodes[4].id, nodes[1].id)


def test_a_loaded_graph_checks_names_and_cycles_against_what_it_holds():
    g, nodes = relu_chain(4, head="Add")
    loaded = read_graph(g.to_dict(), "$")
    with pytest.raises(EditError, match="would create a cycle"):
        loaded.connect(nodes[4].id, nodes[1].id)
    assert loaded.add_node("ReLU").name == "relu_4"
    with pytest.raises(EditError, match="already connected"):
        loaded.apply(Connect(loaded.edges[0]))
