"""The top-to-bottom layout: templates read downward, skip connections keep the chain straight,
and a layer spliced in by a fix gets room instead of landing on its neighbours."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph_builder import Graph, load_project
from graph_builder.layout import COLUMN, ROW, insert_on_edge, layered_positions

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "resources" / "templates").glob("*.json"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_every_edge_of_a_laid_out_template_points_downward(path):
    for name, graph in load_project(path).networks.items():
        for e in graph.edges:
            assert graph.nodes[e.dst].pos[1] > graph.nodes[e.src].pos[1], (path.stem, name, e)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_the_template_files_are_what_auto_layout_makes(path):
    for graph in load_project(path).networks.values():
        assert layered_positions(graph) == {n: node.pos for n, node in graph.nodes.items()}


def _cards_overlap(graph: Graph) -> bool:
    nodes = list(graph.nodes.values())
    return any(abs(a.pos[0] - b.pos[0]) < 180 and abs(a.pos[1] - b.pos[1]) < 100
               for i, a in enumerate(nodes) for b in nodes[i + 1:])


def test_a_skip_connection_leaves_the_chain_in_one_column():
    g = Graph()
    x = g.add_node("Input", params={"shape": [8]})
    a = g.add_node("Linear", params={"out_features": 8})
    b = g.add_node("ReLU")
    add = g.add_node("Add")
    g.connect(x.id, a.id), g.connect(a.id, b.id), g.connect(b.id, add.id), g.connect(x.id, add.id)
    positions = layered_positions(g)
    assert {p[0] for p in positions.values()} == {0.0}
    assert [positions[n][1] for n in (x.id, a.id, b.id, add.id)] == [0.0, ROW, 2 * ROW, 3 * ROW]


def test_parallel_branches_sit_side_by_side_without_overlap():
    g = Graph()
    x = g.add_node("Input", params={"shape": [8]})
    cat = g.add_node("Concatenate")
    for _ in range(3):
        branch = g.add_node("Linear", params={"out_features": 4})
        g.connect(x.id, branch.id)
        g.connect(branch.id, cat.id)
    for n, pos in layered_positions(g).items():
        g.move(n, pos)
    assert not _cards_overlap(g)
    xs = sorted(g.nodes[n].pos[0] for n in g.nodes if n not in (x.id, cat.id))
    assert xs == [-COLUMN, 0.0, COLUMN]
    assert g.nodes[cat.id].pos[0] == 0.0  # under the middle of its parents


def test_a_layer_inserted_on_a_wire_gets_room_and_undo_puts_everything_back():
    g = Graph()
    ids = [g.add_node(t, params=p).id for t, p in
           (("Input", {"shape": [8]}), ("Linear", {"out_features": 4}), ("Output", {}))]
    g.connect(ids[0], ids[1]), g.connect(ids[1], ids[2])
    for n, pos in layered_positions(g).items():
        g.move(n, pos)
    before = g.to_dict()
    inverse = g.apply(insert_on_edge(g, g.edges[0], "ReLU"))
    assert not _cards_overlap(g)
    relu = g.node_by_name("relu")
    assert g.nodes[ids[0]].pos[1] < relu.pos[1] < g.nodes[ids[1]].pos[1] < g.nodes[ids[2]].pos[1]
    g.apply(inverse)
    assert g.to_dict() == before
