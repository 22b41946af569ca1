"""Panning the canvas with a middle drag or space+drag moves the view, never the layers."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from graph_builder.project import Project


def scene_at_centre(view) -> QPointF:
    return view.mapToScene(view.viewport().rect().center())


def drag_pixels(view, button, start: QPoint, delta: QPoint, steps: int = 5) -> None:
    viewport = view.viewport()
    QTest.mousePress(viewport, button, Qt.NoModifier, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + delta * i / steps)
    QTest.mouseRelease(viewport, button, Qt.NoModifier, start + delta)


def empty_spot(window) -> QPoint:
    """A viewport pixel with no layer under it (above the graph)."""
    top = min(item.sceneBoundingRect().top() for item in window.scene.nodes.values())
    return window.view.mapFromScene(QPointF(window.scene.nodes["n1"].center().x(), top - 60))


def test_middle_drag_pans_by_the_dragged_distance(window, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    view = window.view
    before_nodes = {i: n.pos for i, n in window.project.graph.nodes.items()}
    before = scene_at_centre(view)
    drag_pixels(view, Qt.MiddleButton, empty_spot(window), QPoint(-120, -80))
    moved = before - scene_at_centre(view)
    zoom = view.zoom()
    assert abs(moved.x() * zoom - (-120)) <= 2 and abs(moved.y() * zoom - (-80)) <= 2
    assert {i: n.pos for i, n in window.project.graph.nodes.items()} == before_nodes
    assert not window.editor.stack.canUndo()  # panning is not an edit


def test_space_and_left_drag_pans_but_a_plain_left_drag_does_not(window, mlp_graph, qtbot):
    window.set_project(Project(mlp_graph), None)
    view = window.view
    view.setFocus()
    start = empty_spot(window)

    before = scene_at_centre(view)
    drag_pixels(view, Qt.LeftButton, start, QPoint(60, 0))  # plain drag: a rubber band, no pan
    assert scene_at_centre(view) == before

    QTest.keyPress(view, Qt.Key_Space)
    assert view.viewport().cursor().shape() == Qt.OpenHandCursor
    drag_pixels(view, Qt.LeftButton, start, QPoint(100, 40))
    QTest.keyRelease(view, Qt.Key_Space)
    moved = before - scene_at_centre(view)
    zoom = view.zoom()
    assert abs(moved.x() * zoom - 100) <= 2 and abs(moved.y() * zoom - 40) <= 2
    assert view.viewport().cursor().shape() == Qt.ArrowCursor
