"""A run that fails with a NaN marks the node where it started and lists why in Problems, until the network is
edited or another run starts; the mark is derived from the run's outcome, so Undo brings it back."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from graph_builder.project import Project
from tests.builders import chain


def problem_rows(window) -> list[str]:
    tree = window.problems.tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def nan_rows(window) -> list[str]:
    return [row for row in problem_rows(window) if row.startswith("The loss became NaN")]


def click_node(window, node_id) -> None:
    view = window.view
    point = view.mapFromScene(QPointF(window.scene.nodes[node_id].center()))
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert window.inspector.node_id == node_id


def test_a_nan_run_marks_its_node_and_lists_it_until_the_network_changes_or_a_run_starts(window, qtbot):
    g = chain(("Input", {"shape": (4,)}), ("Linear", "lin", {"out_features": 8}), ("Log", "log1", {}),
              ("Linear", "head", {"out_features": 3}), ("Output", {}), step=(0.0, 200.0))
    window.set_project(Project(g, {"name": "iris"}, {"epochs": 2}), None, unsaved=True)
    log1, head = g.node_by_name("log1").id, g.node_by_name("head").id
    c = window.training
    assert window.scene.nodes[log1].badge is None and not nan_rows(window)

    with qtbot.waitSignal(c.run_finished, timeout=120000) as ended:
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert ended.args[0] == "diverged"
    rows = nan_rows(window)
    assert len(rows) == 1 and "node 'log1' (Log) produced NaN from inputs in [" in rows[0]
    assert "log of a non-positive value" in rows[0]
    item = window.scene.nodes[window.project.graph.node_by_name("log1").id]
    assert item.badge == "warning" and "node 'log1' (Log)" in item.toolTip()

    click_node(window, head)  # an edit that changes the network: the mark goes
    qtbot.keyClick(window.view, Qt.Key_Delete)
    qtbot.waitUntil(lambda: not nan_rows(window))
    assert all(i.code != "nan_origin" for i in window.validation.issues)
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)  # the network the run trained: the run's outcome again
    qtbot.waitUntil(lambda: len(nan_rows(window)) == 1)
    assert window.scene.nodes[log1].badge == "warning"

    with qtbot.waitSignal(c.run_finished, timeout=120000):
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
        assert not nan_rows(window) and window.scene.nodes[log1].badge is None  # a new run: no mark of the old one
    assert len(nan_rows(window)) == 1  # the new run failed the same way and marks the node again
