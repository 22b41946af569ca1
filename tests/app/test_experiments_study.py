"""Run study in the Experiments panel: a background study process, trials shown as they finish, Stop,
and bad input said in words (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from graph_builder import load_project
from graph_builder.experiment import ReplaceExperiment

optuna = pytest.importorskip("optuna")

IRIS = Path(__file__).resolve().parents[2] / "resources" / "templates" / "mlp_iris.json"
STUDY_S = 240_000  # a study process, then a worker process importing torch, on a busy machine


def iris_with(window, experiment: dict, **training):
    project = load_project(IRIS)
    project.training.update({"stop_on_divergence": False, **training})
    project.experiment.apply(ReplaceExperiment(experiment))
    window.set_project(project, None)
    c = window.training
    c._show("experiments_dock")
    return c, c.experiments_panel


def click(qtbot, button):
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


def table_trials(panel) -> list[int]:
    return sorted(panel.table.item(r, 0).value for r in range(panel.table.rowCount()))


def listed_runs(c) -> list[str]:
    tree = c.runs_panel.tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


@pytest.fixture
def panel_cleanup(app_window):
    yield
    app_window.training.experiments_panel.runner.kill()


def test_run_study_runs_a_2_trial_grid_in_the_background_and_lists_its_trials(app_window, qtbot, panel_cleanup):
    c, panel = iris_with(app_window, {"metric": "val_accuracy", "method": "grid", "pruner": "none", "trials": 2,
                                      "space": [{"setting": "lr", "choices": [0.01, 0.03]}]}, epochs=1)
    click(qtbot, panel.run_button)
    assert panel.runner.is_active and panel.stop_button.isEnabled() and not panel.run_button.isEnabled()
    states = lambda: [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]  # noqa: E731
    qtbot.waitUntil(lambda: any(s.startswith("running") for s in states()), timeout=STUDY_S)  # a row before it ends
    qtbot.waitUntil(lambda: states() == ["complete", "complete"], timeout=STUDY_S)  # live, from the study's messages
    assert table_trials(panel) == [0, 1]
    assert sorted(panel.table.item(r, 4).value for r in range(2)) == [0.01, 0.03]
    xs, ys = panel.best_curve.getData()
    assert list(xs) == [0.0, 1.0] and all(0 <= y <= 1 for y in ys)
    assert len(panel.parallel_best.getData()[0]) == 2  # lr and the metric
    qtbot.waitUntil(lambda: not panel.runner.is_active, timeout=60_000)
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()
    runs = listed_runs(c)
    assert sum(name.endswith("(trial 0)") for name in runs) == 1 and sum(name.endswith("(trial 1)") for name in runs) == 1
    assert "2 trials" in panel.summary.text() and "Traceback" not in panel.summary.text()


def test_stop_ends_a_running_study_and_leaves_its_trial_to_resume(app_window, qtbot, panel_cleanup):
    c, panel = iris_with(app_window, {"metric": "val_accuracy", "method": "grid", "pruner": "none", "trials": 3,
                                      "space": [{"setting": "lr", "choices": [0.001, 0.01, 0.03]}]}, epochs=5000)
    click(qtbot, panel.run_button)
    root = c.runs_root()

    def an_epoch_logged():
        return any((p / "metrics.jsonl").is_file() and '"epoch"' in (p / "metrics.jsonl").read_text()
                   for p in root.iterdir() if p.is_dir())

    qtbot.waitUntil(lambda: root.is_dir() and an_epoch_logged(), timeout=STUDY_S)
    click(qtbot, panel.stop_button)
    qtbot.waitUntil(lambda: not panel.runner.is_active, timeout=60_000)
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.table.rowCount() < 3 and panel.error is None
    from runtime.tune.study import study_name

    study = optuna.load_study(study_name=study_name(app_window.project.experiment),
                              storage=f"sqlite:///{root / 'study.db'}")
    states = [t.state.name for t in study.get_trials()]
    assert "RUNNING" in states and len(states) < 3 + 1  # the trial in flight waits to be resumed, none lost


def test_run_study_with_nothing_to_search_says_so_and_starts_nothing(app_window, qtbot, panel_cleanup):
    c, panel = iris_with(app_window, {"metric": "val_accuracy"})
    click(qtbot, panel.run_button)
    assert not panel.runner.is_active
    assert "not started" in panel.summary.text() and "search space is empty" in panel.summary.text()


def test_a_searched_parameter_whose_node_was_deleted_is_named_and_nothing_starts(app_window, qtbot, panel_cleanup):
    from graph_builder.graph import RemoveNode

    c, panel = iris_with(app_window, {"metric": "val_accuracy", "space": [
        {"network": "Net", "node": "n2", "param": "out_features", "low": 8, "high": 64}]})
    app_window.project.graph.apply(RemoveNode("n2"))
    click(qtbot, panel.run_button)
    assert not panel.runner.is_active
    text = panel.summary.text()
    assert "not started" in text and "no longer in network Net" in text and "Traceback" not in text


def test_a_corrupt_study_file_is_reported_in_words_and_the_runs_stay(app_window, qtbot, panel_cleanup):
    c, panel = iris_with(app_window, {"metric": "val_accuracy", "method": "grid", "trials": 2,
                                      "space": [{"setting": "lr", "choices": [0.01, 0.03]}]}, epochs=1)
    root = c.runs_root()
    (root / "20260101-000000").mkdir(parents=True)
    (root / "20260101-000000" / "config.json").write_text("{}")
    (root / "study.db").write_bytes(b"this is not a database" * 100)
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: not panel.runner.is_active, timeout=STUDY_S)
    text = panel.summary.text()
    assert "study file" in text and "cannot be read" in text and "are kept" in text and "Traceback" not in text
    assert json.loads((root / "20260101-000000" / "config.json").read_text()) == {}
    assert panel.run_button.isEnabled()


def test_a_trial_whose_values_do_not_fit_is_listed_failed_with_its_reason_and_the_study_goes_on(
        app_window, qtbot, panel_cleanup):
    c, panel = iris_with(app_window, {"metric": "val_accuracy", "method": "grid", "pruner": "none", "trials": 2,
                                      "space": [{"network": "Net", "node": "n4", "param": "out_features",
                                                 "choices": [3, 5]}]}, epochs=1)  # n4: the 3-class classifier
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=STUDY_S)
    qtbot.waitUntil(lambda: not panel.runner.is_active, timeout=60_000)
    rows = {panel.table.item(r, 4).value: r for r in range(2)}
    assert panel.table.item(rows[3], 1).text() == "complete"
    failed = panel.table.item(rows[5], 1)
    assert failed.text() == "failed" and "5" in failed.toolTip() and "3" in failed.toolTip()
    assert "Traceback" not in failed.toolTip()
