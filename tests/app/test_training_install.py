"""The training hook in the main window: docks and menus, deferred build, settings sync."""

import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import Qt

from graph_builder.project import Project

ROOT = Path(__file__).resolve().parents[2]


def built(window, qtbot):
    qtbot.waitUntil(lambda: window.training.built, timeout=5000)
    return window.training


def test_window_has_training_docks_and_menus(window, qtbot):
    c = built(window, qtbot)
    titles = {d.windowTitle() for d in c.docks.values()}
    assert titles == {"Data", "Training", "Dashboard", "Runs", "Inference", "Inside", "Experiments"}
    assert [a.text() for a in window.menu("&Train").actions()] == ["&Train", "&Pause / Resume", "&Stop", "Open in Tensor&Board",
                                                                   "&Estimate Epoch Time"]
    assert {a.objectName() for a in window.menu("E&xport").actions()} == {
        "export_python", "export_script", "export_onnx", "export_onnx-int8", "export_weights", "export_pt2"}
    assert c.training_panel.train_button.isEnabled() and not c.training_panel.stop_button.isEnabled()


def test_opening_the_app_imports_neither_torch_nor_pyqtgraph_before_the_first_paint(tmp_path):
    code = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        from PySide6.QtCore import QTimer
        app = QApplication([])
        from app.main_window import MainWindow
        w = MainWindow()
        print("before-show", "torch" in sys.modules, "pyqtgraph" in sys.modules, flush=True)
        w.show()
        def done():
            print("after-build", w.training.built, "torch" in sys.modules, flush=True)
            w.discard_changes(); app.quit()
        QTimer.singleShot(1500, done)
        app.exec()
    """)
    env = {"PATH": "/usr/bin:/bin", "NETCANVAS_SETTINGS_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120).stdout
    assert "before-show False False" in out
    assert "after-build True False" in out  # the panels exist and torch is still not loaded


def test_training_settings_edit_the_project_and_follow_a_replaced_project(window, qtbot):
    c = built(window, qtbot)
    epochs = c.training_panel.form.editors["epochs"]
    epochs.selectAll()
    qtbot.keyClicks(epochs, "3")
    qtbot.keyClick(epochs, Qt.Key_Enter)
    assert window.project.training["epochs"] == 3
    assert c.snapshot()["training"]["epochs"] == 3
    window.set_project(Project(training={"epochs": 7}), None)
    assert c.training_panel.values()["epochs"] == 7


def test_train_on_a_broken_graph_says_what_to_fix_and_starts_nothing(window, qtbot):
    c = built(window, qtbot)
    qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
    assert not c.bridge.is_active
    text = c.dashboard.status.text()
    assert text.startswith("Failed: The graph has a problem to fix before training")
    assert "Input" in text
