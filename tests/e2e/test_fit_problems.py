"""A model that does not fit its data shows in the Problems panel as soon as it exists, before Train."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from graph_builder.datafit import BUILTIN, check_project_fit
from graph_builder.graph import Graph
from graph_builder.project import Project
from graph_builder.shapes import infer_shapes


def classifier(shape, classes=10) -> Graph:
    """features (Input) → Flatten → head (Linear) → scores (Output)."""
    g = Graph()
    nodes = [g.add_node("Input", name="features", params={"shape": shape}, pos=(0, 0)),
             g.add_node("Flatten", pos=(300, 0)),
             g.add_node("Linear", name="head", params={"out_features": classes}, pos=(600, 0)),
             g.add_node("Output", name="scores", pos=(900, 0))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    return g


def problem_rows(window) -> list[str]:
    tree = window.problems.tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def click_node(window, node_id) -> None:
    view = window.view
    point = view.mapFromScene(QPointF(window.scene.nodes[node_id].center()))
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    assert window.inspector.node_id == node_id


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_a_mismatched_input_shows_a_fit_problem_for_every_built_in_dataset(window, qtbot, name):
    dataset = {"name": name, "path": "/nowhere"} if name in ("mnist", "fashion_mnist", "cifar10") else {"name": name}
    project = Project(classifier((7, 3), classes=4), dataset, {})
    window.set_project(project, None)  # nothing is loaded: the description comes from the settings
    expected = check_project_fit(project, infer_shapes(project.graph))
    assert expected and expected[0].code == "fit-input-shape"
    message = expected[0].message
    assert message.startswith("features expects (N, 7, 3) but the ")  # the node's own name, not input_1
    qtbot.waitUntil(lambda: message in problem_rows(window))
    issue = next(i for i in window.validation.issues if i.message == message)
    assert issue.node_ids == (project.graph.inputs()[0].id,) and window.scene.nodes[issue.node_ids[0]].badge == "error"
    assert message in window.training.data_panel.fit.text()  # the Data panel says the same words
    qtbot.mouseClick(window.training.training_panel.train_button, Qt.LeftButton)
    assert not window.training.bridge.is_active  # refused before a child is spent on it
    assert message in window.training.dashboard.status.text()


def test_typing_a_wrong_input_shape_shows_the_problem_and_its_fix_repairs_it(window, qtbot):
    project = Project(classifier((1, 8, 8)), {"name": "digits"}, {})
    window.set_project(project, None)
    assert "No problems" in window.problems.heading.text()
    node = project.graph.inputs()[0]
    click_node(window, node.id)
    field = window.inspector.fields["shape"]
    field.selectAll()
    qtbot.keyClicks(field, "64")
    qtbot.keyClick(field, Qt.Key_Return)
    assert node.params["shape"] == (64,)
    message = ("features expects (N, 64) but the digits data gives (N, 1, 8, 8) per batch; set the shape of "
               "features to (1, 8, 8) and insert an Unflatten to (N, 64) after it")
    qtbot.waitUntil(lambda: message in problem_rows(window))
    (button,) = window.problems.fix_buttons
    assert button.text() == "Set the shape of features to (1, 8, 8)"
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "No problems" in window.problems.heading.text())
    assert node.params["shape"] == (1, 8, 8)


def test_choosing_other_data_in_the_data_panel_shows_the_mismatch_at_once(window, qtbot):
    project = Project(classifier((4,), classes=3), {"name": "iris"}, {})
    window.set_project(project, None)
    assert "No problems" in window.problems.heading.text()
    combo = window.training.data_panel.form.editors["name"]
    index = combo.findData("wine")
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    view.scrollTo(view.model().index(index, 0))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.visualRect(view.model().index(index, 0)).center())
    assert project.dataset["name"] == "wine"
    assert problem_rows(window) == ["features expects (N, 4) but the wine data gives (N, 13) per batch; set the "
                                    "shape of features to 13"]


def test_a_file_dataset_is_checked_against_its_last_load(window, qtbot, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("a,b,c,label\n" + "".join(f"{i},{i % 5},{i % 7},{i % 3}\n" for i in range(60)))
    project = Project(classifier((5,), classes=3), {"name": "csv", "path": str(table)}, {})
    window.set_project(project, None)
    assert "No problems" in window.problems.heading.text()  # not read yet: nothing is known about it
    data = window.training.data_panel
    qtbot.mouseClick(data.load_button, Qt.LeftButton)
    message = ("features expects (N, 5) but the data in table.csv gives (N, 3) per batch; set the shape of "
               "features to 3")
    qtbot.waitUntil(lambda: message in problem_rows(window), timeout=60000)
    assert data.fit.text() == message
    window.set_project(Project(classifier((5,), classes=3), {"name": "csv", "path": str(tmp_path / "other.csv")}),
                       None)
    assert "No problems" in window.problems.heading.text()  # that load says nothing about another file
