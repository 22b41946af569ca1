"""The Data panel downloads MNIST on request, with progress and cancel, from a real server on 127.0.0.1; then the
dataset loads without a path. Offline, the panel says which files to put where."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.app.test_training_data_runs import choose, editor, wait_loaded
from tests.datasets import mnist_files
from tests.runtime.test_dataset_downloads import Server, dead_mirror, serve_as


@pytest.fixture
def data(app_window, tmp_path, monkeypatch):
    monkeypatch.setenv("NETCANVAS_DATA_DIR", str(tmp_path / "cache"))
    app_window.training._show("data_dock")
    panel = app_window.training.data_panel
    yield panel
    panel.download.cancel()
    panel.download.wait()


def test_download_mnist_from_the_data_panel_then_it_loads(data, qtbot, tmp_path, monkeypatch):
    files = mnist_files()
    row = data.download
    with Server(files) as server:
        serve_as(monkeypatch, "mnist", files, server.base)
        choose(qtbot, editor(data, "name"), "mnist")
        assert row.isVisible() and row.button.text() == "Download MNIST" and row.button.isEnabled()
        assert "not on this machine yet" in row.status.text()
        qtbot.mouseClick(row.button, Qt.LeftButton)
        assert row.cancel_button.isVisible() and not row.button.isEnabled()
        qtbot.waitUntil(lambda: row.job is not None and row.job.done, timeout=60000)
    assert row.status.text().startswith("MNIST is ready in") and str(tmp_path / "cache" / "mnist") in row.status.text()
    assert row.button.text() == "MNIST is downloaded" and not row.cancel_button.isVisible()
    wait_loaded(qtbot, data)  # the panel loads what arrived: shapes and classes of the served files
    assert "input (1, 28, 28)" in data.summary.text() and "10 classes" in data.summary.text()


def test_offline_the_panel_names_the_files_and_where_they_go(data, qtbot, tmp_path, monkeypatch):
    serve_as(monkeypatch, "mnist", mnist_files(), dead_mirror())
    choose(qtbot, editor(data, "name"), "mnist")
    row = data.download
    qtbot.mouseClick(row.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: row.job is not None and row.job.done, timeout=60000)
    text = row.status.text()
    assert "offline" in text and "train-images-idx3-ubyte.gz" in text and str(tmp_path / "cache" / "mnist") in text
    assert row.button.isEnabled()  # try again later


def test_a_folder_of_the_files_hides_the_download(data, qtbot, tmp_path):
    choose(qtbot, editor(data, "name"), "cifar10")
    assert data.download.isVisible() and data.download.button.text() == "Download CIFAR-10"
    data.form.edit("path", str(tmp_path))
    assert not data.download.isVisible()
    choose(qtbot, editor(data, "name"), "digits")
    assert not data.download.isVisible()
