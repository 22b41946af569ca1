"""`netcanvas tune` on the issue's bad input: each refused with a message that says what to do,
never a traceback, and nothing changed (no study, no run, the existing runs kept)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("optuna")

from graph_builder import Graph, Project, save_project  # noqa: E402
from graph_builder.experiment import AddDimension  # noqa: E402
from graph_builder.graph import RemoveNode  # noqa: E402
from graph_builder.runs import runs_folder  # noqa: E402
from runtime.cli import EXIT_INVALID, EXIT_UNREADABLE, main  # noqa: E402
from runtime.tune.study import STUDY_FILE, TuneError, run_study  # noqa: E402


def iris(tmp_path):
    g = Graph()
    nodes = [g.add_node(t, params=p) for t, p in (("Input", {"shape": (4,)}), ("Linear", {"out_features": 8}),
                                                  ("ReLU", {}), ("Linear", {"out_features": 3}), ("Output", {}))]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    project = Project(g, {"name": "iris"}, {"epochs": 1})
    return project, nodes


def tune(path, capsys, *args):
    code = main(["tune", str(path), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured


@pytest.mark.parametrize("low, high, words", [(0.1, 0.1, "is empty"), (0.1, 0.01, "is inverted")])
def test_an_empty_or_inverted_range_in_the_file_is_refused_with_its_json_path(tmp_path, capsys, low, high, words):
    project, _ = iris(tmp_path)
    path = tmp_path / "iris.json"
    save_project(project, path)
    data = json.loads(path.read_text())
    data["experiment"] = {"space": [{"setting": "lr", "low": low, "high": high}]}
    path.write_text(json.dumps(data))
    code, captured = tune(path, capsys)
    assert code == EXIT_UNREADABLE
    assert words in captured.err and "$.experiment.space[0].high" in captured.err and "low must be below" in captured.err
    assert not runs_folder(path).exists()  # nothing made


def test_a_searched_parameter_whose_node_is_gone_is_named_and_nothing_runs(tmp_path, capsys):
    project, nodes = iris(tmp_path)
    project.experiment.apply(AddDimension({"network": "Net", "node": nodes[1].id, "param": "out_features",
                                           "low": 4, "high": 32}))
    project.graph.apply(RemoveNode(nodes[1].id))
    path = tmp_path / "iris.json"
    save_project(project, path)  # the file still saves and opens (the dimension is kept, reported)
    code, captured = tune(path, capsys, "--json")
    assert code == EXIT_INVALID
    message = json.loads(captured.out.splitlines()[-1])
    assert message["type"] == "failed" and "no longer in network Net" in message["message"]
    assert "remove it" in message["message"]
    with pytest.raises(TuneError, match="no longer in network Net"):
        run_study(path)
    assert not runs_folder(path).exists()


def test_a_corrupt_study_file_is_a_message_with_exit_2_and_the_runs_stay(tmp_path, capsys):
    project, _ = iris(tmp_path)
    project.experiment.apply(AddDimension({"setting": "lr", "low": 1e-3, "high": 1e-1, "log": True}))
    path = tmp_path / "iris.json"
    save_project(project, path)
    root = runs_folder(path)
    (root / "20260101-000000").mkdir(parents=True)
    (root / "20260101-000000" / "metrics.jsonl").write_text('{"type": "epoch"}\n')
    (root / STUDY_FILE).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a header, then garbage
    code, captured = tune(path, capsys, "--trials", "1")
    assert code == EXIT_UNREADABLE
    assert "study file" in captured.err and "cannot be read" in captured.err and "are kept" in captured.err
    assert "move it aside" in captured.err
    assert (root / "20260101-000000" / "metrics.jsonl").read_text() == '{"type": "epoch"}\n'
    assert (root / STUDY_FILE).read_bytes().startswith(b"SQLite format 3")  # left for the user to look at


def test_jobs_and_threads_below_one_are_refused(tmp_path, capsys):
    project, _ = iris(tmp_path)
    project.experiment.apply(AddDimension({"setting": "lr", "low": 1e-3, "high": 1e-1}))
    path = tmp_path / "iris.json"
    save_project(project, path)
    for flag in ("--jobs", "--threads"):
        code, captured = tune(path, capsys, flag, "0")
        assert code == EXIT_INVALID and f"{flag} must be at least 1" in captured.err
    assert not runs_folder(path).exists()
