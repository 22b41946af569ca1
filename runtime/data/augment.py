"""Batch augmentation on the training device: random flip, rotation, crop-with-padding and noise.

Flip, rotation and the crop shift are folded into one affine matrix per sample, so a whole
batch is transformed by a single `grid_sample` call (no per-sample Python work). A crop with
padding p is a shift by a whole number of pixels in [-p, p] with zeros coming in at the edge,
which is what padding by p and cropping back to size does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augmentation:
    """What to apply to each training batch; `enabled` is False when nothing is."""

    flip: bool = False
    rotation: float = 0.0  # degrees, uniform in [-rotation, rotation]
    crop_padding: int = 0  # pixels
    noise: float = 0.0  # std of added Gaussian noise (in normalised units)

    @classmethod
    def from_config(cls, config: dict) -> Augmentation:
        return cls(bool(config.get("augment_flip", False)), float(config.get("augment_rotation", 0.0) or 0.0),
                   int(config.get("augment_crop_padding", 0) or 0), float(config.get("augment_noise", 0.0) or 0.0))

    @property
    def geometric(self) -> bool:
        return self.flip or self.rotation > 0 or self.crop_padding > 0

    @property
    def enabled(self) -> bool:
        return self.geometric or self.noise > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None, image: bool = True) -> torch.Tensor:
        """An augmented copy of batch `x` (image batches are (N, C, H, W))."""
        if not self.enabled or not x.is_floating_point():
            return x
        n = x.shape[0]
        dev = x.device

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return torch.rand(n, generator=generator, device=dev) * (hi - lo) + lo

        if self.geometric and image and x.dim() == 4:
            h, w = x.shape[-2:]
            theta = torch.zeros(n, 2, 3, device=dev, dtype=x.dtype)
            angle = uniform(-1.0, 1.0) * math.radians(self.rotation)
            cos, sin = torch.cos(angle), torch.sin(angle)
            sx = torch.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0) if self.flip else torch.ones(n, device=dev)
            theta[:, 0, 0] = cos * sx
            theta[:, 0, 1] = -sin
            theta[:, 1, 0] = sin * sx
            theta[:, 1, 1] = cos
            if self.crop_padding:
                p = self.crop_padding
                dx = torch.randint(-p, p + 1, (n,), generator=generator, device=dev).to(x.dtype)
                dy = torch.randint(-p, p + 1, (n,), generator=generator, device=dev).to(x.dtype)
                theta[:, 0, 2] = 2.0 * dx / w  # normalised coordinates span 2 over the width
                theta[:, 1, 2] = 2.0 * dy / h
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.noise > 0:
            x = x + torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype) * self.noise
        return x
