"""Pretrained weights in the app: Network ▸ Load Pretrained Weights… records one undoable edit after a fit
check off the GUI thread; a misfit is shown in words; the import dialog offers torchvision's weights and,
offline, says which file goes where."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import torch

from app.import_dialog import ImportDialog, ImportRequest
from graph_builder import load_project
from graph_builder.weight_sources import weight_source
from runtime.compile.compiler import build_module

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def _residual(tmp_path):
    path = tmp_path / "residual.json"
    shutil.copy(TEMPLATES / "residual_cnn_digits.json", path)
    return path


def _opened(make_window, path):
    window = make_window()
    assert window.open_project(path)
    return window


def test_loading_weights_into_the_network_is_one_undoable_edit(make_window, qtbot, tmp_path):
    path = _residual(tmp_path)
    torch.save(build_module(load_project(path).graph, seed=5).state_dict(), tmp_path / "net.pth")
    window = _opened(make_window, path)
    assert "Load Pretrained Weights" in window.actions_by_text
    job = window.pretrained.load_into_network(str(tmp_path / "net.pth"))
    qtbot.waitUntil(lambda: weight_source(window.project) is not None, timeout=60000)
    job.wait()
    assert weight_source(window.project) == {"kind": "file", "path": "net.pth"}
    assert "fills 37 tensor(s)" in window.statusBar().currentMessage()
    window.editor.stack.undo()
    assert weight_source(window.project) is None and "pretrained" not in window.project.meta
    window.editor.stack.redo()
    assert weight_source(window.project) == {"kind": "file", "path": "net.pth"}


def test_loading_weights_into_the_selected_block(make_window, qtbot, tmp_path):
    path = _residual(tmp_path)
    project = load_project(path)
    network = project.graph.node_by_name("block2").params["network"]
    torch.save(build_module(project.networks[network]).state_dict(), tmp_path / "block.pth")
    window = _opened(make_window, path)
    assert window.pretrained.load_into_block(str(tmp_path / "block.pth")) is None  # nothing selected
    window.scene.select_nodes([window.project.graph.node_by_name("block2").id])
    job = window.pretrained.load_into_block(str(tmp_path / "block.pth"))
    qtbot.waitUntil(lambda: weight_source(window.project, "block2") is not None, timeout=60000)
    job.wait()
    assert weight_source(window.project) is None
    assert window.pretrained.remove()
    assert weight_source(window.project, "block2") is None


def test_a_misfit_is_shown_in_words_and_nothing_is_recorded(make_window, qtbot, tmp_path):
    path = _residual(tmp_path)
    state = build_module(load_project(path).graph).state_dict()
    key = next(k for k, v in state.items() if v.ndim == 2)
    state[key] = torch.zeros(3, state[key].shape[1])
    torch.save(state, tmp_path / "other.pth")
    window = _opened(make_window, path)
    job = window.pretrained.load_into_network(str(tmp_path / "other.pth"))
    qtbot.waitUntil(lambda: window.last_dialog is not None, timeout=60000)
    job.wait()
    text = window.last_dialog.text()
    assert key in text and "Traceback" not in text
    assert weight_source(window.project) is None and window.editor.stack.count() == 0
    window.last_dialog.close()


def test_the_import_dialog_offers_torchvisions_weights(qtbot, tmp_path):
    dialog = ImportDialog(folder=tmp_path)
    qtbot.addWidget(dialog)
    assert not dialog.weights_name.isEnabled()
    assert dialog.request().pretrained is None
    dialog.pretrained.setChecked(True)
    assert dialog.weights_name.isEnabled()
    dialog.weights_name.setCurrentText("IMAGENET1K_V1")
    assert dialog.request().pretrained == "IMAGENET1K_V1"
    dialog.from_file.setChecked(True)
    assert not dialog.pretrained.isEnabled()


def test_offline_the_import_shows_where_to_put_the_weights_and_cancel_reaches_the_download(
        make_window, qtbot, tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed: every download fails as offline
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    window = make_window()
    out = tmp_path / "r18.json"
    job = window.imports.start(ImportRequest("resnet18", None, (3, 64, 64), out, "DEFAULT"))
    assert window.imports.progress is not None and window.imports.progress.isVisible()
    qtbot.waitUntil(lambda: window.last_dialog is not None, timeout=120000)
    job.wait()
    text = window.last_dialog.text()
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in text
    assert "Traceback" not in text and not out.exists()
    qtbot.waitUntil(lambda: not window.imports.progress.isVisible())
    window.last_dialog.close()
    window.imports.progress.canceled.emit()  # the dialog's Cancel sets the job's stop flag
    assert job._stop.is_set()


def test_the_data_form_offers_the_input_adapter_and_shows_custom_statistics_only_when_chosen(qtbot):
    from app.training.data_panel import dataset_fields
    from app.training.settings_form import SettingsForm

    form = SettingsForm(dataset_fields())
    qtbot.addWidget(form)
    form.show()
    for name in ("input_height", "input_width", "input_gray_to_rgb", "input_normalization"):
        assert name in form.editors
    form.set_values({"name": "digits", "input_normalization": "imagenet"})
    assert not form.editors["input_mean"].isVisible()
    form.set_values({"name": "digits", "input_normalization": "custom"})
    assert form.editors["input_mean"].isVisible() and form.editors["input_std"].isVisible()
