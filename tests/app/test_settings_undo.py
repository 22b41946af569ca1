"""Settings belong to the document: edits are undo steps, opening a project replaces every setting,
one gesture is one step, and the wheel changes only a focused field. Driven by real keys and mice."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSpinBox

from graph_builder.settings import validate_training_section

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def training_editor(window, name: str):
    return window.training.training_panel.form.editors[name]


def type_into(qtbot, editor, text: str) -> None:
    """Replace a spin box's text by typing, then press Enter."""
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key_Enter)


def press_train_and_capture(window, qtbot, monkeypatch) -> dict:
    """Click the Train button and return the project snapshot it hands the training child."""
    sent = []
    monkeypatch.setattr(window.training.bridge, "start", lambda project, run_dir, *more, **options: sent.append(project))
    qtbot.mouseClick(window.training.training_panel.train_button, Qt.LeftButton)
    assert len(sent) == 1, window.training.dashboard.status.text()
    return sent[0]


def wheel(widget, steps: int = 1) -> None:
    """A real wheel event over the middle of `widget` (one notch per step, scrolling up)."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(), QPoint(0, 120 * steps),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_opening_a_template_after_lenet_trains_with_its_own_settings_not_lenets(app_window, qtbot, monkeypatch):
    window = app_window
    assert window.open_project(TEMPLATES / "lenet_digits.json")
    assert training_editor(window, "optimizer").currentData() == "adamw"
    type_into(qtbot, training_editor(window, "epochs"), "60")  # a user edit in the LeNet project
    assert window.project.training["epochs"] == 60
    window.discard_changes()
    assert window.open_project(TEMPLATES / "residual_cnn_digits.json")
    # The panel shows the residual template's values and the schema's defaults for the rest.
    assert training_editor(window, "optimizer").currentData() == "adam"
    assert training_editor(window, "weight_decay").value() == 0.0
    assert training_editor(window, "epochs").value() == 15
    run = validate_training_section(press_train_and_capture(window, qtbot, monkeypatch)["training"],
                                    fill_defaults=True)
    assert (run["optimizer"], run["weight_decay"], run["epochs"], run["lr"]) == ("adam", 0.0, 15, 0.002)


def test_a_project_with_an_empty_training_section_reopens_with_the_defaults(app_window, qtbot, monkeypatch,
                                                                            tmp_path):
    window = app_window
    residual = json.loads((TEMPLATES / "residual_cnn_digits.json").read_text())
    tuned, plain = tmp_path / "tuned.json", tmp_path / "plain.json"
    tuned.write_text(json.dumps({**residual, "training": {"epochs": 60, "optimizer": "adamw"}}))
    plain.write_text(json.dumps({**residual, "training": {}}))
    assert window.open_project(tuned)
    assert training_editor(window, "epochs").value() == 60
    assert window.open_project(plain)
    assert training_editor(window, "epochs").value() == 10
    assert training_editor(window, "optimizer").currentData() == "adam"
    snapshot = press_train_and_capture(window, qtbot, monkeypatch)
    assert snapshot["training"] == {}
    run = validate_training_section(snapshot["training"], fill_defaults=True)
    assert (run["epochs"], run["optimizer"]) == (10, "adam")


def test_ctrl_z_undoes_a_settings_edit_and_the_form_follows(app_window, qtbot):
    window = app_window
    epochs = training_editor(window, "epochs")
    type_into(qtbot, epochs, "25")
    assert window.project.training["epochs"] == 25
    assert window.editor.stack.count() == 1 and window.editor.stack.undoText() == "Set epochs"
    assert window.isWindowModified()  # the undo stack alone says there is unsaved work
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert "epochs" not in window.project.training
    assert epochs.value() == 10 and not window.isWindowModified()
    qtbot.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.project.training["epochs"] == 25 and epochs.value() == 25
    assert window.editor.stack.count() == 1  # the form's update did not come back as an edit


def test_a_dataset_choice_is_one_undo_step_that_the_data_panel_follows(app_window, qtbot):
    window = app_window
    combo = window.training.data_panel.form.editors["name"]
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key_Down)  # digits -> iris, from the keyboard
    assert window.project.dataset["name"] == "iris"
    window.editor.stack.undo()
    assert "name" not in window.project.dataset and combo.currentData() == "digits"


def test_arrow_key_ticks_are_one_undo_step_until_focus_leaves(app_window, qtbot):
    window = app_window
    batch = training_editor(window, "batch_size")
    batch.setFocus()
    for _ in range(5):
        qtbot.keyClick(batch, Qt.Key_Up)
    assert window.project.training["batch_size"] == 69
    assert window.editor.stack.count() == 1
    window.view.setFocus()  # the gesture ends
    batch.setFocus()
    qtbot.keyClick(batch, Qt.Key_Up)
    assert window.editor.stack.count() == 2
    window.editor.stack.undo()
    window.editor.stack.undo()
    assert "batch_size" not in window.project.training and batch.value() == 64


def test_typing_a_number_is_one_undo_step(app_window, qtbot):
    window = app_window
    type_into(qtbot, training_editor(window, "epochs"), "123")
    assert window.project.training["epochs"] == 123 and window.editor.stack.count() == 1


def test_holding_the_mouse_on_a_spin_arrow_is_one_undo_step(app_window, qtbot):
    window = app_window
    window.training._show("training_dock")
    spin = training_editor(window, "epochs")
    qtbot.waitUntil(spin.isVisible)
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    up = spin.style().subControlRect(QStyle.CC_SpinBox, option, QStyle.SC_SpinBoxUp, spin).center()
    qtbot.mousePress(spin, Qt.LeftButton, pos=up)
    qtbot.waitUntil(lambda: spin.value() >= 14, timeout=10000)  # the arrow repeats while held
    qtbot.mouseRelease(spin, Qt.LeftButton, pos=up)
    ticks = window.project.training["epochs"]
    assert ticks >= 14
    assert window.editor.stack.count() == 1
    window.editor.stack.undo()
    assert "epochs" not in window.project.training and spin.value() == 10


def test_the_wheel_changes_a_settings_field_only_when_it_has_focus(app_window, qtbot):
    window = app_window
    window.training._show("training_dock")
    epochs, optimizer = training_editor(window, "epochs"), training_editor(window, "optimizer")
    qtbot.waitUntil(epochs.isVisible)
    window.view.setFocus()
    wheel(epochs)
    wheel(optimizer)
    assert epochs.value() == 10 and optimizer.currentData() == "adam"
    assert dict(window.project.training) == {} and window.editor.stack.count() == 0
    epochs.setFocus()
    qtbot.waitUntil(epochs.hasFocus)
    wheel(epochs)
    assert window.project.training["epochs"] == 11


def test_the_wheel_over_the_inspector_leaves_an_inputs_dtype_alone(window, mouse, mlp_graph, qtbot):
    from graph_builder.project import Project

    window.set_project(Project(mlp_graph), None)
    node = window.project.graph.inputs()[0]
    mouse.click(window.scene.nodes[node.id].center())
    dtype = window.inspector.fields["dtype"]
    qtbot.waitUntil(dtype.isVisible)
    window.view.setFocus()
    wheel(dtype)
    wheel(dtype, -1)
    assert node.params["dtype"] == "float32" and window.editor.stack.count() == 0
    dtype.setFocus()
    qtbot.waitUntil(dtype.hasFocus)
    wheel(dtype, -1)  # focused: the wheel is the user's choice
    assert node.params["dtype"] == "int64" and window.editor.stack.count() == 1


def test_inspector_spin_ticks_merge_into_one_step(window, mouse, mlp_graph, qtbot):
    from graph_builder.project import Project

    window.set_project(Project(mlp_graph), None)
    linear = next(n for n in window.project.graph.nodes.values() if n.type_id == "Linear")
    mouse.click(window.scene.nodes[linear.id].center())
    spin = window.inspector.fields["out_features"]
    spin.setFocus()
    for _ in range(3):
        qtbot.keyClick(spin, Qt.Key_Up)
    assert linear.params["out_features"] == 35 and window.editor.stack.count() == 1
    window.editor.stack.undo()
    assert linear.params["out_features"] == 32 and spin.value() == 32
