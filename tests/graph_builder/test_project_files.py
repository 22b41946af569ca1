"""Project files: round trip, first problem with its JSON path, fuzzing, atomic saves."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_builder import Graph, Project, ProjectError, load_project, loads_project, save_project
from graph_builder.project import dumps_project, project_to_dict


def sample_project() -> Project:
    g = Graph()
    x = g.add_node("Input", params={"shape": [1, 8, 8]}, pos=(0, 0))
    c = g.add_node("Conv2d", params={"out_channels": 8, "kernel_size": [3, 3], "padding": "same"}, pos=(200, 10.5))
    f = g.add_node("Flatten", pos=(400, 0))
    fc = g.add_node("Linear", name="head", params={"out_features": 10}, pos=(600, 0))
    y = g.add_node("Output", name="logits", pos=(800, 0))
    for a, b in [(x, c), (c, f), (f, fc), (fc, y)]:
        g.connect(a.id, b.id)
    return Project(g, {"name": "digits"}, {"epochs": 5}, {"title": "LeNet"})


def test_save_then_load_gives_an_equal_project(tmp_path):
    project = sample_project()
    path = tmp_path / "p.json"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded == project
    assert loaded.graph.node_by_name("conv2d").params["kernel_size"] == (3, 3)
    assert loaded.graph.node_by_name("conv2d").pos == (200, 10.5)
    save_project(loaded, tmp_path / "q.json")
    assert (tmp_path / "p.json").read_bytes() == (tmp_path / "q.json").read_bytes()


def doc():
    return project_to_dict(sample_project())


@pytest.mark.parametrize("mutate, path, words", [
    (lambda d: d.update(format="keras"), "$.format", "not a NetCanvas project"),
    (lambda d: d.update(version=3), "$.version", "made by a newer NetCanvas"),
    (lambda d: d.update(version="1"), "$.version", "whole number"),
    (lambda d: d["networks"][0]["graph"]["nodes"][1].update(type="Conv9d"), "$.networks[0].graph.nodes[1].type", "unknown layer type"),
    (lambda d: d["networks"][0]["graph"]["nodes"][1]["params"].update(kernel_size=0), "$.networks[0].graph.nodes[1].params.kernel_size",
     "at least 1"),
    (lambda d: d["networks"][0]["graph"]["nodes"][1]["params"].update(bogus=1), "$.networks[0].graph.nodes[1].params.bogus",
     "no parameter 'bogus'"),
    (lambda d: d["networks"][0]["graph"]["nodes"][2].update(name="conv2d"), "$.networks[0].graph.nodes[2].name", "already named"),
    (lambda d: d["networks"][0]["graph"]["nodes"][2].update(id="n1"), "$.networks[0].graph.nodes[2].id", "used by two nodes"),
    (lambda d: d["networks"][0]["graph"]["nodes"][0].update(pos=[0, "x"]), "$.networks[0].graph.nodes[0].pos", "two finite numbers"),
    (lambda d: d["networks"][0]["graph"]["edges"][0].update(dst="nope"), "$.networks[0].graph.edges[0].dst", "id of a node"),
    (lambda d: d["networks"][0]["graph"]["edges"][0].update(dst_port="memory"), "$.networks[0].graph.edges[0].dst_port", "no input port"),
    (lambda d: d["networks"][0]["graph"]["edges"].append(dict(d["networks"][0]["graph"]["edges"][0])), "$.networks[0].graph.edges[4]", "appears twice"),
    (lambda d: d.update(training=[]), "$.training", "must be an object"),
    (lambda d: d.pop("networks"), "$.networks", "non-empty list"),
    (lambda d: d["networks"][0].pop("graph"), "$.networks[0]", "has no graph"),
    (lambda d: d["networks"].append(dict(d["networks"][0])), "$.networks[1].name", "two networks are named"),
    (lambda d: d.update(main="Nope"), "$.main", "main must name one of the networks"),
    (lambda d: d.update(graph={}), "$.graph", "unknown section 'graph'"),
])
def test_first_problem_is_reported_with_its_json_path(mutate, path, words):
    data = doc()
    mutate(data)
    with pytest.raises(ProjectError) as info:
        loads_project(json.dumps(data))
    assert info.value.path == path
    assert words in str(info.value)


def test_unreadable_files_raise_project_error(tmp_path):
    with pytest.raises(ProjectError, match="there is no file"):
        load_project(tmp_path / "missing.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="not a text"):
        load_project(tmp_path / "bin.json")
    (tmp_path / "bad.json").write_text("{\"format\": ")
    with pytest.raises(ProjectError, match="not valid JSON"):
        load_project(tmp_path / "bad.json")
    (tmp_path / "nan.json").write_text(json.dumps(doc()).replace("200.0", "NaN"))
    with pytest.raises(ProjectError, match="NaN is not allowed"):
        load_project(tmp_path / "nan.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ProjectError):
        load_project(tmp_path / "deep.json")


def test_loading_never_executes_anything(tmp_path):
    data = doc()
    data["networks"][0]["graph"]["nodes"][3]["name"] = "__import__('os').system('touch PWNED')"
    data["meta"]["title"] = "{{7*7}} $(touch PWNED2)"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        loaded = load_project(path)
    finally:
        os.chdir(cwd)
    assert loaded.graph.nodes["n4"].name.startswith("__import__")
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    save_project(sample_project(), path)
    before = path.read_bytes()

    def boom(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    bigger = sample_project()
    bigger.graph.add_node("ReLU")
    with pytest.raises(OSError):
        save_project(bigger, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temp file left behind


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _mutations(draw, data):
    """Replace or delete a random value somewhere inside a valid document."""
    for _ in range(draw(st.integers(1, 3))):
        node, key = data, None
        for _depth in range(draw(st.integers(0, 5))):
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) \
                if isinstance(node, list) else []
            if not children:
                break
            key, child = children[draw(st.integers(0, len(children) - 1))]
            if not isinstance(child, (dict, list)):
                break
            node = child
        if isinstance(node, dict) and node:
            key = list(node)[draw(st.integers(0, len(node) - 1))]
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            continue
        if draw(st.booleans()) and isinstance(node, dict):
            del node[key]
        else:
            node[key] = draw(json_values)
    return data


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_project_files_raise_only_the_documented_error(data):
    document = _mutations(data.draw, doc())
    text = json.dumps(document)
    try:
        project = loads_project(text)
    except ProjectError as exc:
        assert exc.path.startswith("$")
    else:
        assert isinstance(project, Project)
        assert loads_project(dumps_project(project)) == project


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_raises_only_project_error(text):
    with pytest.raises(ProjectError):
        loads_project(text)
