"""One engine (DESIGN.md decision 12): the trainer and the exported training script run the same
objectives, so the same project and seed end with the same weights, whatever options are set."""

from __future__ import annotations

import copy
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from graph_builder import load_project
from runtime.train import loop, objectives, optim
from runtime.export.script import export_training_script
from runtime.train.trainer import last_event, train

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def trained_both_ways(tmp_path: Path, template: str, **training) -> tuple[dict, dict, str]:
    """(trainer weights, script weights, script output) after training `template` with `training` set."""
    project = load_project(TEMPLATES / f"{template}.json")
    project.training.replace({**project.training, "epochs": 2, "device": "cpu", "restore_best": False, **training})
    done = last_event(train(copy.deepcopy(project), run_dir=tmp_path / "run", live=False))
    assert done["type"] == "finished", done
    script = export_training_script(project, tmp_path / "train.py")
    run = subprocess.run([sys.executable, script.name, "--out", "w.pt"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    return (load_file(str(tmp_path / "run" / "last.safetensors")),
            torch.load(tmp_path / "w.pt", weights_only=True), run.stdout)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6, rtol=0), key


def test_trainer_and_script_end_with_the_same_weights(tmp_path):
    app, script, _ = trained_both_ways(tmp_path, "lenet_digits")  # conv, pooling and dropout
    assert_same_weights(app, script)


OPTIONS = [
    pytest.param({"init": "he_normal", "l1": 1e-4, "grad_clip": 0.5, "mixed_precision": True}, id="init-l1-clip-amp"),
    pytest.param({"monitor": "val_accuracy", "schedule": "plateau", "schedule_patience": 0, "gamma": 0.5,
                  "early_stopping": True, "patience": 1, "min_delta": 10.0, "epochs": 3}, id="monitor-plateau-early"),
    pytest.param({"schedule": "one_cycle", "optimizer": "sgd", "momentum": 0.8}, id="one-cycle-sgd"),
]


@pytest.mark.parametrize("options", OPTIONS)
def test_each_option_the_trainer_honours_reaches_the_script(tmp_path, options):
    app, script, out = trained_both_ways(tmp_path, "mlp_digits", **options)
    assert_same_weights(app, script)
    if options.get("early_stopping"):
        assert "stopped early" in out and "epoch 3/3" not in out  # min_delta 10 never improves


def test_a_denoising_autoencoder_trains_the_same_both_ways(tmp_path):
    app, script, out = trained_both_ways(tmp_path, "conv_autoencoder_digits", denoise=0.3, epochs=1)
    assert_same_weights(app, script)
    assert "val mae" in out


def test_a_vae_with_kl_warm_up_trains_the_same_both_ways(tmp_path):
    app, script, out = trained_both_ways(tmp_path, "mlp_vae_digits", beta_warmup=3)
    assert_same_weights(app, script)
    assert "val kl" in out and "val reconstruction" in out


def test_the_script_embeds_the_engine_source_rather_than_a_copy(tmp_path):
    project = load_project(TEMPLATES / "mlp_digits.json")
    text = export_training_script(project, tmp_path / "train.py").read_text()
    for fn in (objectives.Step, optim.make_optimizer, optim.make_scheduler, objectives.RunState,
               optim.amp_dtype, objectives.Reconstruction, loop.Loop, loop.assemble_single):
        assert inspect.getsource(fn) in text
    assert 'amp_dtype(device, t["mixed_precision"])' in text  # the mixed-precision flag reaches the step
    assert "def make_loss" not in text and "def make_optimizer(params):" not in text  # the old second loop


def test_reconstruction_scores_rank_the_worst_reconstructed_first():
    model = torch.nn.Identity()
    x = torch.zeros(4, 3)
    objective = objectives.Reconstruction("mse")

    class Noisy(torch.nn.Module):
        def forward(self, x):
            return x + torch.tensor([[0.0], [2.0], [0.5], [1.0]])

    assert objective.anomaly_scores(model, x).tolist() == [0.0] * 4
    scores = objective.anomaly_scores(Noisy(), x)
    assert scores.argsort(descending=True).tolist() == [1, 3, 2, 0]
    assert scores[1] == pytest.approx(4.0)


def test_run_state_round_trips_through_its_checkpoint_form():
    state = objectives.RunState(epoch=3, step=120, best_epoch=2, best_value=0.25, wait=1)
    again = objectives.RunState.from_checkpoint(state.to_checkpoint(model={}, optimizer={}))
    assert again == state


def test_the_script_exporter_holds_no_loop_over_epochs_or_batches():
    """The loop lives once (runtime/train/loop.py); runtime/export/script.py only embeds it and prints."""
    import re

    from runtime.export import script as exporter

    source = inspect.getsource(exporter)
    for pattern in (r"\.backward\(", r"optimizer\.step", r"\bfor\s+epoch\b", r"\bfor\b[^\n]*\bin\b[^\n]*batch",
                    r"range\(\s*(steps|n)\b", r"zero_grad"):
        assert not re.search(pattern, source), pattern
