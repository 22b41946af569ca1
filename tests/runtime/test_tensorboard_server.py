"""The TensorBoard server the app starts listens on the loopback address only."""

from __future__ import annotations

import urllib.request

import pytest

pytest.importorskip("tensorboard")

from runtime.train.monitor import TensorBoardServer  # noqa: E402


def test_tensorboard_server_answers_on_loopback_and_stops(tmp_path, qtbot):
    server = TensorBoardServer(tmp_path)
    answers = []

    def answered() -> bool:
        assert server.running()
        try:
            with urllib.request.urlopen(server.url + "data/logdir", timeout=2) as reply:
                answers.append(reply.read().decode())
        except OSError:
            return False
        return True

    try:
        assert server.url.startswith("http://127.0.0.1:")
        qtbot.waitUntil(answered, timeout=60000)
        assert str(tmp_path) in answers[-1]
    finally:
        server.stop()
    assert not server.running()
