"""The experiment section: a search space checked by the one field schema, edited by reversible commands."""

from __future__ import annotations

import pytest

from graph_builder import Graph, Project
from graph_builder.experiment import (AddDimension, Dimension, ExperimentError, RemoveDimension,
                                      SetExperimentSetting, apply_values)
from graph_builder.graph import RemoveNode
from graph_builder.project import dumps_project, loads_project


def mlp_project():
    g = Graph()
    nodes = [g.add_node(t, params=p) for t, p in (("Input", {"shape": (4,)}), ("Linear", {"out_features": 16}),
                                                  ("ReLU", {}), ("Dropout", {"p": 0.2}),
                                                  ("Linear", {"out_features": 3}), ("Output", {}))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    return Project(g, {"name": "iris"}, {"epochs": 2}), nodes


def test_search_space_saves_with_the_project_and_reads_back_equal():
    project, nodes = mlp_project()
    ex = project.experiment
    ex.apply(AddDimension({"setting": "lr", "low": 1e-4, "high": 1e-1, "log": True}))
    ex.apply(AddDimension({"network": "Net", "node": nodes[1].id, "param": "out_features", "low": 8, "high": 64}))
    ex.apply(AddDimension({"setting": "optimizer", "choices": ["adam", "sgd"]}))
    ex.apply(SetExperimentSetting("metric", "val_accuracy"))
    ex.apply(SetExperimentSetting("method", "grid"))
    again = loads_project(dumps_project(project))
    assert again == project
    assert [d.key for d in again.experiment.space] == ["training/lr", f"Net/{nodes[1].id}/out_features",
                                                       "training/optimizer"]
    assert again.experiment["metric"] == "val_accuracy" and again.experiment.direction == "maximize"
    assert again.experiment["trials"] == 20  # the default
    assert again.experiment.space[1].kind == "int" and again.experiment.space[0].kind == "float"
    assert again.experiment.space[1].label(again) == "linear.out_features"


def test_a_project_without_an_experiment_saves_without_the_section():
    project, _ = mlp_project()
    assert "experiment" not in project.to_dict()


def test_every_edit_undoes_to_what_was_there():
    project, nodes = mlp_project()
    ex = project.experiment
    seen = []
    ex.events.changed.connect(lambda: seen.append(ex.to_dict()))
    undo = [ex.apply(AddDimension({"setting": "lr", "low": 1e-4, "high": 1e-2, "log": True}))]
    undo.append(ex.apply(AddDimension({"setting": "lr", "low": 1e-3, "high": 1e-1})))  # replaces the range
    assert len(ex.space) == 1 and ex.space[0].low == 1e-3
    undo.append(ex.apply(SetExperimentSetting("trials", 5)))
    undo.append(ex.apply(RemoveDimension("training/lr")))
    assert ex.to_dict() == {"trials": 5}
    for inverse in reversed(undo):
        ex.apply(inverse)
    assert ex.to_dict() == {} and len(seen) == 8


@pytest.mark.parametrize("raw, words", [
    ({"setting": "lr", "low": 0.1, "high": 0.1}, "is empty"),
    ({"setting": "lr", "low": 0.1, "high": 0.01}, "is inverted"),
    ({"setting": "lr", "low": 0.0, "high": 0.1, "log": True}, "must be at least"),
    ({"setting": "epochs", "low": 1.5, "high": 3}, "whole number"),
    ({"setting": "optimizer", "low": 1, "high": 3}, "over choices"),
    ({"setting": "optimizer", "choices": ["adam", "lion"]}, "must be one of"),
    ({"setting": "optimizer", "choices": ["adam"]}, "2 to"),
    ({"setting": "colour", "low": 1, "high": 2}, "not a training setting"),
    ({"network": "Net", "node": "nope", "param": "p", "low": 0.1, "high": 0.5}, "no longer in network Net"),
])
def test_bad_ranges_and_unknown_targets_are_refused_with_a_message_and_change_nothing(raw, words):
    project, _ = mlp_project()
    with pytest.raises(ExperimentError, match=words):
        project.experiment.apply(AddDimension(raw))
    assert project.experiment.space == ()


def test_a_range_the_parameter_itself_refuses_is_refused():
    project, nodes = mlp_project()
    with pytest.raises(ExperimentError, match="at most 1"):
        project.experiment.apply(AddDimension({"network": "Net", "node": nodes[3].id, "param": "p",
                                               "low": 0.1, "high": 1.5}))


def test_a_deleted_node_keeps_the_file_readable_and_is_reported_before_a_search():
    project, nodes = mlp_project()
    project.experiment.apply(AddDimension({"network": "Net", "node": nodes[3].id, "param": "p",
                                           "low": 0.0, "high": 0.5}))
    assert project.experiment.problems() == []
    project.graph.apply(RemoveNode(nodes[3].id))
    again = loads_project(dumps_project(project))
    problems = again.experiment.problems()
    assert len(problems) == 1 and "no longer in network Net" in problems[0] and "remove it" in problems[0]


def test_a_bad_experiment_section_in_a_file_names_its_path():
    project, _ = mlp_project()
    data = project.to_dict()
    data["experiment"] = {"space": [{"setting": "lr", "low": 1, "high": 0.5}]}
    import json

    from graph_builder.errors import ProjectError

    with pytest.raises(ProjectError, match=r"\$\.experiment\.space\[0\]\.high"):
        loads_project(json.dumps(data))


def test_grid_values_and_trial_values_applied_to_a_copy():
    assert Dimension(setting="batch_size", low=16, high=64, step=16).values() == [16, 32, 48, 64]
    assert Dimension(setting="lr", low=1e-3, high=1e-1, log=True).values() == pytest.approx([1e-3, 1e-2, 1e-1])
    project, nodes = mlp_project()
    trial = apply_values(project, {"training/lr": 0.05, f"Net/{nodes[1].id}/out_features": 32})
    assert trial.training["lr"] == 0.05 and trial.graph.nodes[nodes[1].id].params["out_features"] == 32
    assert "lr" not in project.training and project.graph.nodes[nodes[1].id].params["out_features"] == 16
    with pytest.raises(ExperimentError, match="cannot be set"):
        apply_values(project, {f"Net/{nodes[3].id}/p": 3.0})


def test_applying_a_trial_is_one_edit_that_undoes_and_redoes_exactly():
    from graph_builder.experiment import ApplyTrial

    project, nodes = mlp_project()
    before = project.to_dict()
    values = {"training/lr": 0.02, "training/optimizer": "sgd", f"Net/{nodes[1].id}/out_features": 48}
    inverse = project.apply(ApplyTrial(values))
    assert project.training["lr"] == 0.02 and project.graph.nodes[nodes[1].id].params["out_features"] == 48
    after = project.to_dict()
    redo = project.apply(inverse)
    assert project.to_dict() == before
    project.apply(redo)
    assert project.to_dict() == after


def test_a_trial_the_project_refuses_changes_nothing():
    from graph_builder.experiment import ApplyTrial

    project, nodes = mlp_project()
    before = project.to_dict()
    with pytest.raises(Exception, match="at most 1"):
        project.apply(ApplyTrial({"training/lr": 0.02, f"Net/{nodes[3].id}/p": 4.0}))
    assert project.to_dict() == before
