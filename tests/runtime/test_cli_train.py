"""`netcanvas train`, `netcanvas templates` and `netcanvas new`: output, files and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from graph_builder import Graph, Project, load_project, save_project
from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]
NETCANVAS = Path(sys.executable).with_name("netcanvas")


def iris_project(tmp_path, **training) -> Path:
    assert main(["new", "--template", "mlp_iris", str(tmp_path / "iris.json")]) == 0
    path = tmp_path / "iris.json"
    if training:
        p = load_project(path)
        p.training.update(training)
        save_project(p, path)
    return path


def test_templates_lists_every_template_and_new_copies_one(tmp_path, capsys):
    assert main(["templates", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert names == {p.stem for p in (ROOT / "resources" / "templates").glob("*.json")}
    assert {"lenet_digits", "mlp_iris", "transformer_waveforms", "conv_autoencoder_digits"} <= names
    assert all(r["title"] and r["description"] for r in rows)
    assert main(["templates"]) == 0
    assert "LeNet-style CNN on digits" in capsys.readouterr().out
    out = tmp_path / "mine.json"
    assert main(["new", "--template", "lenet_digits", str(out)]) == 0
    assert load_project(out) == load_project(ROOT / "resources" / "templates" / "lenet_digits.json")
    assert main(["new", "--template", "lenet_digits", str(out)]) == 1  # no silent overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["new", "--template", "lenet_digits", str(out), "--force"]) == 0
    assert main(["new", "--template", "vgg", str(tmp_path / "x.json")]) == 2
    assert "no template 'vgg'; available: " in capsys.readouterr().err


def test_train_prints_one_line_per_epoch_and_the_test_summary(tmp_path, capsys):
    path = iris_project(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(path), "--epochs", "4", "--out", str(run), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 4
    first = next(line for line in lines if line.startswith("epoch "))
    assert first.startswith("epoch 1/4  train loss ") and "val loss" in first
    assert any(line.startswith("test: loss ") and "accuracy" in line for line in lines)
    assert "Training finished 4 epochs; test accuracy" in lines[-1]
    assert (run / "best.safetensors").is_file() and (run / "metrics.jsonl").is_file()
    assert json.loads((run / "config.json").read_text())["project"]["training"]["epochs"] == 4


def test_train_json_prints_every_event_as_a_json_line_and_resume_continues(tmp_path, capsys):
    path = iris_project(tmp_path)
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", str(path), "--epochs", "2", "--out", str(run), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["type"] == "started" and events[-1]["type"] == "finished"
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    assert main(["train", str(path), "--epochs", "3", "--out", str(run), "--json", "--resume"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["start_epoch"] == 3 and [e["epoch"] for e in events if e["type"] == "epoch"] == [3]


def test_train_exit_codes_for_unreadable_invalid_and_failing_projects(tmp_path, capsys):
    (tmp_path / "broken.json").write_text("{not json")
    assert main(["train", str(tmp_path / "broken.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    g = Graph()
    g.add_node("Linear")
    save_project(Project(g), tmp_path / "invalid.json")
    assert main(["train", str(tmp_path / "invalid.json")]) == 1
    assert "the graph has errors to fix first" in capsys.readouterr().err
    path = iris_project(tmp_path, lr=10.0, optimizer="sgd", batch_size=4)
    assert main(["train", str(path), "--epochs", "5", "--out", str(tmp_path / "nan")]) == 1
    err = capsys.readouterr().err
    assert "training failed: The loss became " in err and "Lower the learning rate" in err
    assert main(["train", str(path), "--device", "cuda", "--out", str(tmp_path / "gpu")]) == (0 if _has_cuda() else 1)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_the_netcanvas_command_trains_a_template_end_to_end(tmp_path):
    project = tmp_path / "lenet.json"
    done = subprocess.run([str(NETCANVAS), "new", "--template", "lenet_digits", str(project)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(NETCANVAS), "train", str(project), "--epochs", "3"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Training finished 3 epochs; test accuracy" in done.stdout
    runs = list((tmp_path / "lenet.runs").iterdir())  # the default run folder sits beside the project
    assert len(runs) == 1 and (runs[0] / "last.safetensors").is_file()
    assert "PySide6" not in done.stderr


def test_training_a_template_from_the_command_line_imports_no_scikit_learn(tmp_path):
    # scikit-learn's import alone takes longer than the digits MLP trains an epoch; the data is its bundled file
    project = tmp_path / "mlp.json"
    assert main(["new", "--template", "mlp_digits", str(project)]) == 0
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "netcanvas", "train", str(project), "--epochs", "1",
                           "--out", str(tmp_path / "run"), "--device", "cpu"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Training finished 1 epochs; test accuracy" in done.stdout
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"torch", "runtime.data.bundled"} <= imported  # the listing is real: it names what the run did import
    assert not {name for name in imported if name.split(".")[0] in ("sklearn", "scipy")}


def test_the_sunspot_template_validates_and_trains_and_bad_series_settings_fail_in_one_line(tmp_path, capsys):
    path = tmp_path / "sunspots.json"
    assert main(["new", "--template", "sunspots_forecaster", str(path)]) == 0
    assert main(["validate", str(path)]) == 0
    assert "valid: 4 nodes" in capsys.readouterr().out
    assert main(["train", str(path), "--epochs", "2", "--out", str(tmp_path / "run")]) == 0
    assert "Training finished 2 epochs; test MSE" in capsys.readouterr().out
    csv = ROOT / "resources" / "datasets" / "sunspots.csv"
    for dataset, words in [
        ({"name": "series_csv", "path": str(csv), "time_column": "YEAR", "target": "sunspots"},
         "dataset setting target: sunspots.csv has no column 'sunspots'; its columns are 'YEAR', 'SUNACTIVITY'"),
        ({"name": "series_csv", "path": str(csv), "seq_len": 400},
         "dataset setting seq_len: the series has 309 steps, fewer than a window of seq_len 400 plus horizon 1"),
    ]:
        p = load_project(path)
        p.dataset.replace(dataset)
        save_project(p, path)
        assert main(["train", str(path), "--out", str(tmp_path / "bad")]) == 1
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1, err
