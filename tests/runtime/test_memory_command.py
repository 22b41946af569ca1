"""`netcanvas memory` and `validate`'s memory problem: the step's bytes per node, exit codes, one-line refusals."""

import json

import pytest

from graph_builder import Project, save_project
from runtime.cli import main

from tests.builders import chain


def _save(tmp_path, shape, out_features, name="p.json"):
    graph = chain(("Input", "x", {"shape": shape}), ("Linear", "fc", {"out_features": out_features}),
                  ("Output", "y", {}))
    path = tmp_path / name
    save_project(Project(graph, {"name": "iris"}, {"batch_size": 16, "device": "cpu"}), path)
    return path


def test_a_hundred_billion_parameters_no_longer_validate(tmp_path, capsys):
    huge = _save(tmp_path, [100000, 100000], 1000000)
    assert main(["validate", str(huge)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("error: training needs about ") and "the largest part is fc" in out
    assert main(["validate", str(huge), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["issues"][0]["code"] == "memory"


def test_memory_prints_every_node_and_the_peak_and_follows_the_batch_size(tmp_path, capsys):
    small = _save(tmp_path, [4], 3)
    assert main(["memory", str(small)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["node", "type", "params", "grads", "optim.", "state", "saved", "act.",
                                          "total"]
    assert "fc" in out and "peak of one training step ≈" in out and "at batch size 16 with adam" in out
    assert main(["memory", str(small), "--json", "--batch-size", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["batch_size"] == 64 and report["fits"] is True
    fc = next(n for n in report["nodes"] if n["name"] == "fc")
    assert (fc["params"], fc["grads"], fc["optimizer_state"]) == (60, 60, 120)
    assert report["saved_activations"] == 64 * 4 * 4  # the Linear keeps its input for its weight's gradient


def test_memory_beyond_the_machine_exits_1_with_the_reason(tmp_path, capsys):
    assert main(["memory", str(_save(tmp_path, [100000, 100000], 1000000)), "--batch-size", "1"]) == 1
    assert "error: training needs about" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["missing.json"], "there is no file"),
    (["p.json", "--batch-size", "zero"], "--batch-size must be a whole number from 1 to 10,000,000, not 'zero'"),
    (["p.json", "--batch-size", "-3"], "not '-3'"),
])
def test_a_bad_input_is_one_line_without_a_traceback(tmp_path, capsys, monkeypatch, args, words):
    _save(tmp_path, [4], 3)
    monkeypatch.chdir(tmp_path)
    assert main(["memory", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_project_with_errors_is_refused_in_one_line(tmp_path, capsys):
    graph = chain(("Input", "x", {"shape": [4]}), ("Conv2d", "conv", {}), ("Output", "y", {}))
    path = tmp_path / "bad.json"
    save_project(Project(graph), path)
    assert main(["memory", str(path)]) == 1
    err = capsys.readouterr().err
    assert "has 1 error(s)" in err and len(err.strip().splitlines()) == 1
