"""Runs belong to their project: each document lists its own runs, an untitled project's runs move with
its first Save, and a run of another network is refused by Export and Inference in plain words."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

from graph_builder.fingerprint import project_fingerprint
from graph_builder.project import load_project, project_from_dict, project_to_dict, save_project

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def template(stem: str, epochs: int | None = None):
    """A bundled template as a Project (with fewer epochs, for a quick run)."""
    data = project_to_dict(load_project(TEMPLATES / f"{stem}.json"))
    if epochs is not None:
        data["training"] = {**data["training"], "epochs": epochs}
    return project_from_dict(data)


def train(qtbot, window) -> Path:
    """Press Train and wait for the run to finish; returns its folder."""
    c = window.training
    with qtbot.waitSignal(c.run_finished, timeout=180000) as ended:
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
        assert c.bridge.is_active
    assert ended.args[0] == "finished", ended.args
    qtbot.waitUntil(lambda: not c.bridge.is_active, timeout=10000)
    return Path(c.bridge.run_dir)


def listed(window) -> list[Path]:
    tree = window.training.runs_panel.tree
    return [Path(tree.topLevelItem(i).data(0, Qt.UserRole)) for i in range(tree.topLevelItemCount())]


def export_weights_through_menu(qtbot, window, target: Path) -> None:
    exports = window.training.exports
    exports.actions["weights"].trigger()
    qtbot.waitUntil(lambda: exports.dialog is not None and exports.dialog.isVisible())
    exports.dialog.selectFile(str(target))
    exports.dialog.accept()


def refusal(window) -> QMessageBox | None:
    box = window.findChild(QMessageBox, "wrong_run")
    return box if box is not None and box.isVisible() else None


def test_the_issues_sequence_lenet_run_is_not_used_for_the_residual_cnn(app_window, qtbot, tmp_path):
    window, c = app_window, app_window.training
    window.set_project(template("lenet_digits", epochs=1), None, unsaved=True)
    untitled = c.runs_root()
    assert untitled.parent == tmp_path / "runs" / "untitled"
    lenet_run = train(qtbot, window)
    assert lenet_run.parent == untitled and listed(window) == [lenet_run]
    network = json.loads((lenet_run / "config.json").read_text())["network"]
    assert network["parameters"] == 13706

    # Open the residual CNN: its own (empty) runs folder, and the LeNet run is no longer in use.
    residual = tmp_path / "residual.json"
    save_project(template("residual_cnn_digits", epochs=1), residual)
    window.discard_changes()
    assert window.open_project(residual)
    assert c.runs_root() == tmp_path / "residual.runs"
    assert listed(window) == [] and c.current_run is None

    # Were the LeNet run still chosen (as it was before runs belonged to projects), Export ▸ Weights refuses it.
    c.select_run(str(lenet_run))
    target = tmp_path / "residual.safetensors"
    reports = []
    c.exports.export_done.connect(lambda kind, report: reports.append(report))
    export_weights_through_menu(qtbot, window, target)
    qtbot.waitUntil(lambda: refusal(window) is not None, timeout=10000)
    text = refusal(window).text()
    mine = project_fingerprint(window.project)[:8]
    assert (f"run {lenet_run.name} trained a different network (13,706 parameters, fingerprint "
            f"{network['fingerprint'][:8]}) than the open one (37,962 parameters, fingerprint {mine})") in text
    assert "Traceback" not in text
    qtbot.wait(200)
    assert not target.exists() and reports == []
    refusal(window).button(QMessageBox.Close).click()
    qtbot.waitUntil(lambda: refusal(window) is None)

    # Inference refuses it the same way.
    c._show("inference_dock")
    qtbot.mouseClick(c.inference_panel.predict_button, Qt.LeftButton)
    assert c.inference_panel.message.text().startswith(f"Inference was not done: run {lenet_run.name} trained "
                                                       "a different network")
    qtbot.waitUntil(lambda: refusal(window) is not None, timeout=10000)

    # The offer: open the run's own network as a new project; then its weights export.
    qtbot.mouseClick(refusal(window).findChild(QPushButton, "open_run_network"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.path is None, timeout=5000)
    assert project_fingerprint(window.project) == network["fingerprint"]
    assert c.runs_root() != untitled and c.current_run is None
    c.select_run(str(lenet_run))
    with qtbot.waitSignal(c.exports.export_done, timeout=120000) as done:
        export_weights_through_menu(qtbot, window, target)
    assert done.args[1]["ok"] and lenet_run.name in done.args[1]["message"]
    from safetensors.numpy import load_file

    exported, trained = load_file(str(target)), load_file(str(lenet_run / "best.safetensors"))
    assert set(exported) == set(trained) and sum(v.size for v in exported.values()) == 13706


def test_an_untitled_projects_runs_move_with_its_first_save(app_window, qtbot, tmp_path):
    window, c = app_window, app_window.training
    window.set_project(template("mlp_iris", epochs=1), None, unsaved=True)
    untitled = c.runs_root()
    run = train(qtbot, window)
    assert run.parent == untitled
    assert window.save_project_as(tmp_path / "flowers.json")
    moved = tmp_path / "flowers.runs" / run.name
    assert (moved / "config.json").is_file() and (moved / "best.safetensors").is_file()
    assert not untitled.exists()
    assert c.runs_root() == tmp_path / "flowers.runs" and c.current_run == moved
    assert listed(window) == [moved]

    # A second Save (and a Save As) leaves the runs where they are.
    assert window.save_project_as(tmp_path / "flowers.json")
    assert window.save_project_as(tmp_path / "copy.json")
    assert moved.is_dir() and not (tmp_path / "copy.runs").exists()


def test_a_save_onto_an_existing_runs_folder_says_so_and_keeps_both(app_window, qtbot, tmp_path):
    window, c = app_window, app_window.training
    window.set_project(template("mlp_iris"), None, unsaved=True)
    mine = c.runs_root() / "20261201-081200"
    mine.mkdir(parents=True)
    (mine / "config.json").write_text("{}")
    theirs = tmp_path / "taken.runs" / "20250101-000000"
    theirs.mkdir(parents=True)
    assert window.save_project_as(tmp_path / "taken.json")
    qtbot.waitUntil(lambda: window.last_dialog is not None and window.last_dialog.isVisible(), timeout=5000)
    text = window.last_dialog.text()
    assert "were not moved" in text and str(tmp_path / "taken.runs") in text and str(mine.parent) in text
    assert (mine / "config.json").read_text() == "{}" and theirs.is_dir()
    window.last_dialog.close()


def test_every_untitled_document_gets_its_own_runs_folder(app_window, tmp_path):
    window, c = app_window, app_window.training
    first = c.runs_root()
    window.new_project()
    second = c.runs_root()
    window.set_project(template("mlp_iris"), None, unsaved=True)
    third = c.runs_root()
    assert len({first, second, third}) == 3
    assert all(p.parent == tmp_path / "runs" / "untitled" for p in (first, second, third))


def test_saving_while_an_untitled_project_trains_moves_its_runs_when_the_run_ends(app_window, qtbot, tmp_path):
    window, c = app_window, app_window.training
    window.set_project(template("mlp_iris", epochs=100000), None, unsaved=True)  # runs until stopped
    untitled = c.runs_root()
    with qtbot.waitSignal(c.run_finished, timeout=180000) as ended:
        qtbot.mouseClick(c.training_panel.train_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: c.bridge.state == "running", timeout=60000)
        run = Path(c.bridge.run_dir)
        assert window.save_project_as(tmp_path / "live.json")
        assert run.is_dir() and not (tmp_path / "live.runs").exists()  # the child still writes there
        assert "when this training ends" in window.statusBar().currentMessage()
        qtbot.mouseClick(c.training_panel.stop_button, Qt.LeftButton)
    assert ended.args[0] == "stopped", ended.args
    moved = tmp_path / "live.runs" / run.name
    qtbot.waitUntil(lambda: moved.is_dir(), timeout=5000)
    assert not untitled.exists() and c.current_run == moved
    assert json.loads((moved / "metrics.jsonl").read_text().splitlines()[-1])["type"] == "stopped"
    assert listed(window) == [moved]
