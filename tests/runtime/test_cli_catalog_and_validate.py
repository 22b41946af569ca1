"""`netcanvas layers` and `netcanvas validate`: output and exit codes (0 valid, 1 errors, 2 unreadable)."""

import json
import subprocess
import sys

from graph_builder import Graph, Project, all_specs, save_project
from runtime.cli import main


def test_layers_lists_every_catalog_entry(capsys):
    assert main(["layers"]) == 0
    text = capsys.readouterr().out
    for spec in all_specs():
        assert spec.type_id in text
    assert main(["layers", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(d["type"] for d in listed) == sorted(s.type_id for s in all_specs())
    conv = next(d for d in listed if d["type"] == "Conv2d")
    assert conv["inferred"] == ["in_channels"]
    kernel = next(p for p in conv["params"] if p["name"] == "kernel_size")
    assert (kernel["kind"], kernel["default"], kernel["min"]) == ("ints", 3, 1)


def _save(tmp_path, graph):
    path = tmp_path / "p.json"
    save_project(Project(graph), path)
    return path


def _mlp(input_shape):
    g = Graph()
    x = g.add_node("Input", params={"shape": input_shape})
    fc = g.add_node("Conv2d" if len(input_shape) == 1 else "Linear")
    y = g.add_node("Output")
    g.connect(x.id, fc.id)
    g.connect(fc.id, y.id)
    return g


def test_validate_exit_codes(tmp_path, capsys):
    good = _save(tmp_path, _mlp([1, 8, 8]))
    assert main(["validate", str(good)]) == 0
    assert "valid: 3 nodes" in capsys.readouterr().out

    bad = tmp_path / "bad.json"
    save_project(Project(_mlp([64])), bad)
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "conv2d expects a 4-D input" in out and "fix: Insert Unflatten" in out

    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "there is no file" in capsys.readouterr().err


def test_validate_json_output(tmp_path, capsys):
    bad = _save(tmp_path, _mlp([64]))
    assert main(["validate", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["issues"][0]["code"] == "shape"
    assert report["shapes"]["input"] == "(N, 64)"


def test_console_script_runs_headless(tmp_path):
    good = _save(tmp_path, _mlp([1, 8, 8]))
    result = subprocess.run([sys.executable, "-m", "app.entry", "validate", str(good), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_layer_reference_in_docs_is_generated_from_the_current_catalog(capsys):
    from pathlib import Path

    assert main(["layers", "--markdown"]) == 0
    generated = capsys.readouterr().out
    committed = (Path(__file__).resolve().parents[2] / "docs" / "layers.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/layers.md is stale: run `netcanvas layers --markdown > docs/layers.md`"
    assert "### Conv2d (`Conv2d`)" in generated and "| `kernel_size` | `3` |" in generated
