"""A save onto a full disk says which file could not be written and keeps the old one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from graph_builder.project import load_project, save_project
from runtime.commands.templates import template_paths


def test_ctrl_s_onto_a_full_disk_names_the_file_and_keeps_the_old_one(make_window, qtbot, small_disk):
    path = small_disk.folder / "p.json"
    save_project(load_project(template_paths()["mlp_iris"]), path)
    before = path.read_bytes()
    window = make_window()
    window.set_project(load_project(template_paths()["lenet_digits"]), path)
    small_disk.fill()
    QTest.keyClick(window, Qt.Key_S, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.last_dialog is not None and window.last_dialog.isVisible(), timeout=5000)
    text = window.last_dialog.text()
    assert str(path) in text and "No space left on device" in text and "Traceback" not in text
    window.last_dialog.close()
    assert path.read_bytes() == before and small_disk.leftovers() == []


def test_a_run_started_from_the_window_reads_a_relative_dataset_beside_the_project(make_window, tmp_path):
    project = load_project(template_paths()["mlp_iris"])
    project.dataset.update({"name": "csv", "path": "data.csv"})
    save_project(project, tmp_path / "p.json")
    window = make_window()
    window.set_project(load_project(tmp_path / "p.json"), tmp_path / "p.json")
    snapshot = window.training.snapshot()
    assert snapshot["dataset"]["path"] == str(tmp_path / "data.csv")
    assert window.project.dataset["path"] == "data.csv"  # the document keeps what the user wrote


def test_an_autosave_onto_a_full_disk_names_the_recovery_file(make_window, small_disk):
    window = make_window()
    window.set_project(load_project(template_paths()["mlp_iris"]), None, unsaved=True)
    window.autosave.folder = small_disk.folder
    window.autosave.path = small_disk.folder / "autosave-test.json"
    window.autosave_now()
    before = window.autosave.path.read_bytes()
    small_disk.fill()
    window.autosave_now()
    text = window.statusBar().currentMessage()
    assert text.startswith("Autosave failed: cannot write") and str(window.autosave.path) in text
    assert "No space left on device" in text
    assert window.autosave.path.read_bytes() == before and small_disk.leftovers() == []
