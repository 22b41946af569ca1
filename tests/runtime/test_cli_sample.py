"""`netcanvas sample`: a PNG grid of samples from a trained VAE or GAN run, or their raw values in an .npz."""

from __future__ import annotations

import json
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


def test_sample_npz_holds_raw_samples_in_the_datas_units_and_their_metadata(tmp_path, capsys):
    path, run = trained(tmp_path, "mlp_vae_digits")
    out = tmp_path / "samples.npz"
    assert main(["sample", str(path), "--run", str(run), "--n", "20", "--seed", "5", "--format", "npz",
                 "--out", str(out)]) == 0
    assert "wrote 20 samples" in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as f:
        samples, metadata = f["samples"], json.loads(str(f["metadata"]))
    assert samples.shape == (20, 1, 8, 8) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 16.0  # the digits' raw pixels
    assert samples.max() > 1.0  # the data's units, not the 0-1 the network was fed
    assert metadata["task"] == "vae" and metadata["seed"] == 5 and metadata["count"] == 20
    assert metadata["pixel_range"] == [0.0, 16.0] and metadata["shape"] == [1, 8, 8]
    norm = metadata["normalization"]
    scaled = (samples - np.reshape(norm["mean"], norm["shape"])) / np.reshape(norm["std"], norm["shape"])
    assert scaled.min() >= 0.0 and scaled.max() <= 1.0  # back in the network's units: the Sigmoid's range
    again = tmp_path / "again.npz"  # the suffix picks the format; the seed fixes the samples
    assert main(["sample", str(path), "--run", str(run), "--n", "20", "--seed", "5", "--out", str(again)]) == 0
    with np.load(again, allow_pickle=False) as f:
        assert np.array_equal(f["samples"], samples)
    assert main(["sample", str(path), "--run", str(run), "--format", "jpg", "--out", str(tmp_path / "x.jpg")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'jpg'" in err and "png or npz" in err
    assert not (tmp_path / "x.jpg").exists()
