"""A network's fingerprint: the architecture only, not names, positions or the order nodes were added."""

from __future__ import annotations

import random

import pytest

from graph_builder import Graph, load_project
from graph_builder.fingerprint import (
    FingerprintError,
    network_fingerprint,
    project_fingerprint,
)
from graph_builder.graph import Node
from tests.builders import chain

MLP = (("Input", {"shape": [16]}), ("Linear", {"out_features": 32}), ("ReLU", {}),
       ("Linear", {"out_features": 4}), ("Output", {}))


def residual(order: list[int] | None = None, names: bool = False) -> Graph:
    """x -> conv -> cat <- x (a skip join): nodes added in `order`, names varied."""
    spec = [("Input", {"shape": [4, 8, 8]}), ("Conv2d", {"out_channels": 4, "padding": 1}),
            ("Concatenate", {}), ("Output", {})]
    order = order or list(range(len(spec)))
    g = Graph()
    ids = {}
    for k in order:
        type_id, params = spec[k]
        ids[k] = g.add_node(type_id, name=f"n{k}{'_x' if names else ''}", params=params, pos=(k * 7.0, -k)).id
    g.connect(ids[0], ids[1])
    g.connect(ids[1], ids[2])
    g.connect(ids[0], ids[2])
    g.connect(ids[2], ids[3])
    return g


def decoder(swap: bool = False) -> Graph:
    """A decoder layer fed by two Inputs of different lengths, on its tgt and memory ports."""
    g = Graph()
    tgt = g.add_node("Input", "tgt", {"shape": [5, 16]})
    memory = g.add_node("Input", "memory", {"shape": [7, 16]})
    dec = g.add_node("TransformerDecoderLayer", "dec", {"nhead": 2})
    out = g.add_node("Output")
    g.connect(tgt.id, dec.id, dst_port="memory" if swap else "tgt")
    g.connect(memory.id, dec.id, dst_port="tgt" if swap else "memory")
    g.connect(dec.id, out.id)
    return g


def test_the_same_network_gets_the_same_fingerprint():
    assert network_fingerprint(chain(*MLP)) == network_fingerprint(chain(*MLP))
    assert len(network_fingerprint(chain(*MLP))) == 16


def test_names_positions_and_ids_do_not_count():
    a = chain(*MLP)
    b = chain(*MLP, names=["image", "hidden", "act", "head", "logits"], start=(5000.0, 0.0))
    assert [n.name for n in a.nodes.values()] != [n.name for n in b.nodes.values()]
    assert network_fingerprint(a) == network_fingerprint(b)


def test_the_order_nodes_were_added_in_does_not_count():
    base = network_fingerprint(residual())
    for seed in range(5):
        order = list(range(4))
        random.Random(seed).shuffle(order)
        assert network_fingerprint(residual(order, names=True)) == base


def test_default_parameters_written_out_or_left_out_are_the_same_network():
    implicit = chain(("Input", {"shape": [16]}), ("Linear", {"out_features": 4}), ("Output", {}))
    explicit = chain(("Input", {"shape": (16,)}), ("Linear", {"out_features": 4, "bias": True}), ("Output", {}))
    assert network_fingerprint(implicit) == network_fingerprint(explicit)


def test_a_changed_parameter_is_a_different_network():
    wider = chain(*[(t, {**p, "out_features": 33}) if p.get("out_features") == 32 else (t, p) for t, p in MLP])
    assert network_fingerprint(wider) != network_fingerprint(chain(*MLP))
    other_input = chain(("Input", {"shape": [17]}), *MLP[1:])
    assert network_fingerprint(other_input) != network_fingerprint(chain(*MLP))


def test_the_same_layers_in_another_order_are_a_different_network():
    a = chain(("Input", {"shape": [16]}), ("Linear", {"out_features": 8}), ("ReLU", {}), ("Sigmoid", {}),
              ("Output", {}))
    b = chain(("Input", {"shape": [16]}), ("Linear", {"out_features": 8}), ("Sigmoid", {}), ("ReLU", {}),
              ("Output", {}))
    c = chain(("Input", {"shape": [16]}), ("ReLU", {}), ("Linear", {"out_features": 8}), ("Sigmoid", {}),
              ("Output", {}))
    assert len({network_fingerprint(a), network_fingerprint(b), network_fingerprint(c)}) == 3


def test_wiring_counts_including_which_port_a_wire_enters():
    assert network_fingerprint(decoder(swap=True)) != network_fingerprint(decoder())
    unwired = residual()
    unwired.disconnect(unwired.edges[2])
    assert network_fingerprint(unwired) != network_fingerprint(residual())


def test_the_order_of_the_parts_of_a_concatenation_counts():
    g = residual()
    flipped = residual()
    flipped.edges[1], flipped.edges[2] = flipped.edges[2], flipped.edges[1]
    assert network_fingerprint(flipped) != network_fingerprint(g)


def test_every_template_has_a_distinct_fingerprint_that_survives_a_reload(tmp_path):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "resources" / "templates"
    prints = {}
    for path in sorted(folder.glob("*.json")):
        project = load_project(path)
        prints[path.stem] = project_fingerprint(project)
        assert project_fingerprint(load_project(path)) == prints[path.stem]
    assert len(prints) >= 2 and len(set(prints.values())) == len(prints)


def test_an_unknown_layer_type_does_not_crash_it():
    g = chain(*MLP)
    odd = next(iter(g.nodes.values()))
    g.nodes[odd.id] = Node(odd.id, "SomethingNew", odd.name, {"x": 1}, odd.pos)
    assert len(network_fingerprint(g)) == 16
    assert network_fingerprint(g) != network_fingerprint(chain(*MLP))


def _block(graph: Graph, network: str) -> Graph:
    """`graph` with a raw Block node standing for `network` (the Block spec comes with the lead's branch)."""
    g = Graph()
    for node in graph.nodes.values():
        g.nodes[node.id] = node
    g.nodes["blk"] = Node("blk", "Block", "blk", {"network": network}, (0.0, 0.0))
    g.edges.extend(graph.edges)
    return g


def test_a_block_counts_as_the_network_it_stands_for_not_its_name():
    inner = chain(*MLP)
    a = network_fingerprint(_block(Graph(), "Tower"), {"Tower": inner})
    b = network_fingerprint(_block(Graph(), "Renamed"), {"Renamed": chain(*MLP, names=list("abcde"))})
    c = network_fingerprint(_block(Graph(), "Tower"), {"Tower": residual()})
    assert a == b != c


def test_a_network_that_contains_itself_is_refused_with_the_chain_named():
    networks = {"A": _block(Graph(), "B"), "B": _block(Graph(), "A")}
    with pytest.raises(FingerprintError, match="A → B → A|B → A → B"):
        network_fingerprint(_block(Graph(), "A"), networks)


def test_block_fingerprint_with_real_block_nodes():
    from pathlib import Path

    from graph_builder import load_project
    from graph_builder.networks import RenameNetwork

    template = Path(__file__).resolve().parents[2] / "resources" / "templates" / "residual_cnn_digits.json"
    project = load_project(template)
    first = project_fingerprint(project)
    project.networks.apply(RenameNetwork("ResidualBlock", "Res"))  # names never count
    assert project_fingerprint(project) == first
    inner = project.networks["Res"]
    inner.set_param(inner.node_by_name("conv1").id, "kernel_size", 5)  # the block's architecture does
    assert project_fingerprint(project) != first


def test_a_gans_fingerprint_covers_both_of_its_networks():
    from pathlib import Path

    from graph_builder.graph import SetParam

    project = load_project(Path(__file__).resolve().parents[2] / "resources" / "templates" / "dcgan_digits.json")
    before = project_fingerprint(project)
    assert before != network_fingerprint(project.graph, project.networks)  # not the generator's alone
    discriminator = project.networks["Discriminator"]
    conv = next(n for n in discriminator.nodes.values() if n.type_id == "Conv2d")
    discriminator.apply(SetParam(conv.id, "out_channels", conv.params["out_channels"] * 2))
    assert project_fingerprint(project) != before  # a changed discriminator is another model
    project.training.replace({**project.training, "generator": "", "discriminator": ""})
    assert project_fingerprint(project) == network_fingerprint(project.graph, project.networks)
