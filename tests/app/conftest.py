"""Fixtures for the editor's Qt tests: isolated settings, a window that must not leak, real mouse helpers."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow

from tests.builders import chain


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings, recent files and recovery files live in a per-test folder."""
    folder = tmp_path / "settings"
    monkeypatch.setenv("NETCANVAS_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture
def make_window(qtbot, isolated_settings):
    """Build shown, active MainWindows; on teardown close them and fail on leaked widgets or threads."""
    from app.main_window import MainWindow

    app = QApplication.instance()
    before_widgets = set(QApplication.topLevelWidgets())
    before_threads = threading.active_count()
    windows = []

    def make(project=None):
        window = MainWindow(project)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.discard_changes()
        window.close()
    app.processEvents()  # let close handlers run while the windows still exist
    for window in windows:
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    app.processEvents()
    # Hidden parentless menus (pyqtgraph's) are not windows; anything shown or any of ours is.
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before_widgets
              and (w.isVisible() or isinstance(w, (QMainWindow, QDialog)))]
    assert not leaked, f"widgets left behind: {leaked}"
    # A background job (a dataset preview importing torch) may still be finishing: wait for it,
    # but a thread that never ends is a leak.
    try:
        qtbot.waitUntil(lambda: threading.active_count() <= before_threads, timeout=60000)
    except Exception:
        names = [t.name for t in threading.enumerate()]
        raise AssertionError(f"a thread was left running: {names}") from None


@pytest.fixture
def window(make_window):
    return make_window()


class Mouse:
    """Real mouse events on a GraphView's viewport, addressed in scene coordinates."""

    def __init__(self, view):
        self.view = view

    def point(self, scene_pos) -> QPoint:
        return self.view.mapFromScene(QPointF(scene_pos))

    def click(self, scene_pos, modifiers=Qt.NoModifier) -> None:
        QTest.mouseClick(self.view.viewport(), Qt.LeftButton, modifiers, self.point(scene_pos))

    def drag(self, start, end, button=Qt.LeftButton, steps: int = 6) -> None:
        viewport = self.view.viewport()
        a, b = self.point(start), self.point(end)
        QTest.mousePress(viewport, button, Qt.NoModifier, a)
        for i in range(1, steps + 1):
            QTest.mouseMove(viewport, a + (b - a) * i / steps)
        QTest.mouseRelease(viewport, button, Qt.NoModifier, b)


@pytest.fixture
def app_window(make_window, qtbot, tmp_path, monkeypatch):
    """A shown main window with its training docks built; untitled runs go under the test's folder.

    No training child, inference or export job and no data preview outlives the test.
    """
    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    w = make_window()
    qtbot.waitUntil(lambda: w.training.built, timeout=10000)
    yield w
    c = w.training
    c.bridge.kill()
    for job in list(c.inference_panel._jobs) + list(c.explain_panel._jobs) + list(c.exports._jobs):
        job.wait(60)
    job = c.data_panel._job
    if job is not None:
        job.wait(60)  # the preview thread must end before the leak check
        qtbot.waitUntil(lambda: job.done, timeout=10000)


@pytest.fixture
def mouse(window):
    return Mouse(window.view)


@pytest.fixture
def drop_layer():
    """drop_layer(window, palette_id, scene_pos): the palette's own drag data delivered to the viewport
    as Qt drag-enter/move/drop events; returns whether the drop was accepted."""
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

    def drop(window, type_id, scene_pos) -> bool:
        tree = window.palette.tree
        mime = tree.mimeData([window.palette.items[type_id]])
        viewport = window.view.viewport()
        point = QPointF(window.view.mapFromScene(scene_pos))
        for cls in (QDragEnterEvent, QDragMoveEvent):
            event = cls(point.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
            QApplication.sendEvent(viewport, event)
            assert event.isAccepted()
        event = QDropEvent(point, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        QApplication.sendEvent(viewport, event)
        return event.isAccepted()

    return drop


@pytest.fixture
def mlp_graph():
    return chain(("Input", {"shape": [16]}), ("Linear", {"out_features": 32}), ("ReLU", {}),
                 ("Linear", {"out_features": 4}), ("Output", {}))
