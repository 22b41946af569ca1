"""Batch augmentation on the device: flip, rotation, crop with padding, noise."""

from __future__ import annotations

import torch

from runtime.data import Augmentation


def batch(n=64):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 2, 6, 6, generator=g)


def test_flip_mirrors_about_half_of_the_images_and_keeps_the_rest():
    x = batch()
    out = Augmentation(flip=True)(x, torch.Generator().manual_seed(1))
    flipped = [torch.allclose(o, torch.flip(i, dims=[-1]), atol=1e-5) for i, o in zip(x, out)]
    kept = [torch.allclose(o, i, atol=1e-5) for i, o in zip(x, out)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(flipped) < 48


def test_crop_with_padding_shifts_each_image_by_whole_pixels_with_zeros_coming_in():
    x = batch() + 1.0  # strictly positive, so zeros show where padding came in
    out = Augmentation(crop_padding=2)(x, torch.Generator().manual_seed(2))
    shifts = set()
    for i, o in zip(x, out):
        match = None
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                padded = torch.nn.functional.pad(i, (2, 2, 2, 2))
                crop = padded[:, 2 + dy:8 + dy, 2 + dx:8 + dx]
                if torch.allclose(o, crop, atol=1e-5):
                    match = (dy, dx)
        assert match is not None
        shifts.add(match)
    assert len(shifts) > 10  # offsets are random per sample


def test_rotation_turns_images_by_a_random_angle_up_to_the_limit():
    x = batch(1).repeat(400, 1, 1, 1)
    out = Augmentation(rotation=90.0)(x, torch.Generator().manual_seed(4))
    quarter = [torch.rot90(x[0], k, dims=(-2, -1)) for k in (1, -1)]
    closest = [min(float((o - q).abs().max()) for q in quarter) for o in out]
    assert min(closest) < 0.15  # draws near ±90° match a quarter turn of the grid
    assert len({round(float(o.sum()), 3) for o in out}) > 100  # every sample gets its own angle
    small = Augmentation(rotation=5.0)(x, torch.Generator().manual_seed(4))
    assert float((small - x).abs().mean()) < float((out - x).abs().mean())


def test_noise_has_the_requested_standard_deviation_and_is_seeded():
    x = torch.zeros(32, 1, 16, 16)
    aug = Augmentation(noise=0.3)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert abs(float(a.std()) - 0.3) < 0.02
    seq = aug(torch.zeros(8, 20, 1), torch.Generator().manual_seed(6), image=False)
    assert seq.shape == (8, 20, 1) and float(seq.std()) > 0.2  # noise also applies to sequences


def test_nothing_enabled_returns_the_batch_itself_and_settings_come_from_the_dataset_section():
    x = batch(4)
    assert Augmentation()(x) is x
    aug = Augmentation.from_config({"augment_flip": True, "augment_rotation": 10, "augment_crop_padding": 1,
                                    "augment_noise": 0.0})
    assert aug == Augmentation(True, 10.0, 1, 0.0) and aug.enabled
