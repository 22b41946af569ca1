"""The 3-step dry run (runtime.train.time_epoch, `netcanvas memory --time`): an epoch's length and what it is made of.

How close the estimate comes to a real epoch is a timing, so it is measured in bench/bench_epoch_time.py; here
the counts it multiplies, the steps' reality and the words.
"""

import json
import math
from pathlib import Path

from graph_builder import Project, save_project
from graph_builder.project import load_project, project_from_dict, project_to_dict
from runtime.cli import main
from runtime.data import load_splits
from runtime.train import time_epoch
from runtime.train.dry_run import EpochTime, prepare_step, seconds_text

from tests.builders import chain

TEMPLATES = Path(__file__).parents[2] / "resources" / "templates"


def _iris(tmp_path, batch_size=16):
    graph = chain(("Input", "x", {"shape": [4]}), ("Linear", "fc", {"out_features": 3}), ("Output", "y", {}))
    path = tmp_path / "p.json"
    save_project(Project(graph, {"name": "iris"}, {"batch_size": batch_size, "device": "cpu"}), path)
    return path


def test_an_epoch_is_the_training_steps_and_the_validation_batches_of_the_real_split(tmp_path):
    path = _iris(tmp_path)
    project = load_project(path)
    splits = load_splits(project.dataset)
    timing = time_epoch(project, device="cpu", project_path=path)
    assert timing.steps_per_epoch == math.ceil(len(splits["train"][0]) / 16)
    assert timing.eval_batches == 1 and timing.batch_size == 16 and timing.device == "cpu"
    assert timing.step_seconds > 0 and timing.eval_seconds > 0
    assert timing.epoch_seconds == timing.step_seconds * timing.steps_per_epoch + timing.eval_seconds
    assert time_epoch(project, batch_size=4, device="cpu", project_path=path).steps_per_epoch == math.ceil(
        len(splits["train"][0]) / 4)


def test_the_timed_step_trains_the_model(tmp_path):
    path = _iris(tmp_path)
    prepared = prepare_step(load_project(path), device="cpu", project_path=path)
    before = [p.detach().clone() for p in prepared.built.model.parameters()]
    prepared.step()
    assert any(not (b == p).all() for b, p in zip(before, prepared.built.model.parameters()))
    assert not prepared.stand_in


def test_data_not_downloaded_times_a_step_and_says_the_epoch_is_unknown(tmp_path):
    path = TEMPLATES / "mnist_mlp.json"
    data = project_to_dict(load_project(path))
    # MNIST's files read from an empty folder (the download cache may hold them: another test served them)
    data["dataset"]["path"] = str(tmp_path / "empty")
    project = project_from_dict(data)
    timing = time_epoch(project, device="cpu", project_path=path)
    assert timing.steps_per_epoch == 0 and timing.epoch_seconds is None and timing.step_seconds > 0
    assert "download it to estimate an epoch" in timing.text()


def test_the_words_name_the_epoch_and_its_parts():
    timing = EpochTime(0.05, 40, 0.02, 2, 32, "cpu")
    assert timing.text() == ("one epoch ≈ 2.04 s on cpu: 40 steps of 50 ms at batch size 32, "
                             "2 validation batches of 20 ms (from a dry run of 3 steps)")
    assert [seconds_text(s) for s in (0.0042, 0.25, 12.34, 754, 7300)] == [
        "4.2 ms", "250 ms", "12.3 s", "12 min 34 s", "2 h 1 min"]


def test_memory_time_prints_the_estimate_and_its_json(tmp_path, capsys):
    path = _iris(tmp_path)
    assert main(["memory", str(path), "--time"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("one epoch ≈ ") and "steps of" in out
    assert main(["memory", str(path), "--time", "--json", "--batch-size", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["time"]["batch_size"] == 8 and report["time"]["steps_per_epoch"] >= 1
    assert report["time"]["epoch_seconds"] > 0


def test_memory_time_does_not_run_a_step_that_does_not_fit(tmp_path, capsys):
    graph = chain(("Input", "x", {"shape": [100000, 100000]}), ("Linear", "fc", {"out_features": 1000000}),
                  ("Output", "y", {}))
    path = tmp_path / "huge.json"
    save_project(Project(graph, {"name": "iris"}, {"batch_size": 1, "device": "cpu"}), path)
    assert main(["memory", str(path), "--time"]) == 1
    out = capsys.readouterr().out
    assert "error: training needs about" in out and "one epoch" not in out
