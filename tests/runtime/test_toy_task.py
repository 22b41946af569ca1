"""A task registered from outside (a quantile regression, the user guide's "Adding a task") gets its own setting,
its views, training and an exported script that trains to the app's weights: nothing outside its module changes.

Everything the task is stands in this file, in the two halves a task module has: the spec (what it is:
graph_builder.tasks) and the runtime (what it does with torch: runtime.tasks).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest
import torch
from safetensors.torch import load_file

from graph_builder import tasks
from graph_builder.project import load_project
from graph_builder.schema import Field
from graph_builder.settings import SetSetting
from graph_builder.tasks import LOSS, Metric, TaskSpec
from graph_builder.tasks.regression import MAE
from runtime import tasks as runtime_tasks
from runtime.tasks.base import check_values, probe_output
from runtime.tasks.single import SingleNetwork
from runtime.templates import template_paths
from runtime.train.loop import assemble_single
from runtime.train.objectives import Regression

# ---------------------------------------------------------------- the task's spec (graph_builder/tasks/quantile.py)


@dataclass(frozen=True)
class QuantileTask(TaskSpec):
    """A quantile regression: named by its own setting, the quantile it predicts."""

    def claims(self, training, data_kind, graph) -> bool:
        return training.get("quantile") is not None and data_kind != "classes"


QUANTILE = QuantileTask(
    id="quantile", title="Quantile regression", priority=5, target="values",
    metrics=(LOSS, MAE, Metric("coverage", "coverage", "Coverage", lower_is_better=False, monitorable=False)),
    headline="mae", views=("curves", "quantile_band"), setting_tags=frozenset({"optimizer", "quantile"}),
    summary_keys=("mae",),
    own_settings=(Field("quantile", "float", None, "The quantile to predict (0.5: the median).", min=0.01, max=0.99,
                        optional=True, label="quantile", tags=frozenset({"quantile"})),))


# ---------------------------------------------------------------- its runtime (runtime/tasks/quantile.py)


@dataclass
class Pinball(Regression):
    """The pinball loss of quantile q: under-predictions weigh q, over-predictions 1 - q."""

    quantile: float = 0.5

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = target - out.float().reshape(target.shape)
        return torch.maximum(self.quantile * err, (self.quantile - 1) * err).mean()


def assemble(models, s, t, device, amp, steps, world=1):
    """A quantile regressor's Built: the pinball loss over the main network."""
    objective = Pinball("pinball", t["huber_delta"], quantile=t["quantile"])
    return assemble_single(models["model"], objective, s, t, device, amp, steps, world)


class QuantileRuntime(SingleNetwork):
    spec = QUANTILE
    engine = (Pinball,)  # embedded in its scripts beside the common engine
    assemble = staticmethod(assemble)

    def settings(self, setup, models, pretrained):
        check_values(probe_output(models["model"], setup), setup.splits.target_shape, "quantile target")
        return {"loss": "pinball", "classes": [], **self.common(setup, pretrained)}


# ---------------------------------------------------------------- the test


@pytest.fixture
def quantile_task():
    tasks.register(QUANTILE)
    runtime_tasks.register_runtime(QuantileRuntime())
    yield QUANTILE
    runtime_tasks.unregister_runtime("quantile")
    tasks.unregister("quantile")


def sine(**training):
    project = load_project(template_paths()["sine_forecaster"])
    project.training.update({"epochs": 1, "device": "cpu", **training})
    return project


def test_a_registered_task_gets_its_setting_only_where_it_applies(quantile_task):
    project = sine()
    assert project.task().id == "regression" and not project.training.applies("quantile")
    project.training.apply(SetSetting("quantile", 0.9))
    assert project.task() is quantile_task and project.training.applies("quantile")
    assert project.training.applies("optimizer") and not project.training.applies("denoise")
    classifier = load_project(template_paths()["mlp_digits"])
    classifier.training.apply(SetSetting("quantile", 0.9))  # its data has classes: the task does not claim it
    assert "quantile" not in classifier.training and classifier.task().id == "classification"
    assert quantile_task.views == ("curves", "quantile_band") and quantile_task.monitors() == ("val_loss",
                                                                                             "val_mae", "train_loss")


def test_a_registered_task_trains_and_its_script_reaches_the_same_weights(quantile_task, tmp_path):
    from runtime.export.script import export_training_script
    from runtime.train import last_event, train

    project = sine(quantile=0.9)
    done = last_event(train(project.copy(), run_dir=tmp_path / "run", live=False))
    assert done["type"] == "finished" and "test MAE" in done["message"], done
    script = export_training_script(project, tmp_path / "train_quantile.py")
    text = script.read_text()
    assert "class Pinball(Regression)" in text and "TASK = 'quantile'" in text
    run = subprocess.run([sys.executable, script.name, "--out", "w.pt"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    app, ours = load_file(str(tmp_path / "run" / "last.safetensors")), torch.load(tmp_path / "w.pt", weights_only=True)
    assert app.keys() == ours.keys() and all(torch.equal(app[k], ours[k]) for k in app)


def test_once_removed_the_task_and_its_setting_are_gone(quantile_task):
    from graph_builder.settings import training_fields

    assert "quantile" in {f.name for f in training_fields()}
    runtime_tasks.unregister_runtime("quantile")
    tasks.unregister("quantile")
    assert "quantile" not in {f.name for f in training_fields()} and sine().task().id == "regression"
