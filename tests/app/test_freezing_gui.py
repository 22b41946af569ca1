"""Freezing in the editor: the lock badge, the inspector's Frozen box, the canvas's right-click menu, undo."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QContextMenuEvent, QImage, QPainter
from PySide6.QtWidgets import QApplication

from graph_builder.project import Project


def header_pixels(window, node_id: str) -> QImage:
    item = window.scene.nodes[node_id]
    rect = item.sceneBoundingRect()
    image = QImage(int(rect.width()), 40, QImage.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, rect.width(), 40), QRectF(rect.x(), rect.y(), rect.width(), 40))
    painter.end()
    return image


def test_freezing_from_the_inspector_draws_a_lock_and_undoes(make_window, mlp_graph, qtbot):
    window = make_window(Project(mlp_graph))
    linear = next(n for n in window.project.graph.nodes.values() if n.type_id == "Linear")
    window.scene.select_nodes([linear.id])
    qtbot.waitUntil(lambda: window.inspector.node_id == linear.id)
    before = header_pixels(window, linear.id)
    box = window.inspector.frozen_box
    assert not box.isChecked()
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(8, box.height() // 2))
    assert linear.frozen and window.scene.nodes[linear.id].frozen
    assert "Frozen" in window.scene.nodes[linear.id].toolTip()
    assert header_pixels(window, linear.id) != before  # the lock badge is drawn
    window.editor.stack.undo()
    assert not linear.frozen and not box.isChecked()
    assert header_pixels(window, linear.id) == before
    window.editor.stack.redo()
    assert linear.frozen and box.isChecked()


def test_the_canvas_menu_freezes_and_unfreezes_the_selection(make_window, mlp_graph, qtbot):
    window = make_window(Project(mlp_graph))
    graph = window.project.graph
    linears = [n.id for n in graph.nodes.values() if n.type_id == "Linear"]
    window.scene.select_nodes(linears)
    item = window.scene.nodes[linears[0]]
    point = window.view.mapFromScene(item.sceneBoundingRect().center())
    viewport = window.view.viewport()
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Mouse, point, viewport.mapToGlobal(point)))
    menu = window.design.last_canvas_menu
    qtbot.waitUntil(menu.isVisible)
    freeze = next(a for a in menu.actions() if a.text() == "Freeze")
    qtbot.mouseClick(menu, Qt.LeftButton, pos=menu.actionGeometry(freeze).center())
    qtbot.waitUntil(lambda: all(graph.nodes[n].frozen for n in linears))
    assert window.editor.stack.undoText().startswith("Freeze 2 nodes")
    qtbot.waitUntil(lambda: window.summary.summary.frozen_params == window.summary.summary.total_params)
    window.actions_by_text["Unfreeze"].trigger()  # Edit ▸ Unfreeze
    assert not any(graph.nodes[n].frozen for n in linears)


def test_last_blocks_preset_without_blocks_says_so_and_changes_nothing(make_window, mlp_graph, qtbot):
    window = make_window(Project(mlp_graph))
    before = window.project.graph.to_dict()
    assert not window.transfer.apply_preset("last-blocks")
    assert "no blocks" in window.statusBar().currentMessage()
    assert window.transfer.apply_preset("feature-extraction")  # the weights are read off the GUI thread
    qtbot.waitUntil(lambda: "no node of this network has pretrained weights" in window.statusBar().currentMessage(),
                    timeout=60000)  # the job imports torch first: seconds on a busy machine
    assert window.project.graph.to_dict() == before
