"""Canvas editing with real mouse and keyboard events on the viewport; outcomes read from the model."""

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication

from app.canvas.edges import EdgeItem
from graph_builder.graph import Edge
from graph_builder.project import Project

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def port_pos(window, node_id, port, output):
    item = window.scene.nodes[node_id]
    return (item.outputs if output else item.inputs)[port].scenePos()


def test_dropping_a_palette_layer_places_it_at_the_drop_point(window, drop_layer):
    target = window.view.mapToScene(window.view.viewport().rect().center()) + QPointF(60, 40)
    assert drop_layer(window, "Conv2d", target)
    (node,) = window.project.graph.nodes.values()
    assert node.type_id == "Conv2d"
    assert window.scene.node_at(target) == node.id
    assert window.editor.stack.count() == 1


def test_foreign_drops_are_refused(window):
    mime = QMimeData()
    mime.setText("hello")
    event = QDragEnterEvent(window.view.viewport().rect().center(), Qt.CopyAction, mime, Qt.LeftButton,
                            Qt.NoModifier)
    QApplication.sendEvent(window.view.viewport(), event)
    assert not event.isAccepted()


def test_dragging_from_an_output_port_to_an_input_port_connects(window, mouse):
    graph = window.project.graph
    a = window.add_layer("Input", QPointF(0, 0))
    b = window.add_layer("Linear", QPointF(400, 60))
    mouse.drag(port_pos(window, a, "out", True), port_pos(window, b, "in", False))
    assert graph.edges == [Edge(a, b, "out", "in")]
    assert Edge(a, b) in window.scene.edges
    window.editor.stack.undo()
    assert graph.edges == []


def test_dragging_backwards_from_an_input_port_connects_too(window, mouse):
    a = window.add_layer("Input", QPointF(0, 0))
    b = window.add_layer("Linear", QPointF(400, 0))
    mouse.drag(port_pos(window, b, "in", False), port_pos(window, a, "out", True))
    assert window.project.graph.edges == [Edge(a, b)]


def test_a_connection_that_would_close_a_cycle_is_refused_with_the_reason(window, mouse, mlp_graph):
    window.set_project(Project(mlp_graph), None)
    first, second = "n2", "n3"  # linear -> relu
    messages = []
    window.scene.message.connect(messages.append)
    before = list(window.project.graph.edges)
    start = port_pos(window, second, "out", True)
    end = port_pos(window, first, "in", False)
    viewport = window.view.viewport()
    from PySide6.QtTest import QTest

    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, mouse.point(start))
    QTest.mouseMove(viewport, mouse.point(end))
    # While hovering, the refused port is marked and the reason is shown.
    assert window.scene.nodes[first].inputs["in"].state == "refused"
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, mouse.point(end))
    assert window.project.graph.edges == before
    assert any("cycle" in m or "already has an input" in m for m in messages)
    assert "Cannot connect" in window.statusBar().currentMessage()


def test_compatible_ports_highlight_while_dragging(window, mouse, mlp_graph):
    window.set_project(Project(mlp_graph), None)
    extra = window.add_layer("ReLU", QPointF(300, 400))
    viewport = window.view.viewport()
    from PySide6.QtTest import QTest

    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, mouse.point(port_pos(window, "n1", "out", True)))
    QTest.mouseMove(viewport, mouse.point(QPointF(200, 300)))
    assert window.scene.nodes[extra].inputs["in"].state == "ok"  # free input
    assert window.scene.nodes["n2"].inputs["in"].state == "normal"  # already fed
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, mouse.point(QPointF(200, 300)))
    assert window.scene.nodes[extra].inputs["in"].state == "normal"


def test_delete_then_ctrl_z_restores_the_node_and_its_wires(window, mouse, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    graph = window.project.graph
    before = graph.to_dict()
    mouse.click(window.scene.nodes["n3"].center())
    assert window.scene.selected_node_ids() == ["n3"]
    qtbot.keyClick(window.view, Qt.Key_Delete)
    assert "n3" not in graph.nodes and len(graph.edges) == 2
    assert "n3" not in window.scene.nodes
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert graph.to_dict() == before
    assert set(window.scene.edges) == set(graph.edges)
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert "n3" not in graph.nodes


def test_selected_wire_is_deleted_with_the_delete_key(window, mouse, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    edge = window.project.graph.edges[0]
    item: EdgeItem = window.scene.edges[edge]
    mouse.click(item.path().pointAtPercent(0.25))
    assert window.scene.selected_edges() == [edge]
    qtbot.keyClick(window.view, Qt.Key_Delete)
    assert edge not in window.project.graph.edges and len(window.project.graph.nodes) == 5


def test_copy_paste_keeps_internal_wires_with_new_names_and_offset(window, mouse, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    graph = window.project.graph
    mouse.click(window.scene.nodes["n2"].center())
    mouse.click(window.scene.nodes["n3"].center(), Qt.ShiftModifier)
    assert window.scene.selected_node_ids() == ["n2", "n3"]
    qtbot.keyClick(window.view, Qt.Key_C, Qt.ControlModifier)
    qtbot.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    assert len(graph.nodes) == 7
    new = [n for n in graph.nodes.values() if n.id not in {"n1", "n2", "n3", "n4", "n5"}]
    assert sorted(n.type_id for n in new) == ["Linear", "ReLU"]
    assert len({n.name for n in graph.nodes.values()}) == 7  # names stay unique
    linear = next(n for n in new if n.type_id == "Linear")
    assert linear.pos == (graph.nodes["n2"].pos[0] + 40, graph.nodes["n2"].pos[1] + 40)
    assert linear.params == graph.nodes["n2"].params
    relu = next(n for n in new if n.type_id == "ReLU")
    assert Edge(linear.id, relu.id) in graph.edges  # the wire between the copies is kept
    assert len(graph.edges) == 5  # and no wire to the outside was copied
    assert set(window.scene.selected_node_ids()) == {linear.id, relu.id}
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert len(graph.nodes) == 5


def test_duplicate_and_cut(window, mouse, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    graph = window.project.graph
    mouse.click(window.scene.nodes["n3"].center())
    qtbot.keyClick(window.view, Qt.Key_D, Qt.ControlModifier)
    assert [n.name for n in graph.nodes.values()][-1] == "relu_1"
    qtbot.keyClick(window.view, Qt.Key_X, Qt.ControlModifier)
    assert "relu_1" not in {n.name for n in graph.nodes.values()}
    qtbot.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    assert "relu_1" in {n.name for n in graph.nodes.values()}


def test_rubber_band_selects_the_nodes_it_touches(window, mouse, mlp_graph):
    window.set_project(Project(mlp_graph), None)
    window.actual_size()
    n1, n2 = window.scene.nodes["n1"], window.scene.nodes["n2"]
    window.view.centerOn(n2.pos())
    start = n1.sceneBoundingRect().topLeft() + QPointF(-30, -30)
    end = n2.sceneBoundingRect().bottomLeft() + QPointF(20, 20)
    mouse.drag(start, end)
    assert window.scene.selected_node_ids() == ["n1", "n2"]


def test_dragging_a_node_moves_it_as_one_undo_step_snapped_to_the_grid(window, mouse, mlp_graph):
    window.set_project(Project(mlp_graph), None)
    window.actual_size()
    item = window.scene.nodes["n3"]
    window.view.centerOn(item.center())
    start = item.pos() + QPointF(60, 40)
    mouse.drag(start, start + QPointF(73, 121))
    x, y = window.project.graph.nodes["n3"].pos
    assert (x, y) != (0.0, 320.0)
    assert x % 20 == 0 and y % 20 == 0
    assert window.editor.stack.undoText().startswith("Move")
    window.editor.stack.undo()
    assert window.project.graph.nodes["n3"].pos == (0.0, 320.0)
    assert (item.pos().x(), item.pos().y()) == (0.0, 320.0)


def test_tab_opens_quick_add_and_enter_adds_the_filtered_layer(window, qtbot):
    qtbot.keyClick(window.view, Qt.Key_Tab)
    popup = window.quick_add
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClicks(popup.search, "maxpool2")
    assert popup.list.currentItem().text().startswith("MaxPool2d")
    qtbot.keyClick(popup.search, Qt.Key_Return)
    assert [n.type_id for n in window.project.graph.nodes.values()] == ["MaxPool2d"]
    assert not popup.isVisible()


def test_double_click_on_empty_canvas_opens_quick_add(window, mouse, qtbot):
    from PySide6.QtTest import QTest

    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, mouse.point(QPointF(0, 0)))
    qtbot.waitUntil(window.quick_add.isVisible)
    qtbot.keyClick(window.quick_add.search, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.quick_add.isVisible())
    assert not window.project.graph.nodes


def test_palette_search_then_enter_adds_at_the_centre(window, qtbot):
    qtbot.keyClicks(window.palette.search, "gelu")
    assert window.palette.visible_type_ids() == ["GELU"]
    qtbot.keyClick(window.palette.search, Qt.Key_Return)
    (node,) = window.project.graph.nodes.values()
    assert node.type_id == "GELU"
    assert window.scene.node_at(window.view.visible_center()) == node.id


def test_wheel_zooms_under_the_mouse_and_fit_shows_everything(window, qtbot):
    from tests.builders import chain

    window.resize(1200, 900)
    window.set_project(Project(chain(("Input", {"shape": [4]}), ("Linear", {"out_features": 2}), ("Output", {}))),
                       None)
    view = window.view
    before = view.zoom()
    qtbot.wheel = None
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    at = view.viewport().rect().center()
    event = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(0, 0), QPoint(0, 240),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom() > before
    qtbot.keyClick(view, Qt.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.graph_rect())


def test_auto_layout_orders_layers_top_to_bottom(window, mlp_graph, qtbot):
    for i, node in enumerate(list(mlp_graph.nodes.values())):
        mlp_graph.move(node.id, (-i * 300.0, 0.0))  # a row, backwards
    window.set_project(Project(mlp_graph), None)
    qtbot.keyClick(window.view, Qt.Key_L, Qt.ControlModifier)
    ys = [n.pos[1] for n in window.project.graph.nodes.values()]
    assert ys == sorted(ys) and len(set(ys)) == 5
    assert {n.pos[0] for n in window.project.graph.nodes.values()} == {0.0}
    assert window.editor.stack.undoText() == "Auto layout"


def test_fit_to_view_stops_at_a_readable_zoom_and_shows_the_top(window, qtbot):
    from app.canvas.view import READABLE_ZOOM

    window.resize(1000, 700)
    window.open_project(TEMPLATES / "residual_cnn_digits.json")
    window.show_network("ResidualBlock")
    view = window.view
    qtbot.keyClick(view, Qt.Key_F)
    assert view.zoom() >= READABLE_ZOOM - 1e-9
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    first = min(window.scene.nodes.values(), key=lambda item: item.pos().y())
    assert visible.contains(first.sceneBoundingRect())  # the network's start, not the middle


def test_actual_size_centres_on_the_network(window, mlp_graph):
    for node in mlp_graph.nodes.values():
        mlp_graph.move(node.id, (node.pos[0] + 5000, node.pos[1] + 3000))  # far from the origin
    window.set_project(Project(mlp_graph), None)
    window.view.centerOn(0, 0)
    window.actual_size()
    view = window.view
    assert view.zoom() == 1.0
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.intersects(window.scene.graph_rect())
    assert abs(visible.center().x() - window.scene.graph_rect().center().x()) < visible.width() / 2


def test_a_refused_edit_changes_nothing_and_says_why(window, mlp_graph):
    window.set_project(Project(mlp_graph), None)
    from graph_builder.graph import Rename

    assert not window.editor.push(Rename("n2", "relu"))
    assert window.project.graph.nodes["n2"].name == "linear"
    assert "already named 'relu'" in window.statusBar().currentMessage()
    assert window.editor.stack.count() == 0
