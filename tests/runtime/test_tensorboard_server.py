"""The TensorBoard server the app starts listens on the loopback address only."""

from __future__ import annotations

import time
import urllib.request

import pytest

pytest.importorskip("tensorboard")

from runtime.train.monitor import TensorBoardServer  # noqa: E402


def test_tensorboard_server_answers_on_loopback_and_stops(tmp_path):
    server = TensorBoardServer(tmp_path)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(server.url + "data/logdir", timeout=2) as reply:
                    assert str(tmp_path) in reply.read().decode()
                break
            except OSError:
                assert server.running() and time.monotonic() < deadline
                time.sleep(0.3)
    finally:
        server.stop()
    assert not server.running()
