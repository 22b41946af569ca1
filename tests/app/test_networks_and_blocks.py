"""Networks as tabs and blocks on the canvas, driven with real clicks and keys; outcomes read from the model."""

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from graph_builder import Move, SetParam, load_project
from graph_builder.project import project_to_dict

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
V1 = Path(__file__).resolve().parents[1] / "graph_builder" / "v1_projects"


def tab_names(window):
    tabs = window.network_tabs
    return [tabs.tabData(i) for i in range(tabs.count())]


def click_tab(window, name):
    tabs = window.network_tabs
    index = tab_names(window).index(name)
    QTest.mouseClick(tabs, Qt.LeftButton, Qt.NoModifier, tabs.tabRect(index).center())


def double_click_node(window, node_id):
    item = window.scene.nodes[node_id]
    window.view.centerOn(item)
    point = window.view.mapFromScene(item.center())
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, point)


def test_the_residual_template_shows_a_tab_per_network_and_a_block_opens_its_network(make_window):
    window = make_window(load_project(TEMPLATES / "residual_cnn_digits.json"))
    assert tab_names(window) == ["ResidualCNN", "ResidualBlock"]
    assert window.network_tabs.tabText(0).startswith("★")
    graph = window.project.graph
    block = graph.node_by_name("block1")
    item = window.scene.nodes[block.id]
    inner_params = 2 * (32 * 32 * 9 + 32) + 2 * 64
    assert item.param_count == inner_params  # the block's face shows its network's parameters
    assert "ResidualBlock" in item.key_text
    double_click_node(window, block.id)
    assert window.current_network() == "ResidualBlock"
    assert window.editor.graph is window.project.networks["ResidualBlock"]
    assert set(window.scene.nodes) == set(window.project.networks["ResidualBlock"].nodes)
    click_tab(window, "ResidualCNN")
    assert window.editor.graph is graph


def test_a_problem_inside_a_block_shows_a_badge_on_the_block(make_window):
    window = make_window(load_project(TEMPLATES / "residual_cnn_digits.json"))
    block_id = window.project.graph.node_by_name("block1").id
    click_tab(window, "ResidualBlock")
    inner = window.project.networks["ResidualBlock"]
    assert window.editor.push(SetParam(inner.node_by_name("conv2").id,
                                                                   "out_channels", 16))
    window.validate_now()
    assert window.scene.nodes[inner.node_by_name("skip").id].badge == "error"  # inside
    click_tab(window, "ResidualCNN")
    window.validate_now()
    assert window.scene.nodes[block_id].badge == "error"  # and on the block
    assert any(i.code == "block-invalid" for i in window.validation.issues)


def test_adding_renaming_and_deleting_networks_are_undoable(window):
    assert tab_names(window) == ["Net"]
    name = window.add_network()
    assert tab_names(window) == ["Net", name] and window.current_network() == name
    assert window.rename_network(name, "Encoder")
    assert tab_names(window) == ["Net", "Encoder"]
    assert not window.delete_network("Net")  # the main network stays, with the reason shown
    assert "main network" in window.editor.last_refusal
    assert window.delete_network("Encoder")
    assert tab_names(window) == ["Net"] and window.current_network() == "Net"
    for expected in (["Net", "Encoder"], ["Net", name], ["Net"]):
        QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
        assert tab_names(window) == expected
    for _ in range(3):
        QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert tab_names(window) == ["Net"]


def test_ctrl_g_groups_the_selection_into_a_block_and_undo_restores_it_exactly(make_window):
    window = make_window(load_project(V1 / "residual_cnn_digits.json"))
    before = project_to_dict(window.project)
    graph = window.project.graph
    names = ("block2_conv1", "block2_bn1", "block2_relu1", "block2_conv2", "block2_bn2", "block2_add")
    window.scene.select_nodes([graph.node_by_name(n).id for n in names])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_G, Qt.ControlModifier)
    assert tab_names(window) == ["Net", "Block"]
    blocks = [n for n in graph.nodes.values() if n.type_id == "Block"]
    assert len(blocks) == 1 and window.scene.selected_node_ids() == [blocks[0].id]
    window.validate_now()
    assert window.validation.ok, window.validation.issues
    QTest.keyClick(window.view, Qt.Key_G, Qt.ControlModifier | Qt.ShiftModifier)  # ungroup
    assert tab_names(window) == ["Net"]
    assert sorted(n.type_id for n in graph.nodes.values()) == \
        sorted(n["type"] for n in before["networks"][0]["graph"]["nodes"])
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)  # undo ungroup
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)  # undo group
    assert project_to_dict(window.project) == before


def test_undo_of_an_edit_in_a_hidden_network_shows_that_network(make_window):
    window = make_window(load_project(TEMPLATES / "residual_cnn_digits.json"))
    click_tab(window, "ResidualBlock")
    inner = window.project.networks["ResidualBlock"]
    conv = inner.node_by_name("conv1")
    window.editor.push(Move(conv.id, (conv.pos[0] + 100, conv.pos[1])))
    click_tab(window, "ResidualCNN")
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert window.current_network() == "ResidualBlock"
    assert window.scene.nodes[conv.id].pos() == QPointF(*inner.nodes[conv.id].pos)


def test_the_palette_offers_the_other_networks_as_blocks_to_drag_in(make_window, drop_layer):
    window = make_window(load_project(TEMPLATES / "residual_cnn_digits.json"))
    assert "Block:ResidualBlock" in window.palette.items
    assert "Block:ResidualCNN" not in window.palette.items  # not itself
    graph = window.project.graph
    target = window.view.mapToScene(window.view.viewport().rect().center()) + QPointF(0, 300)
    assert drop_layer(window, "Block:ResidualBlock", target)
    added = window.scene.node_at(target)
    node = graph.nodes[added]
    assert node.type_id == "Block" and node.params["network"] == "ResidualBlock"
    assert node.name == "residual_block"
    assert [p.label for p in graph.input_ports(added)] == ["x"]
    assert set(window.scene.nodes[added].inputs) == {window.project.networks["ResidualBlock"].inputs()[0].id}
    click_tab(window, "ResidualBlock")  # the CNN contains this block, so it is not offered here
    assert not [k for k in window.palette.items if k.startswith("Block:")]


def test_the_inspector_offers_the_networks_a_block_may_stand_for(make_window, qtbot):
    window = make_window(load_project(TEMPLATES / "residual_cnn_digits.json"))
    graph = window.project.graph
    window.add_network("Other")  # empty: no Inputs or Outputs, so not a block candidate
    window.show_network("ResidualCNN")
    block = graph.node_by_name("block1")
    window.scene.select_nodes([block.id])
    combo = window.inspector.fields["network"]
    assert [combo.itemData(i) for i in range(combo.count())] == ["ResidualBlock"]
    assert combo.currentData() == "ResidualBlock"
