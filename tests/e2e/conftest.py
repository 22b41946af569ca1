"""Fixtures for whole-app training flows: a real main window whose training child never outlives it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A shown main window with settings and runs in the test's folder; the child never outlives it."""
    monkeypatch.setenv("NETCANVAS_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    from app.main_window import MainWindow

    w = MainWindow()
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.training.built, timeout=10000)
    yield w
    bridge = w.training.bridge
    bridge.kill()
    assert bridge.pid is None, "a training child was left running"
    for job in [*w.training.inference_panel._jobs, *w.training.explain_panel._jobs, *w.training.exports._jobs]:
        job.wait(30)
    w.discard_changes()
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
