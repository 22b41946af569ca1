"""The Evaluate workspace's Inside panel, in the real window: a run of an image template and of a table
template, a sample explained with real clicks, its node outputs and its attribution map as displayed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from runtime.cli import main


def trained_project(tmp_path: Path, template: str) -> Path:
    """A saved template with one run in its runs folder (the CLI's trainer, one epoch)."""
    project = tmp_path / f"{template}.json"
    assert main(["new", "--template", template, str(project)]) == 0
    assert main(["train", str(project), "--epochs", "1", "--device", "cpu"]) == 0
    return project


def open_inside(qtbot, window, project: Path):
    """Open the project, go to Evaluate by its tab and bring the Inside panel to the front."""
    assert window.open_project(project)
    c = window.training
    qtbot.waitUntil(lambda: c.built and c.current_run is not None, timeout=20000)
    tabs = window.workspaces.tabs
    qtbot.mouseClick(tabs, Qt.LeftButton, pos=tabs.tabRect(window.workspaces.names().index("Evaluate")).center())
    qtbot.waitUntil(lambda: window.workspaces.current == "Evaluate")
    dock = c.docks["explain_dock"]
    dock.raise_()
    qtbot.waitUntil(dock.isVisible)
    return c.explain_panel


def choose_method(qtbot, panel, method: str) -> None:
    combo = panel.method
    combo.setFocus()
    index = combo.findData(method)
    while combo.currentIndex() != index:  # arrow keys, as a user steps through the list
        qtbot.keyClick(combo, Qt.Key_Down if combo.currentIndex() < index else Qt.Key_Up)


def explain(qtbot, panel) -> None:
    with qtbot.waitSignal(panel.explained, timeout=60000):
        qtbot.mouseClick(panel.explain_button, Qt.LeftButton)


def click_node(qtbot, panel, name: str) -> None:
    row = next(i for i in range(panel.nodes.count()) if panel.nodes.item(i).text().split("  ")[0] == name)
    rect = panel.nodes.visualItemRect(panel.nodes.item(row))
    qtbot.mouseClick(panel.nodes.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: panel.nodes.currentRow() == row)


def test_an_image_run_shows_feature_maps_and_a_grad_cam_overlay(window, qtbot, tmp_path):
    panel = open_inside(qtbot, window, trained_project(tmp_path, "lenet_digits"))
    choose_method(qtbot, panel, "gradcam")
    assert panel.layer.isEnabled()
    explain(qtbot, panel)
    names = [panel.nodes.item(i).text().split("  ")[0] for i in range(panel.nodes.count())]
    assert names[0] == "digit" and "conv1" in names and names[-1] == "logits"
    assert [panel.layer.itemText(i) for i in range(panel.layer.count())] == ["conv1", "conv2"]
    assert "Grad-CAM at conv2" in panel.message.text()

    click_node(qtbot, panel, "conv1")  # 16 maps of 8 × 8 in a 4 × 4 grid with 1-pixel gaps
    grid = panel.node_image.image
    assert panel.node_image.isVisible() and grid.shape == (4 * 9 - 1, 4 * 9 - 1)
    assert grid.max() == pytest.approx(1.0) and grid.min() == 0.0
    click_node(qtbot, panel, "fc1")  # a vector: one bar per unit
    assert panel.node_bars.isVisible() and not panel.node_image.isVisible()
    assert len(panel.node_bars.opts["height"]) == 64

    overlay = panel.map_image.image  # the 8 × 8 digit enlarged, with the heat map over it
    assert overlay.shape == (256, 256, 3) and overlay.dtype == np.uint8
    assert overlay.reshape(-1, 3).std(axis=0).max() > 10  # a picture, not a flat colour

    choose_method(qtbot, panel, "saliency")
    explain(qtbot, panel)
    assert "Saliency" in panel.message.text() and panel.nodes.currentItem().text().startswith("fc1")
    assert not np.array_equal(panel.map_image.image, overlay)

    c = window.training  # a confusion cell's most confident sample is the next one to explain
    c.docks["dashboard_dock"].raise_()
    view = c.dashboard.confusion
    qtbot.waitUntil(lambda: view.matrix is not None and view.isVisible(), timeout=10000)
    true = int(np.argmax(np.diag(view.matrix)))  # a diagonal cell that holds samples
    point = view._widget.mapFromScene(view.image.mapToScene(QPointF(true + 0.5, true + 0.5)))
    with qtbot.waitSignal(c.inference_panel.cell_shown, timeout=60000):
        qtbot.mouseClick(view._widget.viewport(), Qt.LeftButton, pos=point)
    first = int(c.inference_panel.cell_indices[0])
    assert panel.index.value() == first and panel.split.currentText() == c.inference_panel.cell_split
    c.docks["explain_dock"].raise_()
    explain(qtbot, panel)
    assert panel.message.text().startswith(f"{panel.split.currentText()} sample {first} (true {true})")


def test_a_table_run_shows_per_feature_attributions_by_name(window, qtbot, tmp_path):
    panel = open_inside(qtbot, window, trained_project(tmp_path, "mlp_iris"))
    choose_method(qtbot, panel, "integrated_gradients")
    assert not panel.layer.isEnabled()
    panel.index.setFocus()
    panel.index.selectAll()
    qtbot.keyClicks(panel.index, "3")
    explain(qtbot, panel)
    assert panel.message.text().startswith("test sample 3")
    bars = panel.map_bars.opts["height"]
    assert panel.map_bars.isVisible() and len(bars) == 4 and np.abs(bars).sum() > 0
    ticks = panel.map_plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                           "petal width (cm)"]
    click_node(qtbot, panel, "hidden")
    assert len(panel.node_bars.opts["height"]) == 32

    choose_method(qtbot, panel, "gradcam")  # a network without a Conv2d node says so in one line
    explain_failed = panel.message.text
    qtbot.mouseClick(panel.explain_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "Conv2d" in explain_failed(), timeout=60000)
    assert explain_failed().startswith("Could not explain the sample: gradcam needs a Conv2d node")
