"""What the training child sends of a generative run: small images, diversity, the latent plane, the anomaly ranking."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from runtime.generate.generative import COLLAPSE_BELOW, MAX_IMAGES, image_count, image_shape, principal_plane, to_uint8
from runtime.train.metrics import sample_diversity as diversity

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"


def test_a_constant_batch_has_no_diversity_and_real_data_has_one():
    real = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert diversity(real[:1].expand(64, -1, -1, -1), real) == 0.0
    assert abs(diversity(real[torch.randperm(64)], real) - 1.0) < 1e-6
    assert diversity(0.1 * real, real) < COLLAPSE_BELOW < diversity(real.flip(0), real)


def test_images_travel_as_uint8_within_the_payload_limit():
    assert image_shape((1, 8, 8)) == (1, 8, 8) and image_shape((8, 8)) == (1, 8, 8)
    assert image_shape((64,)) is None and image_shape((5, 8, 8)) is None
    assert image_count((1, 8, 8), 200) == MAX_IMAGES
    assert image_count((3, 224, 224), 64) * 3 * 32 * 32 <= 65536  # big images are shrunk and fewer
    x = torch.linspace(-1, 1, 2 * 64).reshape(2, 1, 8, 8)
    out = to_uint8(x, (1, 8, 8), (-1.0, 1.0))
    assert len(out) == 2 and len(out[0]) == 8 and out[0][0][0] == 0 and out[1][7][7] == 255
    big = to_uint8(torch.rand(1, 3, 96, 64), (3, 96, 64), (0.0, 1.0))
    assert (len(big[0]), len(big[0][0]), len(big[0][0][0])) == (32, 21, 3)


def test_the_latent_plane_is_its_first_two_principal_components():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(300, 6, generator=g) * torch.tensor([5.0, 3.0, 0.1, 0.1, 0.1, 0.1])
    points, method = principal_plane(z)
    assert method == "pca" and points.shape == (300, 2)
    assert points[:, 0].var() > 20 and points[:, 1].var() > 6  # the two wide directions kept
    flat, method = principal_plane(z[:, :1])
    assert method == "latent" and flat.shape == (300, 2) and bool((flat[:, 1] == 0).all())


def test_a_vae_run_sends_latent_points_per_sample_and_an_anomaly_ranking_worst_first():
    from graph_builder.project import project_from_dict
    from runtime.train.trainer import train

    data = json.loads((TEMPLATES / "mlp_vae_digits.json").read_text(encoding="utf-8"))
    data["training"]["epochs"] = 1
    events = {e["type"]: e for e in train(project_from_dict(data), live=False)}
    assert events["finished"]["type"] == "finished"
    latent = events["latent"]
    assert len(latent["points"]) == len(latent["labels"]) == 360 and latent["dims"] == 8
    assert set(latent["labels"]) == set(range(10))
    samples = events["samples"]
    assert samples["kind"] == "prior" and len(samples["images"]) == 64 and not samples["collapsed"]
    rec = events["reconstructions"]
    assert len(rec["originals"]) == len(rec["reconstructions"]) == len(rec["latents"]) == 16
    ranking = events["anomaly"]
    assert ranking["split"] == "test" and ranking["count"] == 359 and len(ranking["indices"]) == 100
    assert ranking["scores"] == sorted(ranking["scores"], reverse=True)
    assert ranking["scores"][0] > ranking["mean"] and len(ranking["thumbnails"]) == 100
