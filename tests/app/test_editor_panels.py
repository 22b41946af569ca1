"""Inspector, problems panel and summary: edits through widgets reach the model and the canvas follows."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox

from graph_builder.graph import Edge, Graph
from graph_builder.project import Project


def cnn_graph() -> Graph:
    graph = Graph()
    x = graph.add_node("Input", params={"shape": [1, 8, 8]}, pos=(0, 0))
    conv = graph.add_node("Conv2d", params={"out_channels": 4, "kernel_size": 3}, pos=(300, 0))
    flat = graph.add_node("Flatten", pos=(600, 0))
    fc = graph.add_node("Linear", params={"out_features": 10}, pos=(900, 0))
    out = graph.add_node("Output", pos=(1200, 0))
    for a, b in ((x, conv), (conv, flat), (flat, fc), (fc, out)):
        graph.connect(a.id, b.id)
    return graph


def select(window, mouse, node_id):
    mouse.click(window.scene.nodes[node_id].center())
    assert window.inspector.node_id == node_id


def test_changing_a_parameter_in_the_inspector_updates_the_wire_label(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    wire = window.scene.edges[Edge("n2", "n3")]
    assert wire.label == "(N, 4, 6, 6)"
    select(window, mouse, "n2")
    spin: QSpinBox = window.inspector.fields["out_channels"]
    spin.selectAll()
    qtbot.keyClicks(spin, "16")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert window.project.graph.nodes["n2"].params["out_channels"] == 16
    qtbot.waitUntil(lambda: wire.label == "(N, 16, 6, 6)")
    assert window.scene.edges[Edge("n3", "n4")].label == "(N, 576)"
    assert window.scene.nodes["n4"].param_count == 576 * 10 + 10
    assert window.editor.stack.undoText() == "Set out_channels"


def test_a_tuple_parameter_is_typed_as_text(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    select(window, mouse, "n2")
    field = window.inspector.fields["kernel_size"]
    field.selectAll()
    qtbot.keyClicks(field, "3, 5")
    qtbot.keyClick(field, Qt.Key_Return)
    assert window.project.graph.nodes["n2"].params["kernel_size"] == (3, 5)
    qtbot.waitUntil(lambda: window.scene.edges[Edge("n2", "n3")].label == "(N, 4, 6, 4)")


def test_an_invalid_value_is_rejected_with_the_reason_and_the_old_value_kept(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    select(window, mouse, "n2")
    field = window.inspector.fields["kernel_size"]
    field.selectAll()
    qtbot.keyClicks(field, "big")
    qtbot.keyClick(field, Qt.Key_Return)
    error = window.inspector.errors["kernel_size"]
    assert not error.isHidden()
    assert "kernel_size" in error.text() and "'big'" in error.text()
    assert window.project.graph.nodes["n2"].params["kernel_size"] == 3
    assert field.text() == "3"
    assert window.editor.stack.count() == 0


def test_undo_updates_the_open_inspector_without_a_new_edit(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    select(window, mouse, "n4")
    spin = window.inspector.fields["out_features"]
    spin.selectAll()
    qtbot.keyClicks(spin, "7")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert window.editor.stack.count() == 1
    window.editor.stack.undo()
    assert spin.value() == 10
    assert window.editor.stack.count() == 1 and window.editor.stack.index() == 0  # no echo edit


def test_rename_in_the_inspector_and_a_taken_name_is_refused(window, mouse, qtbot):
    window.set_project(Project(cnn_graph()), None)
    select(window, mouse, "n4")
    edit = window.inspector.name_edit
    edit.selectAll()
    qtbot.keyClicks(edit, "classifier")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert window.project.graph.nodes["n4"].name == "classifier"
    qtbot.waitUntil(lambda: window.scene.nodes["n4"].name == "classifier")
    edit.selectAll()
    qtbot.keyClicks(edit, "flatten")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert window.project.graph.nodes["n4"].name == "classifier"
    assert "already named 'flatten'" in window.inspector.name_error.text()


def test_inferred_parameters_are_shown_read_only_with_their_source(window, mouse):
    window.set_project(Project(cnn_graph()), None)
    select(window, mouse, "n4")
    text = window.inspector.inferred_box.text()
    assert "in_features" in text and "= 144" in text and "flatten" in text
    assert "in_features" not in window.inspector.fields


def test_a_shape_mismatch_shows_a_badge_with_the_message_as_tooltip(window, mouse, qtbot):
    graph = cnn_graph()
    graph.remove_node("n3")  # no Flatten: Linear sees (N, 4, 6, 6); make it a hard error with Conv1d
    graph.connect("n2", "n4")
    window.set_project(Project(graph), None)
    linear = window.scene.nodes["n4"]
    assert linear.badge == "warning" and "insert a Flatten" in linear.toolTip()
    window.editor.push(graph.add_node_command("Conv1d", params={"out_channels": 2, "kernel_size": 3}))
    conv1d = [n for n in graph.nodes if n not in ("n1", "n2", "n4", "n5")][0]
    from graph_builder.graph import Connect, Disconnect

    window.editor.push(Disconnect(Edge("n1", "n2")))
    window.editor.push(Connect(Edge("n1", conv1d)))
    qtbot.waitUntil(lambda: window.scene.nodes[conv1d].badge == "error")
    tooltip = window.scene.nodes[conv1d].toolTip()
    assert "expects" in tooltip and "(N, 1, 8, 8)" in tooltip
    assert window.scene.edges[Edge("n1", conv1d)].error
    assert "error" in window.problem_label.text()


def test_clicking_a_problem_selects_and_centres_its_node(window, mouse, qtbot):
    graph = cnn_graph()
    graph.remove_node("n5")
    graph.move("n4", (3000.0, 2000.0))
    window.set_project(Project(graph), None)
    tree = window.problems.tree
    row = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
               if "no Output" in tree.topLevelItem(i).text(0))
    rect = tree.visualItemRect(row)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.scene.selected_node_ids() == ["n4"]
    center = window.view.visible_center()
    assert window.scene.nodes["n4"].sceneBoundingRect().adjusted(-5, -5, 5, 5).contains(center)


def test_applying_a_suggested_fix_inserts_the_layer_in_one_undo_step(window, qtbot):
    graph = cnn_graph()
    graph.remove_node("n3")
    graph.connect("n2", "n4")
    window.set_project(Project(graph), None)
    (button,) = window.problems.fix_buttons
    assert button.text() == "Insert Flatten before linear"
    qtbot.mouseClick(button, Qt.LeftButton)
    types = [graph.nodes[e.src].type_id + ">" + graph.nodes[e.dst].type_id for e in graph.edges]
    assert "Conv2d>Flatten" in types and "Flatten>Linear" in types
    qtbot.waitUntil(lambda: not window.validation.issues)
    assert "No problems" in window.problems.heading.text()
    window.editor.stack.undo()
    assert "Flatten" not in {n.type_id for n in graph.nodes.values()}


def test_summary_totals_follow_the_batch_size(window):
    window.set_project(Project(cnn_graph()), None)
    assert window.summary.batch.value() == window.project.training.value("batch_size")  # follows training
    summary = window.summary.summary
    assert summary.total_params == (4 * 9 + 4) + (144 * 10 + 10)
    assert [row[0] for row in summary.rows] == ["input", "conv2d", "flatten", "linear", "output"]
    small = summary.memory_bytes
    window.summary.batch.setValue(128)
    assert window.summary.summary.memory_bytes > small
    assert "1.49 k params" in window.summary_label.text()
    assert "batch 128" in window.summary_label.text()  # the status bar follows the chosen batch size
