"""Hostile node names and labels compile to safe code: nothing runs, and the module still works."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest
import torch

from graph_builder.errors import NodeNameError
from graph_builder.graph import Graph
from graph_builder.project import load_project
from runtime.compile.codegen import generate_source, reserved_names
from runtime.compile.compiler import build_module
from runtime.export.formats import export_onnx, export_python

SAFE_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


MARKER = "pwned"  # relative: each test runs inside its tmp_path, and names stay under 100 characters


def hostile_names() -> list[str]:
    """Names an attacker (or a careless user) could put in a project file; each would create MARKER."""
    touch = f"__import__('os').system('touch {MARKER}')"
    return [
        touch,
        f"'); {touch}; ('",
        f'"""\n{touch}\n"""',
        f"x\n{touch}\n#",
        f"x\r\n    {touch}",
        f"x  # \\\n{touch}",
        f"open({MARKER!r}, 'w').write('x')",
        "class", "def", "None", "lambda", "match", "_",
        "self", "torch", "nn", "F", "super",
        "__init__", "__class__", "__dict__", "__import__",
        "forward", "training", "parameters", "state_dict", "to",
        "print", "exec", "eval", "PositionalEncoding", "Net", "model", "outputs",
        "Ünïcødé 名前", "🙂", "ℌ𝔢𝔩𝔩𝔬", "\u202eevil", "\x00nul", "   x   ", "1st layer", "0", "-", "..",
        "conv", "conv_1",  # plain names that later suffixes must not collide with
        "a" * 100,
    ]


def chain_graph(names: list[str]) -> Graph:
    """Input → Linear → ReLU → … → Output, each node given the next name."""
    g = Graph()
    prev = g.add_node("Input", names[0], {"shape": (6,)})
    for k, name in enumerate(names[1:-1]):
        node = g.add_node("Linear" if k % 2 == 0 else "ReLU", name, {"out_features": 6} if k % 2 == 0 else None)
        g.connect(prev.id, node.id)
        prev = node
    out = g.add_node("Output", names[-1])
    g.connect(prev.id, out.id)
    return g


def identifiers_and_strings(source: str) -> tuple[set[str], list[str]]:
    tree = ast.parse(source)
    names, strings = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
    return names, strings


def assert_source_is_safe(source: str, hostile: list[str]) -> None:
    names, strings = identifiers_and_strings(source)
    for name in names:
        assert SAFE_IDENTIFIER.match(name) or name in {"__init__", "__name__"}, name
    for text in strings:  # docstrings and names: only sanitised words survive
        assert re.fullmatch(r"[A-Za-z0-9_ ().,:\n-]*", text), text
    for line in source.splitlines():
        assert "__import__(" not in line and ".system(" not in line and "open(" not in line, line
    for raw in hostile:
        if re.search(r"['\"\n\r()\\]", raw):  # anything that could break out of a name
            assert raw not in source


def test_hostile_names_compile_to_safe_code_that_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER
    names = hostile_names()
    graph = chain_graph(names)
    source = generate_source(graph, main=True)
    assert_source_is_safe(source, names)

    module = build_module(graph)
    x = torch.randn(4, 6)
    out = module(x)
    assert out.shape == (4, 6)
    out.sum().backward()
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == sum(1 for k in range(len(names) - 2) if k % 2 == 0)
    # every submodule sits under a safe attribute: none overwrote forward, training or the like
    assert callable(module.forward) and module.training is True
    for attr in dict(module.named_children()):
        assert SAFE_IDENTIFIER.match(attr) and attr not in reserved_names()
    assert not marker.exists()


def test_hostile_names_survive_a_project_file_round_trip_and_every_export(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER
    names = hostile_names()[:12] + ["\u202eevil", "名前"]
    graph = chain_graph(names)
    project = tmp_path / "evil.json"
    project.write_text(json.dumps({"format": "netcanvas", "version": 1, "graph": graph.to_dict(),
                                   "dataset": {}, "training": {}}), encoding="utf-8")
    loaded = load_project(project).graph
    assert [n.name for n in loaded.nodes.values()] == [n.strip() for n in names]

    report = export_onnx(loaded, tmp_path / "evil.onnx")
    assert report.max_abs_diff <= 1e-4
    for name in report.input_names + report.output_names:
        assert SAFE_IDENTIFIER.match(name)

    script = export_python(loaded, tmp_path / "evil.py")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "(2, 6)" in run.stdout
    assert not marker.exists()


def test_ten_thousand_character_names_are_refused_by_the_graph_and_capped_by_codegen(tmp_path):
    graph = chain_graph(["x", "fc", "y"])
    fc = graph.node_by_name("fc")
    with pytest.raises(NodeNameError, match="at most"):
        graph.rename(fc.id, "a" * 10_000)
    # Codegen does not rely on that check: a name forced past it is still capped and safe.
    fc.name = "ä" + "'\"\n" * 3333 + "b"
    source = generate_source(graph)
    assert_source_is_safe(source, [fc.name])
    assert max(len(line) for line in source.splitlines()) < 120
    assert build_module(graph)(torch.randn(2, 6)).shape == (2, 6)


def test_names_that_sanitise_alike_get_distinct_identifiers():
    graph = chain_graph(["in put", "fc-1", "fc 1", "fc_1", "fc.1", "out"])
    source = generate_source(graph)
    for attr in ("self.fc_1 =", "self.fc_1_1 =", "self.fc_1_2 =", "self.fc_1_3 ="):
        assert attr in source
    module = build_module(graph)
    assert len(list(module.children())) == 4


def test_hostile_class_name_is_sanitised():
    graph = chain_graph(["x", "fc", "y"])
    source = generate_source(graph, class_name="Evil(nn.Module):\n    pass\nclass X")
    assert "class EvilNnModulePassClassX(nn.Module):" in source  # PascalCase, nothing else survives
    assert generate_source(graph, class_name="print").count("class Print(nn.Module)") == 1
