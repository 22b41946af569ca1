"""`netcanvas sample`: a PNG grid of samples from a trained VAE or GAN run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from graph_builder import load_project, save_project
from runtime.cli import main
from runtime.train.trainer import last_event, train

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def trained(tmp_path: Path, template: str) -> tuple[Path, Path]:
    project = load_project(TEMPLATES / f"{template}.json")
    project.training.replace({**project.training, "epochs": 1, "device": "cpu"})
    path = tmp_path / f"{template}.json"
    save_project(project, path)
    assert last_event(train(load_project(path), run_dir=tmp_path / "run", live=False))["type"] == "finished"
    return path, tmp_path / "run"


def test_sample_writes_a_grid_of_vae_prior_samples(tmp_path, capsys):
    path, run = trained(tmp_path, "mlp_vae_digits")
    assert main(["sample", str(path), "--run", str(run), "--n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    image = np.asarray(Image.open(tmp_path / "grid.png"))
    assert image.shape == (4 * 33 + 1, 4 * 33 + 1)  # 4x4 tiles of 8x8 scaled by 4, 1-px gaps
    tiles = [image[1 + r * 33:1 + r * 33 + 32, 1 + c * 33:1 + c * 33 + 32] for r in range(4) for c in range(4)]
    assert len({t.tobytes() for t in tiles}) == 16  # sixteen different samples
    assert "wrote 16 samples" in capsys.readouterr().out


def test_sample_writes_gan_samples_and_refuses_a_classifier_run(tmp_path, capsys):
    path, run = trained(tmp_path, "dcgan_digits")
    assert main(["sample", str(path), "--run", str(run), "--n", "9", "--out", str(tmp_path / "gan.png")]) == 0
    assert Image.open(tmp_path / "gan.png").size == (3 * 33 + 1, 3 * 33 + 1)
    other = tmp_path / "lenet"
    other.mkdir()
    lenet, lenet_run = trained(other, "lenet_digits")
    assert main(["sample", str(lenet), "--run", str(lenet_run), "--out", str(tmp_path / "no.png")]) == 1
    assert "not generative" in capsys.readouterr().err
    assert not (tmp_path / "no.png").exists()
    shutil.rmtree(lenet_run)
    assert main(["sample", str(lenet), "--run", str(lenet_run), "--out", str(tmp_path / "no.png")]) == 1
