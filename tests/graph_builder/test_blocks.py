"""Several networks per project, blocks through shapes/validation/counts, recursion, group and ungroup."""

import json
from pathlib import Path

import pytest

from graph_builder import Graph, Project, check, load_project, loads_project
from graph_builder.errors import BlockRecursionError, NetworkError, ProjectError
from graph_builder.networks import (AddNetwork, Networks, RemoveNetwork, RenameNetwork, group_command,
                                    ungroup_command)
from graph_builder.project import dumps_project, project_to_dict

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
V1 = Path(__file__).parent / "v1_projects"


def residual_block(channels: int = 8) -> Graph:
    g = Graph()
    x = g.add_node("Input", "x", {"shape": (channels, 4, 4)})
    conv = g.add_node("Conv2d", "conv", {"out_channels": channels, "kernel_size": 3, "padding": 1})
    add = g.add_node("Add", "skip")
    y = g.add_node("Output", "y")
    g.connect(x.id, conv.id)
    g.connect(conv.id, add.id)
    g.connect(x.id, add.id)
    g.connect(add.id, y.id)
    return g


def two_block_project() -> Project:
    networks = Networks({"Net": Graph(), "Res": residual_block()})
    g = networks["Net"]
    x = g.add_node("Input", "image", {"shape": (8, 4, 4)})
    b1 = g.add_node("Block", "b1", {"network": "Res"})
    b2 = g.add_node("Block", "b2", {"network": "Res"})
    flat = g.add_node("Flatten")
    fc = g.add_node("Linear", "fc", {"out_features": 3})
    out = g.add_node("Output", "logits")
    for a, b in [(x, b1), (b1, b2), (b2, flat), (flat, fc), (fc, out)]:
        g.connect(a.id, b.id)
    return Project(networks=networks)


def test_shapes_and_counts_go_through_blocks():
    project = two_block_project()
    v = check(project.graph)
    assert v.ok, v.issues
    inner = check(project.networks["Res"]).shapes.total_params
    assert inner == 8 * 8 * 9 + 8
    b1 = project.graph.node_by_name("b1").id
    assert v.shapes.params[b1] == inner
    assert v.shapes.out[b1] == (None, 8, 4, 4)
    assert v.shapes.total_params == 2 * inner + (128 * 3 + 3)
    assert v.shapes.macs[b1] == check(project.networks["Res"]).shapes.total_macs > 0


def test_a_problem_inside_a_block_shows_on_the_block_and_inside_it():
    project = two_block_project()
    inner = project.networks["Res"]
    inner.set_param(inner.node_by_name("conv").id, "out_channels", 4)  # the skip Add now mismatches
    inside = check(inner)
    assert any(i.node_ids == (inner.node_by_name("skip").id,) for i in inside.errors)
    outside = check(project.graph)
    flagged = {i.node_ids[0]: i for i in outside.errors if i.code == "block-invalid"}
    b1, b2 = (project.graph.node_by_name(n).id for n in ("b1", "b2"))
    assert set(flagged) == {b1, b2}
    assert "its network Res has a problem" in flagged[b1].message and "skip" in flagged[b1].message


def test_a_block_fed_the_wrong_shape_names_the_inner_input_and_the_fix():
    project = two_block_project()
    g = project.graph
    g.set_param(g.node_by_name("image").id, "shape", (3, 4, 4))
    errors = {i.node_ids[0]: i.message for i in check(g).errors}
    message = errors[g.node_by_name("b1").id]
    assert "receives (N, 3, 4, 4) on x" in message and "expects (N, 8, 4, 4)" in message
    assert "set x's shape to 3, 4, 4 in Res" in message


def test_a_network_that_contains_itself_is_refused_with_the_chain_named():
    project = two_block_project()
    networks = project.networks
    networks.apply(AddNetwork("Outer", Graph()))
    outer = networks["Outer"]
    outer.add_node("Block", "uses_net", {"network": "Net"})
    with pytest.raises(BlockRecursionError, match="Res → Net → Outer → Res|Res contain itself"):
        networks["Res"].add_node("Block", "loop", {"network": "Outer"})
    with pytest.raises(BlockRecursionError, match="cannot contain itself"):
        networks["Res"].add_node("Block", "me", {"network": "Res"})
    # a file that holds such a loop is refused on load, naming the chain
    data = project_to_dict(two_block_project())
    data["networks"][1]["graph"]["nodes"].append({"id": "n99", "type": "Block", "name": "loop",
                                                  "params": {"network": "Net"}, "pos": [0, 0]})
    with pytest.raises(ProjectError, match="contains itself: .*→"):
        loads_project(json.dumps(data))


def test_a_block_of_a_missing_network_is_refused_on_load_with_its_path():
    data = project_to_dict(two_block_project())
    data["networks"][0]["graph"]["nodes"][1]["params"]["network"] = "Gone"
    with pytest.raises(ProjectError) as info:
        loads_project(json.dumps(data))
    assert info.value.path == "$.networks[0].graph.nodes[1].params.network"
    assert "Gone" in info.value.message and "Net, Res" in info.value.message


def test_networks_round_trip_through_a_file(tmp_path):
    project = two_block_project()
    text = dumps_project(project)
    again = loads_project(text)
    assert again == project
    assert list(again.networks) == ["Net", "Res"] and again.networks.main == "Net"
    assert dumps_project(again) == text


def test_renaming_a_network_renames_its_blocks_and_undo_restores_both():
    project = two_block_project()
    networks = project.networks
    before = project_to_dict(project)
    inverse = networks.apply(RenameNetwork("Res", "Residual"))
    assert {n.params["network"] for n in project.graph.nodes.values() if n.type_id == "Block"} == {"Residual"}
    assert check(project.graph).ok
    networks.apply(inverse)
    assert project_to_dict(project) == before


def test_a_network_in_use_or_the_main_one_cannot_be_deleted():
    project = two_block_project()
    with pytest.raises(NetworkError, match="used as a block \\(b1 in Net, b2 in Net\\)"):
        project.networks.apply(RemoveNetwork("Res"))
    with pytest.raises(NetworkError, match="main network"):
        project.networks.apply(RemoveNetwork("Net"))


def test_group_then_undo_restores_the_graph_exactly_and_ungroup_reverses_group():
    project = load_project(V1 / "residual_cnn_digits.json")  # the flat residual CNN of version 1
    g = project.graph
    before = project_to_dict(project)
    params_before = check(g).shapes.total_params
    chosen = [g.node_by_name(n).id for n in ("block1_conv1", "block1_bn1", "block1_relu1", "block1_conv2",
                                              "block1_bn2", "block1_add")]
    inverse = project.networks.apply(group_command(project.networks, "Net", chosen, "ResidualBlock"))
    assert list(project.networks) == ["Net", "ResidualBlock"]
    inner = project.networks["ResidualBlock"]
    assert [n.name for n in inner.inputs()] == ["x"] and [n.name for n in inner.outputs()] == ["y"]
    assert inner.inputs()[0].params["shape"] == (32, 8, 8)
    blocks = [n for n in g.nodes.values() if n.type_id == "Block"]
    assert len(blocks) == 1 and len(g.nodes) == len(before["networks"][0]["graph"]["nodes"]) - 5
    v = check(g)
    assert v.ok, v.issues
    assert v.shapes.total_params == params_before  # the same network, now with a block
    project.networks.apply(inverse)
    assert project_to_dict(project) == before

    project.networks.apply(group_command(project.networks, "Net", chosen, "ResidualBlock"))
    block = next(n for n in g.nodes.values() if n.type_id == "Block")
    project.networks.apply(ungroup_command(project.networks, "Net", block.id))
    assert list(project.networks) == ["Net"]
    v = check(g)
    assert v.ok, v.issues
    assert v.shapes.total_params == params_before
    assert sorted(n.type_id for n in g.nodes.values()) == sorted(n["type"] for n in before["networks"][0]["graph"]["nodes"])


def test_group_refuses_what_cannot_be_a_block():
    project = two_block_project()
    g = project.graph
    with pytest.raises(NetworkError, match="Input or Output"):
        group_command(project.networks, "Net", [g.node_by_name("image").id], "X")
    with pytest.raises(NetworkError, match="select the layers"):
        group_command(project.networks, "Net", [], "X")


@pytest.mark.parametrize("path", sorted(V1.glob("*.json")), ids=lambda p: p.stem)
def test_every_version_1_template_opens_as_one_main_network(path):
    raw = json.loads(path.read_text())
    assert raw["version"] == 1
    project = load_project(path)
    assert list(project.networks) == ["Net"] and project.networks.main == "Net"
    assert project.graph.to_dict() == raw["graph"]  # nothing changed on the way in
    assert dict(project.dataset) == raw.get("dataset", {}) and dict(project.training) == raw.get("training", {})
    saved = json.loads(dumps_project(project))
    assert saved["version"] == 2 and saved["networks"][0]["graph"] == raw["graph"]
    assert check(load_project(TEMPLATES / path.name).graph).shapes.total_params == \
        check(project.graph).shapes.total_params  # the current template is the same network


def test_the_residual_template_uses_one_block_network_twice():
    project = load_project(TEMPLATES / "residual_cnn_digits.json")
    assert list(project.networks) == ["ResidualCNN", "ResidualBlock"]
    uses = [n.params["network"] for n in project.graph.nodes.values() if n.type_id == "Block"]
    assert uses == ["ResidualBlock", "ResidualBlock"]
    assert check(project.graph).shapes.total_params == 37_962


# ---------------------------------------------------------------- random project edits, then undo all

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from graph_builder.errors import EditError, ParamError  # noqa: E402
from graph_builder.graph import Connect, Move, RemoveNode, SetParam  # noqa: E402
from graph_builder.errors import GraphBuilderError  # noqa: E402
from graph_builder.networks import OnNetwork, SetMainNetwork  # noqa: E402
from graph_builder.settings import SetSetting  # noqa: E402

LAYERS = ["Linear", "ReLU", "Add", "Output", "Input", "Block", "Block"]


SETTINGS = [("epochs", [1, 5, 0]), ("optimizer", ["sgd", "adam", "bogus"]), ("nesterov", [True, False]),
            ("momentum", [0.5, 0.0, 2.0]), ("lr", [0.1, 1e-4, -1.0])]


def _random_project_edit(project: Project, op: int, a: int, b: int):
    """One random edit of the document; returns (target, inverse), or None when it was refused."""
    networks = project.networks
    if op == 11:  # a training setting: on the same footing as graph and network edits
        name, values = SETTINGS[a % len(SETTINGS)]
        try:
            return project.training, project.training.apply(SetSetting(name, values[b % len(values)]))
        except GraphBuilderError:
            return None
    inverse = _random_network_edit(project, op, a, b)
    return (networks, inverse) if inverse is not None else None


def _random_network_edit(project: Project, op: int, a: int, b: int):
    networks = project.networks
    names = list(networks)
    net = names[a % len(names)]
    graph = networks[net]
    ids = list(graph.nodes)
    try:
        if op == 0 or not ids:
            type_id = LAYERS[b % len(LAYERS)]
            params = {"network": names[b % len(names)]} if type_id == "Block" else None
            return networks.apply(OnNetwork(net, graph.add_node_command(type_id, params=params, pos=(a % 300, 0))))
        na, nb = ids[a % len(ids)], ids[b % len(ids)]
        if op == 1:
            return networks.apply(OnNetwork(net, RemoveNode(na)))
        if op == 2:
            return networks.apply(OnNetwork(net, Connect(graph.edge_to(na, nb))))
        if op == 3:
            return networks.apply(OnNetwork(net, Move(na, (a, b))))
        if op == 4:
            return networks.apply(AddNetwork(f"N{b % 5}", Graph()))
        if op == 5:
            return networks.apply(RemoveNetwork(names[b % len(names)]))
        if op == 6:
            return networks.apply(RenameNetwork(net, f"R{b % 4}"))
        if op == 7:
            return networks.apply(SetMainNetwork(names[b % len(names)]))
        if op == 8 and graph.nodes[na].type_id == "Block":
            return networks.apply(OnNetwork(net, SetParam(na, "network", names[b % len(names)])))
        if op == 9:
            chosen = [ids[(a + k) % len(ids)] for k in range(1 + b % 3)]
            return networks.apply(group_command(networks, net, chosen))
        if op == 10:
            blocks = [n for n in ids if graph.nodes[n].type_id == "Block" and graph.block_network(n) is not None]
            if blocks:
                return networks.apply(ungroup_command(networks, net, blocks[b % len(blocks)]))
    except (EditError, ParamError):
        return None  # refused: the comparison below proves it changed nothing
    return None


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1,
                max_size=30))
def test_any_sequence_of_network_block_and_settings_edits_undone_restores_the_project_exactly(script):
    project = two_block_project()
    original = project_to_dict(project)
    inverses = []
    for op, a, b in script:
        before = project_to_dict(project)
        done = _random_project_edit(project, op, a, b)
        if done is None:
            assert project_to_dict(project) == before
        else:
            inverses.append(done)
            project.networks.dependencies(project.networks.main)  # never a network containing itself
            for name in project.networks:
                check(project.networks[name])  # validation copes with whatever the edits made
    for target, inverse in reversed(inverses):
        target.apply(inverse)
    assert project_to_dict(project) == original


def test_naming_a_network_after_a_dangling_block_cannot_close_a_loop():
    project = two_block_project()
    networks = project.networks
    res = networks["Res"]
    res.add_node("Block", "later", {"network": "Future"})  # dangling: no such network yet
    networks.apply(AddNetwork("Wrapper", Graph()))
    networks["Wrapper"].add_node("Block", "uses_net", {"network": "Net"})
    before = project_to_dict(project)
    with pytest.raises(BlockRecursionError, match="contain(s)? itself"):
        networks.apply(RenameNetwork("Wrapper", "Future"))  # Res → Future(=Wrapper) → Net → Res
    assert project_to_dict(project) == before
