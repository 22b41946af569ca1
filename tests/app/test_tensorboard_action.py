"""Train ▸ Open in TensorBoard: starts it on the loopback address, or says how to install it."""

from __future__ import annotations

import runtime.train as monitor  # the face the app imports from


def test_open_in_tensorboard_says_how_to_install_it_when_missing(window, qtbot, monkeypatch):
    monkeypatch.setattr(monitor, "tensorboard_available", lambda: False)
    said = []
    monkeypatch.setattr(window, "status_message", lambda text, timeout_ms=6000: said.append(text))
    window.training.tensorboard_action.trigger()
    assert said and "pip install tensorboard" in said[0]
    assert window.training._tensorboard is None


def test_open_in_tensorboard_serves_the_runs_folder_on_127_0_0_1(window, qtbot, monkeypatch, tmp_path):
    started, opened = [], []

    class FakeServer:
        def __init__(self, logdir):
            self.logdir, self.url = logdir, "http://127.0.0.1:9/"
            started.append(logdir)

        def running(self):
            return True

        def stop(self):
            pass

    monkeypatch.setattr(monitor, "TensorBoardServer", FakeServer)
    from PySide6.QtGui import QDesktopServices

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    window.training.tensorboard_action.trigger()
    window.training.tensorboard_action.trigger()  # the running server is reused
    assert started == [window.training.runs_root()]
    assert opened == ["http://127.0.0.1:9/"] * 2
