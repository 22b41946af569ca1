"""One export registry: a format registered once is a `netcanvas export --format` choice and an Export menu row,
written by the same function from both; the menu offers the formats the project's task has."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from graph_builder.project import Project, load_project, save_project
from runtime.export import ExportFormat, Written, register_format, unregister_format
from runtime.templates import template_paths


def write_summary(request) -> Written:
    """A toy format: the network's layer types, one a line."""
    graph = request.project.network(request.network)
    request.out.write_text("\n".join(node.type_id for node in graph.nodes.values()) + "\n")
    return Written(request.out, f"Wrote a summary to {request.out}.")


@pytest.fixture
def summary_format():
    fmt = register_format(ExportFormat("summary", "&Layer summary…", "Text files (*.txt)", ".txt",
                                       "the layer types, one a line", write_summary))
    yield fmt
    unregister_format("summary")


def test_a_registered_format_is_written_by_the_cli(summary_format, tmp_path, capsys):
    from runtime.cli import main

    project_file = tmp_path / "mlp.json"
    save_project(load_project(template_paths()["mlp_iris"]), project_file)
    assert main(["export", str(project_file), "--format", "summary", "--out", str(tmp_path / "s.txt")]) == 0
    assert "Wrote a summary" in capsys.readouterr().out
    assert (tmp_path / "s.txt").read_text().splitlines()[0] == "Input"


def test_a_registered_format_is_in_the_export_menu_and_written_from_it(summary_format, make_window, mlp_graph, qtbot,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    window = make_window(Project(graph=mlp_graph))
    exports = window.training.exports
    assert "summary" in exports.actions and exports.actions["summary"].text() == "&Layer summary…"
    with qtbot.waitSignal(exports.export_done, timeout=60000) as done:
        exports.export("summary", str(tmp_path / "menu.txt"))
    kind, report = done.args
    assert kind == "summary" and report["ok"] and Path(report["path"]).read_text().startswith("Input")


def test_the_export_menu_offers_what_the_task_has(make_window, mlp_graph, qtbot, tmp_path, monkeypatch):
    from runtime.tasks import task_runtime

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    window = make_window(Project(graph=mlp_graph))
    exports = window.training.exports
    runtime = task_runtime(window.project.task())
    monkeypatch.setattr(type(runtime), "offers_export", lambda self, key: key != "pt2")
    exports.offer_task_formats()
    assert not exports.actions["pt2"].isVisible() and exports.actions["script"].isVisible()


def test_the_int8_export_from_the_menu_reports_both_sizes_and_test_accuracies(make_window, qtbot, tmp_path,
                                                                             monkeypatch):
    from runtime.templates import template_project

    monkeypatch.setenv("NETCANVAS_RUNS_DIR", str(tmp_path / "runs"))
    window = make_window(template_project(template_paths()["mlp_digits"]))
    exports = window.training.exports
    assert exports.actions["onnx-int8"].text() == "ONNX &int8 (for devices)…"
    with qtbot.waitSignal(exports.export_done, timeout=120000) as done:
        exports.export("onnx-int8", str(tmp_path / "model-int8.onnx"))
    kind, report = done.args
    assert kind == "onnx-int8" and report["ok"] and Path(report["path"]).stat().st_size > 0
    assert "of the float file's" in report["message"] and "Test accuracy" in report["message"]
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "export_report") is not None)
    assert window.findChild(QMessageBox, "export_report").text() == report["message"]
