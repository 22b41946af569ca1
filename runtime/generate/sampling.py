"""Samples from a trained generative run (a VAE's prior or a GAN's generator), and a PNG grid of them.

    images = generate(project, "runs/3", n=64)      # (64, C, H, W) in the data's own units
    grid_image(images).save("grid.png")
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from graph_builder.run_folder import RunFolder, RunFolderError
from graph_builder.tasks import TaskSpec, run_task
from runtime.errors import NetCanvasRuntimeError
from runtime.train.optim import first_output


class SamplingError(NetCanvasRuntimeError):
    """A run that cannot be sampled (not generative, no weights, another project's run)."""


def _run_config(run_dir: Path) -> dict:
    try:
        return RunFolder(run_dir).read_config()
    except RunFolderError as exc:
        raise SamplingError(f"{str(run_dir)!r} is not a readable run folder ({exc})") from None


def _weights(run_dir: Path, spec: TaskSpec) -> Path:
    # A task whose losses do not rank its epochs (a GAN's) samples its latest weights, its best guess.
    weights = RunFolder(run_dir).weights(("best", "last") if spec.epochs_ranked else ("last", "best"))
    if weights is None:
        raise SamplingError(f"the run {str(run_dir)!r} has no weights yet; let it finish an epoch")
    return weights


def load_sampler(project, run_dir: str | os.PathLike, device: torch.device | None = None):
    """A function n, generator -> samples of the run's generative task (its runtime's sampler), and the run's config."""
    from safetensors.torch import load_file

    from graph_builder.runs import RunsError, check_run_fits
    from runtime.tasks import task_runtime

    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    try:
        check_run_fits(run_dir, project)
    except RunsError as exc:
        raise SamplingError(str(exc)) from None
    device = device or torch.device("cpu")
    from graph_builder import limits

    spec = run_task(config)
    weights = _weights(run_dir, spec)
    limits.check_file(weights, limits.MODEL, "a run's weights", SamplingError, "choose another run")
    sampler = task_runtime(spec).sampler(project, config, load_file(str(weights)), device)
    if sampler is None:
        raise SamplingError(f"this run is not generative (it trained {spec.title.lower()}): sample a VAE (a network "
                            "with a Gaussian latent layer) or a GAN (generator and discriminator set in the training "
                            "settings)")
    return sampler, config


def denormalize(x: torch.Tensor, config: dict) -> torch.Tensor:
    """Undo the run's input normalisation, so samples are in the data's own units."""
    norm = config.get("resolved", {}).get("normalization")
    if not norm:
        return x
    mean = torch.tensor(norm["mean"], dtype=x.dtype, device=x.device)
    std = torch.tensor(norm["std"], dtype=x.dtype, device=x.device)
    shape = (1, -1, *([1] * (x.dim() - 2))) if mean.numel() == x.shape[1] and x.dim() > 2 else (1, *x.shape[1:])
    return x * std.reshape(shape) + mean.reshape(shape)


def generate(project, run_dir: str | os.PathLike, n: int = 64, seed: int = 0, normalized: bool = False) -> torch.Tensor:
    """`n` samples of the run; in the data's units unless `normalized` (the model's own input units)."""
    sample, config = load_sampler(project, run_dir)
    with torch.no_grad():
        x = first_output(sample(n, torch.Generator().manual_seed(seed))).float().cpu()
    return x if normalized else denormalize(x, config)


def grid_image(images: torch.Tensor, scale: int = 4, pad: int = 1):
    """A Pillow image tiling (N, C, H, W) samples (C = 1 or 3) in a near-square grid, each scaled to 0..255."""
    from PIL import Image

    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise SamplingError(f"samples of shape {tuple(x.shape[1:])} are not images; a grid needs (1 or 3, H, W)")
    n, c, h, w = x.shape
    lo, hi = x.amin(dim=(1, 2, 3), keepdim=True), x.amax(dim=(1, 2, 3), keepdim=True)
    x = (x - lo) / (hi - lo).clamp(min=1e-8)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell_h, cell_w = h * scale + pad, w * scale + pad
    canvas = np.zeros((rows * cell_h + pad, cols * cell_w + pad, c), dtype=np.uint8)
    big = x.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
    for i in range(n):
        r, k = divmod(i, cols)
        tile = (big[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        canvas[pad + r * cell_h: pad + r * cell_h + h * scale, pad + k * cell_w: pad + k * cell_w + w * scale] = tile
    return Image.fromarray(canvas[:, :, 0] if c == 1 else canvas, "L" if c == 1 else "RGB")
