"""The `netcanvas` script: CLI commands never load Qt; the GUI path shows the window before torch."""

import subprocess
import sys

CHECK = """
import sys
from app.entry import main
code = main({argv!r})
loaded = sorted(m for m in ("PySide6", "torch") if m in sys.modules)
print("LOADED", loaded, "CODE", code)
"""


def run(argv):
    out = subprocess.run([sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True,
                         timeout=120)
    return out.stdout


def test_cli_command_never_imports_qt():
    out = run(["layers"])
    assert "Conv2d" in out  # the real command ran
    assert "LOADED [] CODE 0" in out


def test_open_without_a_file_is_a_usage_error_without_qt():
    out = run(["open"])
    assert "LOADED [] CODE 2" in out


def test_gui_start_paints_before_torch_is_imported(tmp_path):
    script = """
import os, sys
os.environ["NETCANVAS_REPORT_STARTUP"] = "exit"
from app.entry import main
code = main([])
print("TORCH", "torch" in sys.modules, "CODE", code)
"""
    env = {"QT_QPA_PLATFORM": "offscreen", "NETCANVAS_SETTINGS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert "first-paint" in out.stdout, out.stderr
    assert "TORCH False CODE 0" in out.stdout, out.stderr


def test_the_process_exits_cleanly_after_copying_layers(tmp_path):
    """Copied layers stay on the clipboard as text and the interpreter exits with 0, not a crash."""
    script = """
from PySide6.QtWidgets import QApplication
from graph_builder import Graph, Project
from app.main_window import MainWindow
app = QApplication([])
g = Graph()
a = g.add_node("Input", params={"shape": [4]}); b = g.add_node("ReLU"); g.connect(a.id, b.id)
w = MainWindow(Project(g))
w.scene.nodes[b.id].setSelected(True)
print("COPIED", w.clipboard.copy())
"""
    env = {"QT_QPA_PLATFORM": "offscreen", "NETCANVAS_SETTINGS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=env)
    assert "COPIED True" in out.stdout, out.stderr
    assert out.returncode == 0, f"exit code {out.returncode}: {out.stderr[-2000:]}"
