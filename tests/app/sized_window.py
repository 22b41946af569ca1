"""The window at the sizes people use most, 1366×768 and 1920×1080: what must fit does.

Not collected on its own (the default offscreen screen is 800×800): test_sized_window.py runs this
file in a child pytest on a 1920×1080 offscreen screen.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStyle

from app.canvas.view import READABLE_ZOOM
from app.theme import RESOURCES
from graph_builder.graph import RemoveNode
from graph_builder.project import Project
from tests.builders import chain

TEMPLATES = RESOURCES / "templates"


@pytest.fixture
def sized(window, qtbot):
    """resize(w, h): the window at that size, its workspace laid out afresh for it."""
    screen = window.screen().availableGeometry()
    if screen.width() < 1920 or screen.height() < 1080:
        pytest.skip("needs a 1920×1080 screen: tests/app/test_sized_window.py runs this file on one")

    def resize(width: int, height: int):
        window.resize(width, height)
        qtbot.waitUntil(lambda: window.width() == width and window.height() == height)
        window.workspaces.reset()  # the default layout of this size, as a first start at it shows
        QApplication.processEvents()
        return window

    return resize


def seven_layers() -> Project:
    return Project(chain(("Input", {"shape": [1, 8, 8]}), ("Flatten", {}), ("Linear", {"out_features": 128}),
                         ("ReLU", {}), ("Dropout", {"p": 0.2}), ("Linear", {"out_features": 10}), ("Output", {})),
                   {"name": "digits"}, {})


def every_node_inside(window) -> bool:
    view = window.view
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    return all(visible.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())


def test_fit_to_view_shows_every_node_of_a_7_node_chain_at_a_readable_zoom_at_1366x768(sized, qtbot):
    window = sized(1366, 768)
    window.set_project(seven_layers(), None)
    qtbot.waitUntil(lambda: window._docks["problemsDock"].height() < 70)  # no problems: one line
    view = window.view
    qtbot.keyClick(view, Qt.Key_L, Qt.ControlModifier)  # Auto Layout: the rows the app draws a chain in
    view.zoom_about_center(2.5)
    qtbot.keyClick(view, Qt.Key_F)  # Fit to View
    assert view.zoom() >= max(READABLE_ZOOM, 0.6) - 1e-9
    assert every_node_inside(window)


def test_the_7_node_mlp_template_opens_whole_and_readable_at_1366x768(sized, qtbot):
    window = sized(1366, 768)
    assert window.open_project(TEMPLATES / "mlp_digits.json")
    assert len(window.project.graph.nodes) == 7
    qtbot.waitUntil(lambda: every_node_inside(window))
    assert window.view.zoom() >= 0.6 - 1e-9


def test_the_train_workspace_shares_the_height_between_canvas_and_dashboard_at_1366x768(sized, qtbot):
    window = sized(1366, 768)
    window.set_project(seven_layers(), None)
    window.workspaces.show("Train")
    window.workspaces.reset()
    dashboard = window._docks["dashboard_dock"]
    qtbot.waitUntil(dashboard.isVisible)
    # The network being trained stays in sight (a strip of a node or two is no view of it), and the
    # curves keep the larger part.
    qtbot.waitUntil(lambda: window.view.viewport().height() >= 0.35 * window.height())
    assert dashboard.height() >= 0.4 * window.height()
    assert dashboard.height() >= dashboard.minimumSizeHint().height()


def test_the_problems_dock_is_as_tall_as_what_it_lists(sized, qtbot):
    window = sized(1366, 768)
    window.set_project(seven_layers(), None)
    dock = window._docks["problemsDock"]
    assert "No problems" in window.problems.heading.text()
    qtbot.waitUntil(lambda: dock.height() < 70)  # one line: its title and the heading, not a quarter of the window
    graph = window.project.graph
    for node in list(graph.nodes.values())[1:4]:  # three wires gone: three problems
        window.editor.push(RemoveNode(node.id))
    tree = window.problems.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() >= 3)
    qtbot.waitUntil(lambda: all(tree.viewport().rect().contains(tree.visualItemRect(tree.topLevelItem(i)))
                                for i in range(tree.topLevelItemCount())))  # every row in view, no scrolling
    assert dock.height() < 0.4 * window.height()
    assert window.view.viewport().height() > 0.5 * window.height()


def test_the_trials_table_shows_every_column_whole_without_scrolling_at_1920x1080(sized, qtbot):
    from tests.app.test_experiments_panel import four_trial_study

    window = sized(1920, 1080)
    panel = four_trial_study(window, qtbot)
    window.workspaces.reset()
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.isVisible() and table.width() > 600)  # the splitter's largest share
    assert table.columnCount() == 6 and not table.horizontalScrollBar().isVisible()
    margin = table.style().pixelMetric(QStyle.PM_FocusFrameHMargin) + 1  # a cell's text margin, each side
    for col in range(table.columnCount()):
        title = table.horizontalHeaderItem(col).text()
        right = header.sectionViewportPosition(col) + header.sectionSize(col)
        assert 0 <= header.sectionViewportPosition(col) and right <= header.viewport().width(), title
        assert header.fontMetrics().horizontalAdvance(title) + 12 <= header.sectionSize(col), title
        for row in range(table.rowCount()):
            text = table.item(row, col).text()
            assert table.fontMetrics().horizontalAdvance(text) + 2 * margin <= header.sectionSize(col), (title, text)
