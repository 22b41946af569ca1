"""Samples from a trained generative run (a VAE's prior or a GAN's generator): a PNG grid of them, or the raw
values in an .npz.

    images = generate(project, "runs/3", n=64)      # (64, C, H, W) in the data's own units
    grid_image(images).save("grid.png")
    Path("samples.npz").write_bytes(samples_file(project, "runs/3", "npz", n=64))
"""

from __future__ import annotations

import io
import json
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
    return _generated(project, run_dir, n, seed, normalized)[0]


def _generated(project, run_dir, n: int, seed: int, normalized: bool = False) -> tuple[torch.Tensor, dict]:
    sample, config = load_sampler(project, run_dir)
    with torch.no_grad():
        x = first_output(sample(n, torch.Generator().manual_seed(seed))).float().cpu()
    return (x if normalized else denormalize(x, config)), config


SAMPLE_FORMATS = ("png", "npz")


def pixel_range(config: dict) -> tuple[float, float] | None:
    """(black, full intensity) of a run's images in the data's own units; None when it trained on no images."""
    from runtime.data import pixel_max

    resolved = config.get("resolved", {})
    return (0.0, pixel_max(resolved.get("dataset"))) if resolved.get("image") else None


def samples_file(project, run_dir: str | os.PathLike, fmt: str, n: int = 64, seed: int = 0) -> bytes:
    """The bytes of a file of `n` samples of the run: a PNG grid ("png"), or ("npz") the raw samples in the data's
    own units with their metadata (the `netcanvas sample` command and any export of samples call this)."""
    if fmt not in SAMPLE_FORMATS:
        raise SamplingError(f"samples are written as {' or '.join(SAMPLE_FORMATS)}, not {fmt!r}; choose one of those")
    x, config = _generated(project, run_dir, n, seed)
    pixels = pixel_range(config)
    buffer = io.BytesIO()
    if fmt == "png":
        grid_image(x, value_range=pixels).save(buffer, format="PNG")
        return buffer.getvalue()
    resolved = config.get("resolved", {})
    metadata = {"format": "netcanvas-samples", "version": 1, "run": Path(run_dir).name, "task": resolved.get("task"),
                "dataset": resolved.get("dataset"), "seed": seed, "count": n, "shape": list(x.shape[1:]),
                "units": "the data's own (raw) units", "pixel_range": list(pixels) if pixels else None,
                "normalization": resolved.get("normalization"),
                "to_network_units": "(samples - mean) / std, mean and std shaped as normalization.shape"}
    np.savez(buffer, samples=x.numpy().astype(np.float32), metadata=np.array(json.dumps(metadata)))
    return buffer.getvalue()


def grid_image(images: torch.Tensor, scale: int = 4, pad: int = 1, value_range: tuple[float, float] | None = None):
    """A Pillow image tiling (N, C, H, W) samples (C = 1 or 3) in a near-square grid: `value_range` (black, white)
    mapped to 0..255, or without one each sample stretched to it."""
    from PIL import Image

    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise SamplingError(f"samples of shape {tuple(x.shape[1:])} are not images; a grid needs (1 or 3, H, W)")
    n, c, h, w = x.shape
    if value_range is not None:
        lo, hi = torch.tensor(value_range[0]), torch.tensor(value_range[1])
    else:
        lo, hi = x.amin(dim=(1, 2, 3), keepdim=True), x.amax(dim=(1, 2, 3), keepdim=True)
    x = ((x - lo) / (hi - lo).clamp(min=1e-8)).clamp(0, 1)
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
