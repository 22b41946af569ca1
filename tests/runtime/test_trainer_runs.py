"""Run folders, resume, safe checkpoints, and failures reported in plain words (NaN, out of memory,
model/data mismatches, bad settings)."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from torch import nn

from graph_builder import Graph, Project
from runtime.train.trainer import CHECKPOINT, Control, last_event, train
from tests.builders import chain


def iris_mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 3))


def iris_graph():
    return chain(("Input", {"shape": (4,)}), ("Linear", {"out_features": 16}), ("ReLU", {}),
                 ("Linear", {"out_features": 3}), ("Output", {}))


def test_run_folder_holds_config_metrics_weights_checkpoint_and_confusion(tmp_path):
    project = Project(iris_graph(), {"name": "iris"}, {"epochs": 3, "lr": 0.01})
    events = list(train(project, run_dir=tmp_path))
    assert events[-1]["type"] == "finished"
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["project"]["networks"][0]["graph"]["nodes"][1]["type"] == "Linear"
    assert config["project"]["training"]["epochs"] == 3 and config["project"]["training"]["optimizer"] == "adam"
    assert config["resolved"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert len(config["resolved"]["normalization"]["mean"]) == 4
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [e["type"] for e in lines] == [e["type"] for e in events if e["type"] not in ("batch", "progress")]
    from runtime.compile.compiler import build_module
    from runtime.export.formats import load_weights

    for name in ("best.safetensors", "last.safetensors"):
        load_weights(build_module(project.graph), tmp_path / name)  # fits the project's model
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert state["epoch"] == 3 and set(state) >= {"model", "optimizer", "rng"}
    files = sorted(p.name for p in (tmp_path / "confusion").iterdir())
    assert files == ["test.json", "validation_epoch0001.json", "validation_epoch0002.json",
                     "validation_epoch0003.json"]
    matrix = json.loads((tmp_path / "confusion" / "test.json").read_text())["matrix"]
    assert sum(map(sum, matrix)) == 30


def test_resume_continues_from_the_saved_epoch_to_the_same_result(tmp_path):
    settings = {"epochs": 6, "lr": 0.01, "batch_size": 16, "schedule": "cosine"}
    straight = iris_mlp()
    full = list(train(module=straight, dataset={"name": "iris"}, training=settings, run_dir=tmp_path / "a"))
    control = Control()
    for event in train(module=iris_mlp(), dataset={"name": "iris"}, training=settings, run_dir=tmp_path / "b",
                       control=control):
        if event["type"] == "epoch" and event["epoch"] == 3:
            control.stop.set()  # the user stops after the third epoch
    assert event["type"] == "stopped" and event["epoch"] == 4
    fresh = iris_mlp(seed=123)  # a new process would start from other weights: the checkpoint restores them
    rest = list(train(module=fresh, dataset={"name": "iris"}, training=settings, run_dir=tmp_path / "b",
                      resume=True))
    assert rest[0]["type"] == "started" and rest[0]["start_epoch"] == 4 and rest[0]["resumed"]
    assert [e["epoch"] for e in rest if e["type"] == "epoch"] == [4, 5, 6]
    for a, b in zip(straight.state_dict().values(), fresh.state_dict().values()):
        torch.testing.assert_close(a, b)  # the same weights as the uninterrupted run
    full_val = [e["val"]["loss"] for e in full if e["type"] == "epoch"]
    logged = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [e["val"]["loss"] for e in logged if e["type"] == "epoch"] == pytest.approx(full_val)


def test_resume_of_a_project_run_reads_the_project_from_the_run_folder(tmp_path):
    project = Project(iris_graph(), {"name": "iris"}, {"epochs": 2})
    assert last_event(train(project, run_dir=tmp_path))["type"] == "finished"
    more = list(train(run_dir=tmp_path, resume=True, training={"epochs": 4}))
    assert more[0]["start_epoch"] == 3 and more[-1]["type"] == "finished" and more[-1]["epochs_run"] == 4


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    assert last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training={"epochs": 1},
                            run_dir=tmp_path))["type"] == "finished"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / CHECKPOINT).write_bytes(pickle.dumps({"format": "netcanvas-checkpoint", "x": Evil()}, protocol=2))
    final = last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training={"epochs": 2},
                             run_dir=tmp_path, resume=True))
    assert final["type"] == "failed" and final["kind"] == "checkpoint" and "cannot be read safely" in final["message"]
    (tmp_path / CHECKPOINT).unlink()
    final = last_event(train(module=iris_mlp(), dataset={"name": "iris"}, run_dir=tmp_path, resume=True))
    assert final["kind"] == "checkpoint" and "no checkpoint.pt" in final["message"]


def test_a_loss_that_turns_nan_stops_the_run_naming_epoch_and_batch():
    events = list(train(module=iris_mlp(), dataset={"name": "iris"},
                        training={"epochs": 5, "lr": 10.0, "optimizer": "sgd", "momentum": 0.9, "batch_size": 4}))
    final = events[-1]
    assert final["type"] == "failed" and final["kind"] == "nan", final
    assert f"epoch {final['epoch']}, batch " in final["message"] and "Lower the learning rate" in final["message"]
    assert not any(e["type"] == "finished" for e in events)


def test_running_out_of_memory_names_a_batch_size_to_try():
    # Upsampling an 8x8 digit 512 times gives 64 MiB per sample, so a batch of all 1,078 training digits
    # needs 69 GB: a real allocation failure on this machine, refused at once (nothing is filled).
    g = chain(("Input", {"shape": (1, 8, 8)}), ("Upsample", {"scale_factor": 64.0}),
              ("Upsample", {"scale_factor": 8.0}), ("GlobalAvgPool", {}), ("Linear", {"out_features": 10}),
              ("Output", {}))
    final = last_event(train(Project(g, {"name": "digits"}, {"epochs": 1, "batch_size": 2048})))
    assert final["type"] == "failed" and final["kind"] == "oom", final
    assert final["batch_size_to_try"] == 1024 and "epoch 1, batch 1" in final["message"]
    assert "Try batch size 1024" in final["message"]


@pytest.mark.parametrize("graph, dataset, words", [
    (lambda: chain(("Input", {"shape": (4,)}), ("Linear", {"out_features": 5}), ("Output", {})), "iris",
     "output gives (N, 5) but the iris data has 3 classes"),
    (lambda: chain(("Input", {"shape": (8,)}), ("Linear", {"out_features": 3}), ("Output", {})), "iris",
     "input expects (N, 8) but the iris data gives (N, 4) per batch; set the shape of input to 4"),
    (lambda: chain(("Input", {"shape": (1, 8, 8)}), ("Flatten", {}), ("Linear", {"out_features": 2}),
                   ("Output", {})), "digits", "must give (N, 10) (one score per class); set out_features of linear to 10"),
    (lambda: chain(("Input", {"shape": (32, 1)}), ("Flatten", {}), ("Linear", {"out_features": 3}),
                   ("Output", {})), "sine", "regression target of the sine-wave data is (N, 1)"),
    (lambda: Graph(), "iris", "the graph is empty"),
])
def test_a_model_that_does_not_fit_the_data_is_reported(graph, dataset, words):
    final = last_event(train(Project(graph(), {"name": dataset}, {"epochs": 1})))
    assert final["type"] == "failed" and words in final["message"], final


@pytest.mark.parametrize("training, words", [
    ({"optimizer": "adamx"}, "training setting optimizer: optimizer must be one of"),
    ({"task": "regression"}, "the task is regression but the iris data is for classification"),
    ({"monitor": "val_r2"}, "monitor val_r2 does not exist for a classification run"),
    ({"loss": "mse"}, "loss mse does not fit a classification run; use cross_entropy"),
])
def test_bad_settings_fail_before_training_with_the_reason(training, words):
    final = last_event(train(module=iris_mlp(), dataset={"name": "iris"}, training=training))
    assert final["type"] == "failed" and final["kind"] == "settings" and words in final["message"], final


def test_reconstruction_trains_an_autoencoder_against_its_own_input():
    torch.manual_seed(0)
    ae = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 64), nn.Unflatten(1, (1, 8, 8)))
    events = list(train(module=ae, dataset={"name": "digits"}, training={"task": "reconstruction", "epochs": 8,
                                                                         "lr": 3e-3}))
    ep = [e for e in events if e["type"] == "epoch"]
    assert events[0]["task"] == "reconstruction" and events[0]["loss"] == "mse"
    assert ep[-1]["val"]["loss"] < 0.5 * ep[0]["val"]["loss"]
    assert events[-1]["type"] == "finished" and "r2" in events[-1]["test"]
