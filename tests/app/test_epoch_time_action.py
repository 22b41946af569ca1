"""Train ▸ Estimate Epoch Time: three real steps in a child process, the epoch's estimate under the Summary until
the next change."""

from graph_builder.project import Project

from tests.builders import chain
from tests.menus import click_menu_entry


def mlp():
    graph = chain(("Input", "x", {"shape": [4]}), ("Linear", "fc", {"out_features": 16}), ("ReLU", "relu", {}),
                  ("Linear", "out", {"out_features": 3}), ("Output", "y", {}))
    return Project(graph, {"name": "iris"}, {"batch_size": 16, "device": "cpu"})


def test_the_menu_times_an_epoch_and_an_edit_clears_the_answer(app_window, qtbot):
    window = app_window
    window.set_project(mlp(), None)
    label = window.summary.epoch_time
    click_menu_entry(qtbot, window, "&Train", "Estimate Epoch Time")
    qtbot.waitUntil(lambda: label.text().startswith("One epoch ≈"), timeout=120000)
    assert label.isVisibleTo(window.summary) and "steps of" in label.text() and "at batch size 16" in label.text()
    qtbot.waitUntil(lambda: window.training._epoch_timer.job.done)
    window.summary.batch.setValue(64)  # the estimate was for batch size 16: it is gone, not left stale
    assert label.text() == "" and not label.isVisibleTo(window.summary)


def test_a_network_with_errors_is_not_timed(app_window, qtbot, monkeypatch):
    window = app_window
    graph = chain(("Input", "x", {"shape": [4]}), ("Linear", "fc", {"out_features": 16}))  # no Output
    window.set_project(Project(graph, {"name": "iris"}, {"device": "cpu"}), None)
    said = []
    monkeypatch.setattr(window, "status_message", lambda text, timeout_ms=6000: said.append(text))
    click_menu_entry(qtbot, window, "&Train", "Estimate Epoch Time")
    assert said == ["Fix the problems first: a network with errors cannot take a step"]
    assert window.training._epoch_timer.job is None and window.summary.epoch_time.text() == ""
