"""Whole-window project flows: save and reopen, recovery after a crash, templates, unsaved prompts."""

from __future__ import annotations

import gc
import json
import sys

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow

from graph_builder.graph import Graph
from graph_builder.project import Project, save_project


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    folder = tmp_path / "settings"
    monkeypatch.setenv("NETCANVAS_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture
def make_window(qtbot, settings_dir):
    from app.main_window import MainWindow

    before = set(QApplication.topLevelWidgets())
    windows = []

    def make(project=None):
        window = MainWindow(project)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.isVisible():
            window.discard_changes()
            window.close()
    QApplication.processEvents()
    for window in windows:
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before
              and (w.isVisible() or isinstance(w, (QMainWindow, QDialog)))]
    assert not leaked, f"widgets left behind: {leaked}"


def residual_graph() -> Graph:
    graph = Graph()
    x = graph.add_node("Input", params={"shape": [1, 8, 8]}, pos=(0, 0))
    stem = graph.add_node("Conv2d", "stem", {"out_channels": 8, "kernel_size": 3, "padding": 1}, pos=(300, 0))
    body = graph.add_node("Conv2d", "body", {"out_channels": 8, "kernel_size": 3, "padding": 1}, pos=(600, 120))
    add = graph.add_node("Add", pos=(900, 0))
    pool = graph.add_node("GlobalAvgPool", pos=(1200, 0))
    fc = graph.add_node("Linear", "head", {"out_features": 10}, pos=(1500, 0))
    out = graph.add_node("Output", "logits", pos=(1800, 0))
    for a, b in ((x, stem), (stem, body), (stem, add), (body, add), (add, pool), (pool, fc), (fc, out)):
        graph.connect(a.id, b.id)
    return graph


def test_save_then_reopen_gives_the_identical_project(make_window, tmp_path, qtbot):
    window = make_window()
    window.set_project(Project(residual_graph(), meta={"title": "Residual"}), None)
    window.add_layer("Dropout", QPointF(500, 500))
    assert window.is_dirty() and window.windowTitle().startswith("Untitled")
    path = tmp_path / "net.json"
    assert window.save_project_as(path)
    assert not window.is_dirty() and window.windowTitle() == "net.json[*] — NetCanvas"
    saved = window.project.to_dict()
    first_bytes = path.read_bytes()
    window.close()

    again = make_window()
    assert again.open_project(path)
    assert again.project.to_dict() == saved
    assert set(again.scene.nodes) == set(saved_id["id"] for saved_id in saved["networks"][0]["graph"]["nodes"])
    assert len(again.scene.edges) == len(saved["networks"][0]["graph"]["edges"])
    assert again.save_project_as(path)
    assert path.read_bytes() == first_bytes
    assert str(path.resolve()) in again.recent.paths()


def test_title_marks_unsaved_changes_and_undo_back_to_saved_clears_it(make_window, tmp_path):
    window = make_window()
    path = tmp_path / "a.json"
    save_project(Project(residual_graph()), path)
    window.open_project(path)
    assert not window.isWindowModified()
    window.add_layer("ReLU", QPointF(0, 400))
    assert window.isWindowModified()
    window.editor.stack.undo()
    assert not window.isWindowModified()


def test_discarding_unsaved_work_asks_first(make_window):
    window = make_window()
    window.add_layer("ReLU", QPointF(0, 0))
    answers = ["cancel", "discard"]
    window.files.confirm_discard = lambda: answers.pop(0)
    window.new_project()
    assert len(window.project.graph.nodes) == 1  # cancelled: nothing lost
    window.new_project()
    assert not window.project.graph.nodes and not window.is_dirty()


def test_a_killed_session_is_offered_for_recovery(make_window, settings_dir, qtbot, monkeypatch):
    # A session that crashed leaves its autosave behind: simulate one from a process id that is gone.
    project = Project(residual_graph(), meta={"title": "lost work"})
    recovery = settings_dir / "recovery"
    recovery.mkdir(parents=True)
    from graph_builder.project import dumps_project

    (recovery / "autosave-999999999-1.json").write_text(json.dumps(
        {"source": None, "saved_at": 1_700_000_000, "project": json.loads(dumps_project(project))}))
    monkeypatch.delenv("NETCANVAS_NO_AUTOSAVE_PROMPT", raising=False)
    window = make_window()
    offered = window.offer_recovery()
    assert offered is not None
    box = window.files.recovery_box
    qtbot.waitUntil(box.isVisible)
    assert "did not close normally" in box.text()
    recover = next(b for b in box.buttons() if b.text() == "Recover")
    qtbot.mouseClick(recover, Qt.LeftButton)
    assert window.project == project
    assert window.is_dirty()  # recovered work is not saved yet
    assert not (recovery / "autosave-999999999-1.json").exists()
    assert window.autosave.path.exists()  # and is protected by this session's autosave now


def test_autosave_writes_the_recovery_file_and_a_clean_close_removes_it(make_window):
    window = make_window()
    window.add_layer("Input", QPointF(0, 0))
    window.autosave_now()
    data = json.loads(window.autosave.path.read_text())
    assert [n["type"] for n in data["project"]["networks"][0]["graph"]["nodes"]] == ["Input"]
    path = window.autosave.path
    window.discard_changes()
    window.close()
    assert not path.exists()


def test_opening_a_broken_file_explains_and_keeps_the_current_project(make_window, tmp_path, qtbot):
    window = make_window()
    window.add_layer("ReLU", QPointF(0, 0))
    window.discard_changes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "netcanvas", "version": 1, "graph": {"nodes": [{"id": "a", "type": "Conv9d"}]}}')
    assert not window.open_project(bad)
    box = window.last_dialog
    assert box is not None and "$.graph.nodes[0].type" in box.text() and "Conv9d" in box.text()
    assert "Traceback" not in box.text()
    assert [n.type_id for n in window.project.graph.nodes.values()] == ["ReLU"]
    box.close()


def test_dropping_a_project_file_on_the_window_opens_it(make_window, tmp_path):
    path = tmp_path / "dropped.json"
    save_project(Project(residual_graph()), path)
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    viewport = window.view.viewport()
    drop = QDropEvent(QPointF(viewport.rect().center()), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    from PySide6.QtGui import QDragEnterEvent

    enter = QDragEnterEvent(viewport.rect().center(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, drop)
    assert window.path == path.resolve()
    assert len(window.project.graph.nodes) == 7


def test_the_start_page_draws_a_card_per_readable_template_and_leaves_out_a_broken_one(make_window, tmp_path, qtbot):
    from app.start_page import StartPage

    folder = tmp_path / "templates"
    folder.mkdir()
    save_project(Project(residual_graph(), meta={"title": "Residual CNN", "description": "skip connection"}),
                 folder / "residual_cnn.json")
    (folder / "broken.json").write_text("{")
    window = make_window()
    page = StartPage([], folder)
    window.pages.addWidget(page)
    window.pages.setCurrentWidget(page)
    (card,) = page.cards
    assert card.path.name == "residual_cnn.json"
    qtbot.waitUntil(lambda: not card.picture.pixmap().isNull())
    picture = card.picture.pixmap().toImage()
    colors = {picture.pixel(x, y) for x in range(0, picture.width(), 4) for y in range(0, picture.height(), 4)}
    assert len(colors) > 3  # a real picture of the graph, not a blank tile
    with qtbot.waitSignal(page.template_chosen) as chosen:
        qtbot.mouseClick(card, Qt.LeftButton)
    assert chosen.args == [str(folder / "residual_cnn.json")]


def test_dock_layout_is_remembered_between_runs(make_window):
    window = make_window()
    window._docks["problemsDock"].hide()
    window.close()
    again = make_window()
    assert not again._docks["problemsDock"].isVisible()
    assert again._docks["inspectorDock"].isVisible()


def test_an_unexpected_error_becomes_a_plain_message_and_a_log_entry(make_window, settings_dir, qtbot):
    from app.main_window import install_excepthook

    window = make_window()
    saved = sys.excepthook
    try:
        install_excepthook(window)
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = saved
    box = window.last_dialog
    assert "could not finish that action" in box.text() and "ZeroDivisionError" in box.text()
    assert "Traceback" not in box.text()
    assert "Traceback" in (settings_dir / "netcanvas.log").read_text()
    box.close()
