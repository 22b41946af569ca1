"""Generated digits judged by a real classifier: the LeNet template, trained on digits, classifies
500 samples of the trained VAE and of the trained GAN; most classes appear, confidently."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from graph_builder import load_project
from runtime.compile.compiler import build_module
from runtime.generate.sampling import _run_config, generate
from runtime.train.trainer import last_event, train

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
N = 500


def trained(template: str, run_dir: Path) -> dict:
    project = load_project(TEMPLATES / f"{template}.json")
    project.training.replace({**project.training, "device": "cpu"})
    done = last_event(train(project, run_dir=run_dir, live=False))
    assert done["type"] == "finished", done
    return done


def judged(classifier: torch.nn.Module, config: dict, images: torch.Tensor) -> tuple[int, float, list[int]]:
    """(classes that appear, mean top-class probability, count per class) of `images` in data units."""
    norm = config["resolved"]["normalization"]
    mean, std = torch.tensor(norm["mean"]).reshape(1, -1, 1, 1), torch.tensor(norm["std"]).reshape(1, -1, 1, 1)
    with torch.no_grad():
        p = torch.softmax(classifier((images - mean) / std), 1)
    top, label = p.max(1)
    counts = torch.bincount(label, minlength=10).tolist()
    return sum(c > 0 for c in counts), float(top.mean()), counts


@pytest.mark.slow
def test_vae_and_gan_samples_look_like_digits_to_a_lenet(tmp_path, record_property):
    lenet_done = trained("lenet_digits", tmp_path / "lenet")
    accuracy = lenet_done["test"]["accuracy"]
    assert accuracy >= 0.97
    classifier = build_module(load_project(TEMPLATES / "lenet_digits.json").graph).eval()
    classifier.load_state_dict(load_file(str(tmp_path / "lenet" / "best.safetensors")))
    config = _run_config(tmp_path / "lenet")
    figures = {"lenet_test_accuracy": accuracy}
    for template in ("mlp_vae_digits", "dcgan_digits"):
        trained(template, tmp_path / template)
        images = generate(load_project(TEMPLATES / f"{template}.json"), tmp_path / template, N, seed=1)
        classes, confidence, counts = judged(classifier, config, images)
        figures[template] = {"classes": classes, "mean_top_probability": round(confidence, 3), "counts": counts}
        print(template, figures[template])
        assert classes >= 8, figures
        assert confidence >= 0.7, figures
    record_property("figures", figures)
    print(figures)
