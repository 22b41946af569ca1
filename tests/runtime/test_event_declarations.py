"""Every event a real run sends matches its declaration in runtime.events, and nothing else is sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from runtime import events
from runtime.events import EVENTS, EventError, make, problem
from runtime.train.trainer import Control, train


TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def iris_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def paused_once(stream, control):
    """Clear the pause flag as soon as the run says it paused (so it resumes at once)."""
    for event in stream:
        if event["type"] == "paused":
            control.pause.clear()
        yield event


def real_events(tmp_path) -> list[dict]:
    """A short real run of each ending: finished (with a pause), stopped, failed; regression metrics; an alarm."""
    control = Control()
    control.pause.set()
    seen = list(paused_once(train(module=iris_mlp(), dataset={"name": "iris"}, run_dir=tmp_path / "a",
                                  training={"epochs": 2, "batch_size": 16}, control=control), control))
    stop = Control()
    for event in train(module=iris_mlp(), dataset={"name": "iris"}, training={"epochs": 5, "batch_size": 8},
                       control=stop):
        seen.append(event)
        if event["type"] == "batch":
            stop.stop.set()
    seen += list(train(module=iris_mlp(), dataset={"name": "wine"}, training={"epochs": 1}))  # 13 features: fails
    torch.manual_seed(0)
    sine = nn.Sequential(nn.Flatten(), nn.Linear(32, 1))
    seen += list(train(module=sine, dataset={"name": "sine", "samples": 200}, training={"epochs": 1}))
    # A batch larger than the training split: the sanity watch's alarm, before the first epoch.
    seen += list(train(module=iris_mlp(), dataset={"name": "iris"}, training={"epochs": 1, "batch_size": 4096}))
    # The generative views: a VAE's reconstructions, prior samples, latent plane and anomaly scores.
    from graph_builder.project import load_project

    vae = load_project(TEMPLATES / "mlp_vae_digits.json")
    seen += list(train(vae, training={"epochs": 1}, live=False))
    seen += list(train(load_project(TEMPLATES / "sunspots_forecaster.json"), training={"epochs": 1}, live=False))
    seen += crossval_events(tmp_path / "cv")  # fold and crossval: the app's cross-validation child
    return seen


def crossval_events(root) -> list[dict]:
    from graph_builder import load_project
    from graph_builder.project import project_to_dict
    from runtime.train.crossval import run_crossval_in_child

    project = load_project(TEMPLATES / "mlp_iris.json")
    project.training.update({"folds": 2, "epochs": 1})
    seen: list[dict] = []
    queue = type("ListQueue", (), {"put": lambda self, event: seen.append(event)})()
    run_crossval_in_child(project_to_dict(project), str(root), queue, None)
    return seen


def test_every_event_of_a_real_run_matches_its_declaration(tmp_path):
    seen = real_events(tmp_path)
    types = {e["type"] for e in seen}
    assert types == set(EVENTS), f"not exercised: {set(EVENTS) - types}"  # every declared type really happens
    for event in seen:
        assert problem(event) is None, problem(event)
    for event in seen:  # the metric dicts hold declared keys only
        for split in ("train", "val", "test"):
            if isinstance(event.get(split), dict):
                declared = sum(events.METRIC_KEYS.values(), ())  # every task's declared metrics
                assert set(event[split]) <= set(declared), (event["type"], split, set(event[split]) - set(declared))


def test_the_trainer_cannot_send_an_undeclared_key():
    with pytest.raises(EventError, match="undeclared keys \\['sizes'\\]"):
        make("started", sizes={})
    with pytest.raises(EventError, match="lacks \\['batch'\\]"):
        make("paused", epoch=1)
    with pytest.raises(EventError, match="not declared"):
        make("validation")
    assert make("paused", epoch=1, batch=0) == {"type": "paused", "epoch": 1, "batch": 0}


def test_importing_the_event_declarations_imports_no_torch():
    code = "import sys, runtime.events, app.training.child; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
