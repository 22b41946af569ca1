"""Editor benchmarks (not tests): start-up to first paint, opening a 500-node project, edit latency.

    .venv/bin/python bench/bench_editor.py

Each timing is printed with a peer measured in the same run:
- start-up vs a bare PySide6 window to first paint, and vs `import torch` alone (what the window
  would wait for if torch were imported first);
- open + draw vs building and painting the same number of plain Qt rectangles and paths;
- parameter edit -> updated badges and wire labels vs `check(graph)` alone.
Targets (DESIGN.md): start ≤ 1.5 s, open+draw 500 nodes ≤ 1 s, edit → view ≤ 50 ms.
Each figure is the median of its repeats, with the minimum beside it: on a machine shared with
other work the minimum says what the app itself costs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BARE_WINDOW = """
import time
t = time.perf_counter()
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QGraphicsView, QGraphicsScene
app = QApplication([])
w = QMainWindow(); v = QGraphicsView(QGraphicsScene()); w.setCentralWidget(v); w.resize(1400, 860)
class F(QObject):
    def eventFilter(self, o, e):
        if e.type() == QEvent.Paint:
            QTimer.singleShot(0, lambda: (print("first-paint", flush=True), app.quit()))
            o.removeEventFilter(self)
        return False
f = F(); v.viewport().installEventFilter(f)
w.show(); app.exec()
"""


def time_until_line(args: list[str], env: dict, marker: str) -> float:
    """Wall time from process start until it prints a line starting with `marker`."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    elapsed = None
    for line in proc.stdout:
        if line.startswith(marker):
            elapsed = time.perf_counter() - start
    proc.wait(timeout=60)
    if elapsed is None:
        raise RuntimeError(f"{args} never printed {marker!r}")
    return elapsed


def bench_startup(repeats: int = 5) -> None:
    settings = tempfile.mkdtemp(prefix="nc-bench-")
    env = {**os.environ, "NETCANVAS_REPORT_STARTUP": "exit", "NETCANVAS_SETTINGS_DIR": settings}
    ours = [time_until_line([sys.executable, "-m", "app.entry"], env, "first-paint") for _ in range(repeats)]
    bare = [time_until_line([sys.executable, "-c", BARE_WINDOW], env, "first-paint") for _ in range(repeats)]
    torch = [time_until_line([sys.executable, "-c", "import torch; print('done', flush=True)"], env, "done")
             for _ in range(2)]
    o, b, t = statistics.median(ours), statistics.median(bare), statistics.median(torch)
    print(f"start → first painted window : {o:6.3f} s   (target ≤ 1.5 s)  "
          f"bare PySide6 window {b:.3f} s → ratio {o / b:.2f}×;  `import torch` alone {t:.3f} s")
    print(f"  min of {repeats}: ours {min(ours):.3f} s, bare {min(bare):.3f} s → ratio {min(ours) / min(bare):.2f}×;"
          f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def big_graph(n: int):
    """A realistic n-node graph: a stack of residual conv blocks ending in a classifier."""
    from graph_builder.graph import Graph

    g = Graph()
    with g.events.blocked():
        prev = g.add_node("Input", params={"shape": [3, 32, 32]}, pos=(0, 0))
        x = 300.0
        while len(g.nodes) < n - 5:
            conv = g.add_node("Conv2d", params={"out_channels": 16, "kernel_size": 3, "padding": 1}, pos=(x, 0))
            norm = g.add_node("BatchNorm2d", pos=(x + 300, 0))
            act = g.add_node("ReLU", pos=(x + 600, 0))
            add = g.add_node("Add", pos=(x + 900, 140))
            g.connect(prev.id, conv.id)
            g.connect(conv.id, norm.id)
            g.connect(norm.id, act.id)
            g.connect(act.id, add.id)
            g.connect(conv.id, add.id)
            prev, x = add, x + 1200
        for type_id, params in (("GlobalAvgPool", {}), ("Linear", {"out_features": 10}), ("Output", {})):
            node = g.add_node(type_id, params=params, pos=(x, 0))
            g.connect(prev.id, node.id)
            prev, x = node, x + 300
    return g


def bench_open_and_edit(n: int = 500, repeats: int = 5) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainterPath
    from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView

    from app.main_window import MainWindow
    from app.theme import apply_theme
    from graph_builder.graph import SetParam
    from graph_builder.project import Project, save_project
    from graph_builder.validation import check

    os.environ["NETCANVAS_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="nc-bench-")
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    graph = big_graph(n)
    path = Path(tempfile.mkdtemp()) / "big.json"
    save_project(Project(graph), path)
    window = MainWindow()
    window.show()
    app.processEvents()

    opens = []
    for _ in range(repeats):
        window.discard_changes()
        start = time.perf_counter()
        window.open_project(path)
        window.view.viewport().repaint()  # synchronous paint of what is visible
        opens.append(time.perf_counter() - start)
    nodes, edges = len(window.project.graph.nodes), len(window.project.graph.edges)

    # Peer: the same number of plain Qt items (a rectangle per node, a curve per wire), built and painted.
    peers = []
    for _ in range(repeats):
        start = time.perf_counter()
        scene = QGraphicsScene()
        for node in graph.nodes.values():
            scene.addRect(QRectF(node.pos[0], node.pos[1], 180, 80))
        for e in graph.edges:
            a, b = graph.nodes[e.src].pos, graph.nodes[e.dst].pos
            p = QPainterPath()
            p.moveTo(a[0] + 180, a[1] + 40)
            p.cubicTo(a[0] + 240, a[1] + 40, b[0] - 60, b[1] + 40, b[0], b[1] + 40)
            scene.addPath(p)
        view = QGraphicsView(scene)
        view.resize(window.view.size())
        view.fitInView(scene.itemsBoundingRect())
        view.show()
        view.viewport().repaint()
        peers.append(time.perf_counter() - start)
        view.close()
        view.deleteLater()
    o, p = statistics.median(opens), statistics.median(peers)
    print(f"open + draw {nodes} nodes/{edges} wires: {o * 1000:6.1f} ms  (target ≤ 1000 ms)  "
          f"plain Qt items {p * 1000:.1f} ms → ratio {o / p:.2f}×  (min {min(opens) * 1000:.1f} ms)")

    # Parameter edit -> badge and wire labels updated and painted.
    window.actual_size()
    conv = next(nd for nd in window.project.graph.nodes.values() if nd.type_id == "Conv2d")
    window.view.center_on_node(conv.id)
    app.processEvents()
    edits, checks = [], []
    for i in range(20):
        value = 8 if i % 2 == 0 else 16
        before = window.validation
        start = time.perf_counter()
        window.editor.push(SetParam(conv.id, "out_channels", value))
        while window.validation is before:  # the debounced validation runs on the next event-loop turn
            app.processEvents()
        window.view.viewport().repaint()
        edits.append(time.perf_counter() - start)
        start = time.perf_counter()
        check(window.project.graph)
        checks.append(time.perf_counter() - start)
    e, c = statistics.median(edits), statistics.median(checks)
    print(f"parameter edit → badges + shape labels: {e * 1000:6.1f} ms  (target ≤ 50 ms)  "
          f"check(graph) alone {c * 1000:.1f} ms → view overhead {e / c:.2f}×  "
          f"[{n} nodes; one Conv2d toggles 8/16 channels]  (min {min(edits) * 1000:.1f} ms)")
    window.discard_changes()
    window.close()


if __name__ == "__main__":
    print(f"NetCanvas editor bench — Python {sys.version.split()[0]}, Qt platform {os.environ['QT_QPA_PLATFORM']}, "
          f"{os.cpu_count()} CPUs")
    bench_startup()
    bench_open_and_edit()
