"""The graph model: unique names, events, refused edits and exact undo of any edit sequence."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_builder import (
    Batch,
    Connect,
    CycleError,
    Disconnect,
    Edge,
    EditError,
    Graph,
    Move,
    NodeNameError,
    ParamError,
    PortError,
    RemoveNode,
    Rename,
    SetFrozen,
    SetParam,
)
from graph_builder.layout import insert_on_edge
from tests.builders import chain


def test_names_are_unique_per_graph_not_global():
    g1, g2 = Graph(), Graph()
    assert [g1.add_node("Conv2d").name for _ in range(3)] == ["conv2d", "conv2d_1", "conv2d_2"]
    assert g2.add_node("Conv2d").name == "conv2d"


def test_duplicate_or_empty_names_are_refused():
    g = Graph()
    a = g.add_node("ReLU", name="act")
    with pytest.raises(NodeNameError, match="already named 'act'"):
        g.add_node("ReLU", name="act")
    with pytest.raises(NodeNameError, match="empty"):
        g.rename(a.id, "   ")
    assert g.nodes[a.id].name == "act"


def test_bad_parameter_is_refused_and_keeps_the_old_value():
    g = Graph()
    c = g.add_node("Conv2d")
    with pytest.raises(ParamError, match="kernel_size must be at least 1"):
        g.set_param(c.id, "kernel_size", 0)
    with pytest.raises(ParamError, match="one of"):
        g.set_param(c.id, "padding_mode", "mirror")
    assert g.nodes[c.id].params["kernel_size"] == 3
    g.set_param(c.id, "kernel_size", [3, 5])
    assert g.nodes[c.id].params["kernel_size"] == (3, 5)


def test_connection_closing_a_cycle_is_refused_with_the_reason():
    g = chain(("Linear", {}), ("ReLU", {}), ("Linear", {}))
    a, b, c = g.nodes.values()
    ok, reason = g.can_connect(Edge(c.id, a.id))
    assert not ok and "cycle" in reason
    with pytest.raises(CycleError):
        g.connect(c.id, a.id)
    assert len(g.edges) == 2


def test_second_wire_into_a_single_input_port_is_refused():
    g = Graph()
    a, b, r = g.add_node("Linear"), g.add_node("Linear"), g.add_node("ReLU")
    g.connect(a.id, r.id)
    with pytest.raises(PortError, match="already has an input"):
        g.connect(b.id, r.id)


def test_merge_port_takes_several_wires_in_order():
    g = Graph()
    a, b, cat = g.add_node("Linear"), g.add_node("Linear"), g.add_node("Concatenate")
    g.connect(b.id, cat.id)
    g.connect(a.id, cat.id)
    assert [e.src for e in g.in_edges(cat.id)] == [b.id, a.id]


def test_events_fire_for_each_kind_of_edit():
    g = Graph()
    seen = []
    g.events.node_added.connect(lambda n: seen.append(("added", n.name)))
    g.events.param_changed.connect(lambda i, k, v: seen.append(("param", k, v)))
    g.events.edge_added.connect(lambda e: seen.append(("edge",)))
    g.events.changed.connect(lambda: seen.append(("changed",)))
    a = g.add_node("Linear")
    b = g.add_node("ReLU")
    g.connect(a.id, b.id)
    g.set_param(a.id, "out_features", 10)
    assert seen == [("added", "linear"), ("changed",), ("added", "relu"), ("changed",), ("edge",), ("changed",),
                    ("param", "out_features", 10), ("changed",)]


def test_removing_a_node_then_undoing_restores_its_wires_in_place():
    g = Graph()
    x = g.add_node("Input", params={"shape": [4]})
    a, b = g.add_node("Linear"), g.add_node("Linear")
    cat = g.add_node("Concatenate")
    for src in (a, b):
        g.connect(x.id, src.id)
        g.connect(src.id, cat.id)
    before = g.to_dict()
    inverse = g.apply(RemoveNode(a.id))
    assert a.id not in g.nodes and all(a.id not in (e.src, e.dst) for e in g.edges)
    g.apply(inverse)
    assert g.to_dict() == before


def test_failed_batch_leaves_the_graph_unchanged():
    g = chain(("Linear", {}), ("ReLU", {}))
    a, b = g.nodes.values()
    before = g.to_dict()
    with pytest.raises(EditError):
        g.apply(Batch([SetParam(a.id, "out_features", 5), SetParam(b.id, "no_such", 1)]))
    assert g.to_dict() == before


def test_insert_on_edge_splices_a_layer_as_one_undoable_edit():
    g = chain(("Input", {"shape": [64]}), ("Linear", {}))
    x, c = g.nodes.values()
    edge = g.edges[0]
    inverse = g.apply(insert_on_edge(g, edge, "ReLU"))
    relu = g.node_by_name("relu")
    assert {(e.src, e.dst) for e in g.edges} == {(x.id, relu.id), (relu.id, c.id)}
    g.apply(inverse)
    assert g.edges == [edge] and "relu" not in [n.name for n in g.nodes.values()]


# ---------------------------------------------------------------- random edits, then undo all

TYPES = ["Linear", "ReLU", "Conv2d", "Add", "Concatenate", "Dropout", "Output", "Input", "LSTM"]


@st.composite
def edit_scripts(draw):
    return draw(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 10_000), st.integers(0, 10_000)),
                         min_size=1, max_size=40))


def _apply_random_edit(g: Graph, op: int, a: int, b: int):
    ids = list(g.nodes)
    try:
        if op == 0 or not ids:
            return g.apply(g.add_node_command(TYPES[a % len(TYPES)], pos=(a % 500, b % 500)))
        na, nb = ids[a % len(ids)], ids[b % len(ids)]
        if op == 1:
            return g.apply(RemoveNode(na))
        if op == 2:
            edge = g.edge_to(na, nb)
            return g.apply(Connect(edge))
        if op == 3 and g.edges:
            return g.apply(Disconnect(g.edges[a % len(g.edges)]))
        if op == 4:
            return g.apply(Move(na, (a, -b)))
        if op == 5:
            return g.apply(Rename(na, f"layer{b % 7}"))
        if op == 6:
            node = g.nodes[na]
            if node.spec.params:
                p = node.spec.params[b % len(node.spec.params)]
                value = {"int": a % 20, "float": (a % 10) / 10, "bool": bool(a % 2)}.get(p.kind, p.default)
                return g.apply(SetParam(na, p.name, value))
        if op == 8:
            chosen = tuple(dict.fromkeys((na, nb)))
            return g.apply(SetFrozen(chosen, bool(a % 2)))
        if op == 7 and len(ids) > 1:
            batch = Batch(
                [g.add_node_command("ReLU"), RemoveNode(na)], "combo")
            return g.apply(batch)
    except (EditError, ParamError):
        return None  # refused edits change nothing, which the final comparison also proves
    return None


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(edit_scripts())
def test_any_sequence_of_edits_undone_restores_the_graph_exactly(script):
    g = chain(("Input", {"shape": [3, 8, 8]}), ("Conv2d", {}), ("Output", {}))
    original = g.to_dict()
    inverses = []
    for op, a, b in script:
        before = g.to_dict()
        inverse = _apply_random_edit(g, op, a, b)
        if inverse is None:
            assert g.to_dict() == before  # a refused edit left no trace
        else:
            inverses.append(inverse)
    for inverse in reversed(inverses):
        g.apply(inverse)
    assert g.to_dict() == original
