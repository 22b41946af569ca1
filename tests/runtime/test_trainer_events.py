"""The trainer's event stream: order and contents, stop within one batch, pause, the child process."""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import threading

import numpy as np
import torch
from torch import nn

from runtime.train.trainer import Control, last_event, run_in_child, train


def mlp(inputs=64, classes=10, hidden=32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def test_a_run_streams_started_batches_epochs_confusion_progress_and_finished():
    events = list(train(module=mlp(), dataset={"name": "digits"}, training={"epochs": 3, "batch_size": 32}))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("epoch") == 3 and "batch" in kinds and "progress" in kinds
    started = events[0]
    assert started["classes"] == [str(i) for i in range(10)] and started["batches_per_epoch"] == 34
    assert started["val_size"] == 360 and started["device"] == "cpu" and started["task"] == "classification"
    epochs = [e for e in events if e["type"] == "epoch"]
    for e in epochs:
        for split in ("train", "val"):
            m = e[split]
            assert 0 <= m["accuracy"] <= 1 and np.isfinite(m["loss"])
            assert len(m["precision"]) == len(m["recall"]) == len(m["f1"]) == 10
            assert 0 <= m["f1_macro"] <= 1
    assert epochs[-1]["val"]["loss"] < epochs[0]["val"]["loss"]
    confusions = [e for e in events if e["type"] == "confusion"]
    assert [c["split"] for c in confusions] == ["validation"] * 3 + ["test"]
    assert np.asarray(confusions[0]["matrix"]).sum() == 360
    assert np.asarray(confusions[-1]["matrix"]).sum(1).tolist() == events[-1]["test"]["support"]
    assert sum(confusions[-1]["matrix"][i][i] for i in range(10)) / 359 == events[-1]["test"]["accuracy"]
    batch = next(e for e in events if e["type"] == "batch")
    assert {"epoch", "batch", "batches", "loss", "lr", "step"} <= set(batch)
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["fraction"] == 1.0 and progress[-1]["eta_s"] == 0.0
    assert all(p["eta_s"] is not None and p["samples_per_s"] > 0 for p in progress)
    assert events[-1]["test"]["accuracy"] > 0.8 and "test accuracy" in events[-1]["message"]


def test_events_are_small_plain_data():
    import json
    import pickle

    for e in train(module=mlp(), dataset={"name": "digits"}, training={"epochs": 1}):
        text = json.dumps(e)
        assert len(text) < 20000
        assert pickle.loads(pickle.dumps(e)) == e


def test_binary_tasks_report_roc_auc_and_regression_reports_mse_mae_r2():
    torch.manual_seed(0)
    binary = last_event(train(module=nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 2)),
                              dataset={"name": "breast_cancer"}, training={"epochs": 5}))
    assert binary["type"] == "finished" and 0.9 < binary["test"]["auc"] <= 1.0
    reg = list(train(module=nn.Sequential(nn.Flatten(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)),
                     dataset={"name": "sine"}, training={"epochs": 5, "lr": 3e-3}))
    assert reg[0]["metric"] == "mae" and reg[0]["classes"] == []
    test = reg[-1]["test"]
    assert {"loss", "mse", "mae", "r2"} <= set(test) and test["r2"] > 0.5
    assert not any(e["type"] == "confusion" for e in reg)


def test_live_false_leaves_out_batch_and_progress_events():
    kinds = {e["type"] for e in train(module=mlp(), dataset={"name": "digits"}, training={"epochs": 2}, live=False)}
    assert "batch" not in kinds and "progress" not in kinds and {"epoch", "finished"} <= kinds


def test_stop_ends_the_run_before_the_next_batch(tmp_path):
    control = Control()
    seen = []
    for e in train(module=mlp(), dataset={"name": "digits"}, training={"epochs": 50, "batch_size": 8},
                   run_dir=tmp_path, control=control):
        seen.append(e)
        if e["type"] == "batch" and e["epoch"] == 2:
            control.stop.set()
            stop_batch = e["batch"]
    assert seen[-1]["type"] == "stopped"
    assert seen[-1]["epoch"] == 2 and seen[-1]["batch"] == stop_batch + 1  # the very next batch did not run
    assert [e for e in seen if e["type"] == "batch"][-1]["batch"] == stop_batch
    assert (tmp_path / "last.safetensors").is_file() and (tmp_path / "best.safetensors").is_file()
    assert '"type": "stopped"' in (tmp_path / "metrics.jsonl").read_text().splitlines()[-1]


def test_pause_holds_the_loop_until_it_is_cleared():
    control = Control()
    kinds = []
    for e in train(module=mlp(), dataset={"name": "digits"}, training={"epochs": 2}, control=control):
        kinds.append(e["type"])
        if e["type"] == "batch" and "paused" not in kinds:
            control.pause.set()
            threading.Timer(0.3, control.pause.clear).start()  # as the GUI's Resume would
    assert kinds.index("paused") < kinds.index("resumed") < kinds.index("finished")
    assert kinds[-1] == "finished"


def test_the_same_trainer_runs_in_a_spawned_child_with_events_over_a_queue(tmp_path):
    from graph_builder import Graph, Project
    from graph_builder.project import project_to_dict

    g = Graph()
    nodes = [g.add_node("Input", params={"shape": (4,)}), g.add_node("Linear", params={"out_features": 16}),
             g.add_node("ReLU"), g.add_node("Linear", params={"out_features": 3}), g.add_node("Output")]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    project = project_to_dict(Project(g, {"name": "iris"}, {"epochs": 30, "lr": 0.01, "batch_size": 16}))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    control = {"stop": ctx.Event(), "pause": ctx.Event()}  # the app's form of the flags
    child = ctx.Process(target=run_in_child, args=(project, str(tmp_path / "run"), q, control), daemon=True)
    child.start()
    events = []
    while True:
        try:
            e = q.get(timeout=120)
        except queue_mod.Empty:
            break
        events.append(e)
        if e["type"] in ("finished", "failed", "stopped"):
            break
    child.join(30)
    assert child.exitcode == 0
    assert events[0]["type"] == "started" and events[-1]["type"] == "finished", events[-1]
    assert events[-1]["test"]["accuracy"] > 0.8
    assert (tmp_path / "run" / "best.safetensors").is_file()
