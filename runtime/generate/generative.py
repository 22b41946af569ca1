"""What the dashboard shows of a generative run, computed in the training child at epoch end.

Reconstructions beside their originals, samples from a VAE's prior or a GAN's generator (fixed
noise, so epochs compare), the latent means of validation samples in 2-D, and the worst-first
anomaly scores of an autoencoder. Everything leaves as small plain lists (runtime/events.py
declares the events): images as uint8 grey or RGB, at most `MAX_IMAGES` per event and
`MAX_VALUES` values in all.

    ref = Reference.of(data, sample_shape, has_classes, device)
    reconstructions(ref, model, epoch), sample_grid(ref, fake, epoch, "prior"), latent_plane(ref, vae, model, epoch)

Which of them a run shows is its task's choice (runtime/tasks: each task's Views).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from runtime.errors import NetCanvasRuntimeError
from runtime.train.metrics import sample_diversity
from runtime.train.objectives import EVAL_BATCH, VAE, Reconstruction
from runtime.train.optim import forward


class GenerativeError(NetCanvasRuntimeError):
    """A generative view that cannot be made from a run (no weights yet, no latent layer, not images)."""


MAX_IMAGES = 64  # per event
MAX_VALUES = 65536  # uint8 values per event (64 images of 32 x 32)
RECONSTRUCTIONS = 16  # originals shown beside their reconstructions
LATENT_POINTS = 500
ANOMALIES = 100  # the worst samples listed
COLLAPSE_BELOW = 0.25  # sample diversity (relative to real data) under which a GAN is said to collapse
NOISE_SEED = 1234  # the fixed noise of the sample grid


def image_shape(sample_shape: tuple) -> tuple | None:
    """(C, H, W) of samples that can be drawn as images (C = 1 or 3), else None."""
    shape = tuple(sample_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) == 3 and shape[0] in (1, 3) and shape[1] > 1 and shape[2] > 1:
        return shape
    return None


def image_count(shape: tuple, wanted: int) -> int:
    """How many images of `shape` fit one event (at most `wanted`)."""
    c, h, w = display_shape(shape)
    return max(1, min(wanted, MAX_IMAGES, MAX_VALUES // (c * h * w)))


def display_shape(shape: tuple) -> tuple:
    """(C, H, W) the images travel at: at most 32 pixels a side."""
    c, h, w = shape
    scale = min(1.0, 32 / max(h, w))
    return c, max(1, round(h * scale)), max(1, round(w * scale))


def to_uint8(x: torch.Tensor, shape: tuple, value_range: tuple[float, float]) -> list:
    """Images (N, …) as nested uint8 lists (N, H, W) or (N, H, W, 3), `value_range` mapped to 0..255."""
    c, h, w = shape
    x = x.detach().float().reshape(-1, c, h, w)
    _, dh, dw = display_shape(shape)
    if (dh, dw) != (h, w):
        x = F.interpolate(x, size=(dh, dw), mode="area")
    lo, hi = value_range
    x = ((x - lo) / max(hi - lo, 1e-8)).clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    x = x[:, 0] if c == 1 else x.permute(0, 2, 3, 1)
    return x.tolist()


def principal_plane(z: torch.Tensor) -> tuple[torch.Tensor, str]:
    """2-D coordinates of latent codes: the codes themselves when 2-wide (or 1, padded), else the first
    two principal components."""
    z = z.detach().float().flatten(1)
    if z.shape[1] <= 2:
        return (F.pad(z, (0, 2 - z.shape[1])), "latent")
    centred = z - z.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T, "pca"


def latent_means(vae: VAE, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The first Gaussian latent layer's output (its mean, in eval mode) for inputs `x`."""
    seen = []
    handle = vae.latents[0].register_forward_hook(lambda module, args, out: seen.append(out.detach()))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
        model.train(was)
    return seen[0]


def decode(vae: VAE, model: nn.Module, z: torch.Tensor, sample_shape: tuple) -> torch.Tensor:
    """The model's output for latent codes `z` (the encoder's own output is replaced by them)."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = vae.decode(model, z, torch.zeros((z.shape[0], *sample_shape), device=z.device))
    finally:
        model.train(was)
    return out


def interpolate(vae: VAE, model: nn.Module, z_a: torch.Tensor, z_b: torch.Tensor, sample_shape: tuple,
                steps: int = 8) -> torch.Tensor:
    """`steps` outputs decoded along the straight line from latent code `z_a` to `z_b` (both included)."""
    t = torch.linspace(0, 1, steps, device=z_a.device).reshape(-1, *([1] * z_a.dim()))
    return decode(vae, model, (1 - t) * z_a[None] + t * z_b[None], sample_shape)


@dataclass
class Reference:
    """The fixed samples a run's views show every epoch (validation, else training) and how they are drawn."""

    x: torch.Tensor  # on the device
    y: torch.Tensor | None  # their labels, when the dataset has classes
    sample_shape: tuple
    image: tuple | None  # (C, H, W) when the samples are images
    value_range: tuple[float, float]
    device: torch.device
    amp: torch.dtype | None = None

    @classmethod
    def of(cls, data: dict, sample_shape: tuple, has_classes: bool, device: torch.device,
           amp: torch.dtype | None = None) -> Reference:
        split = data["val"] if len(data["val"]) else data["train"]
        n = min(len(split), LATENT_POINTS)
        x = split.x[:n].to(device).float()
        y = split.y[:n].to(device).long() if has_classes else None
        lo, hi = float(x.min()), float(x.max())
        return cls(x, y, tuple(sample_shape), image_shape(sample_shape), (lo, hi), device, amp)

    def images(self, x: torch.Tensor) -> list:
        return to_uint8(x, self.image, self.value_range)

    def fixed_noise(self) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(NOISE_SEED)

    def grid_size(self) -> int:
        return image_count(self.image, MAX_IMAGES)


def reconstructions(ref: Reference, model: nn.Module, epoch: int, vae: VAE | None = None) -> dict | None:
    """Originals and their reconstructions (with a VAE, the latent codes of them, for interpolation)."""
    if ref.image is None:
        return None
    n = min(RECONSTRUCTIONS, image_count(ref.image, RECONSTRUCTIONS * 2) // 2, len(ref.x))
    x = ref.x[:n]
    was = model.training
    model.eval()
    with torch.no_grad():
        out = forward(model, x, ref.amp).float()
    model.train(was)
    data = {"epoch": epoch, "shape": list(display_shape(ref.image)), "indices": list(range(n)),
            "labels": ref.y[:n].tolist() if ref.y is not None else None,
            "originals": ref.images(x), "reconstructions": ref.images(out),
            "value_range": [round(v, 6) for v in ref.value_range]}
    if vae is not None:
        data["latents"] = [[round(v, 5) for v in row] for row in latent_means(vae, model, x).flatten(1).tolist()]
    return data


def sample_grid(ref: Reference, fake: torch.Tensor, epoch: int, kind: str, diversity: float | None = None,
                collapse: bool = False) -> dict | None:
    """A grid of generated samples and their diversity (metrics.sample_diversity, given or computed here).

    `kind` says where they come from ("prior", "generator"); `collapse` marks a diversity under
    COLLAPSE_BELOW as a collapse (a GAN's)."""
    if ref.image is None:
        return None
    n = fake.shape[0]
    fake = fake.float().reshape(n, *ref.sample_shape)
    spread = sample_diversity(fake, ref.x[:n]) if diversity is None else float(diversity)
    return {"epoch": epoch, "kind": kind, "shape": list(display_shape(ref.image)), "images": ref.images(fake),
            "diversity": round(spread, 4), "threshold": COLLAPSE_BELOW, "collapsed": collapse and spread < COLLAPSE_BELOW}


def latent_plane(ref: Reference, vae: VAE, model: nn.Module, epoch: int) -> dict:
    """The reference samples' latent means in 2-D, with their labels."""
    z = latent_means(vae, model, ref.x)
    points, method = principal_plane(z)
    return {"epoch": epoch, "points": [[round(a, 4), round(b, 4)] for a, b in points.tolist()],
            "labels": ref.y.tolist() if ref.y is not None else None, "method": method,
            "dims": int(z.flatten(1).shape[1])}


def anomaly_ranking(objective: Reconstruction, model: nn.Module, split, sample_shape: tuple, has_classes: bool,
                    split_name: str, limit: int = ANOMALIES) -> dict | None:
    """The `limit` samples of `split` (a DeviceSplit) with the largest reconstruction error, worst first."""
    if len(split) == 0:
        return None
    scores = torch.cat([objective.anomaly_scores(model, xb).float().cpu() for xb, _ in split.batches(EVAL_BATCH)])
    top = torch.topk(torch.nan_to_num(scores, nan=math.inf), min(limit, len(scores)))
    idx = top.indices
    shape = image_shape(sample_shape)
    thumbs = None
    if shape is not None:
        x = split.x
        thumbs = to_uint8(x[idx.to(x.device)], shape, (float(x.min()), float(x.max())))
    finite = scores[torch.isfinite(scores)]
    return {"split": split_name, "count": len(scores), "indices": idx.tolist(),
            "scores": [float(s) if math.isfinite(s) else None for s in scores[idx].tolist()],
            "labels": split.y[idx.to(split.y.device)].long().tolist() if has_classes else None,
            "shape": list(display_shape(shape)) if shape is not None else None, "thumbnails": thumbs,
            "mean": float(finite.mean()) if len(finite) else None}


_DECODERS: dict = {}  # (run folder, weights file stamp) -> (VAE, module, sample shape)
_DECODERS_LOCK = threading.Lock()


def run_decoder(run_dir: str | os.PathLike):
    """The VAE objective, module and sample shape of a run's latest weights (built once per weights file)."""
    from safetensors.torch import load_file

    from graph_builder.errors import GraphBuilderError
    from graph_builder.project import project_from_dict
    from runtime.compile.compiler import build_module

    from graph_builder.run_folder import RunFolder, RunFolderError

    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    weights = folder.weights(("last",)) or folder.weights_file("last")
    try:
        stamp = weights.stat().st_mtime_ns
        config = folder.read_config()
    except (OSError, RunFolderError) as exc:
        raise GenerativeError(f"the run {run_dir.name} has no readable weights yet ({exc}); let it finish an "
                              "epoch") from None
    key = (str(run_dir), stamp)
    with _DECODERS_LOCK:
        if key in _DECODERS:
            return _DECODERS[key]
    try:
        project = project_from_dict(config["project"])
        module = build_module(project.graph)
        from graph_builder import limits

        limits.check_file(weights, limits.MODEL, "a run's weights", GenerativeError, "choose another run")
        module.load_state_dict(load_file(str(weights)))
        module.eval()  # never trains here: batch norm keeps the run's statistics
    except (KeyError, RuntimeError, ValueError, NetCanvasRuntimeError, GraphBuilderError) as exc:
        raise GenerativeError(f"the run {run_dir.name}'s weights cannot be loaded into its network ({exc})") from None
    vae = VAE("mse").bind(module)
    if not vae.latents:
        raise GenerativeError("interpolation needs a Gaussian latent layer (a VAE); this network has none")
    found = (vae, module, tuple(config["resolved"]["input_shape"]))
    with _DECODERS_LOCK:
        _DECODERS.clear()  # only the latest weights are wanted
        _DECODERS[key] = found
    return found


def interpolation_strip(run_dir: str | os.PathLike, z_a: list, z_b: list, value_range: tuple[float, float],
                        steps: int = 8) -> list:
    """uint8 images decoded along the line between two latent codes, from the run's latest weights."""
    vae, module, sample_shape = run_decoder(run_dir)
    shape = image_shape(sample_shape)
    if shape is None:
        raise GenerativeError(f"samples of shape {sample_shape} are not images; the strip needs (1 or 3, H, W)")
    with _DECODERS_LOCK:  # one module: its latent's prior is set for the call
        z_shape = vae.latent_shape(module, torch.zeros((1, *sample_shape)))  # the codes travel flattened
        a = torch.tensor(z_a, dtype=torch.float32).reshape(z_shape)
        b = torch.tensor(z_b, dtype=torch.float32).reshape(z_shape)
        out = interpolate(vae, module, a, b, sample_shape, steps)
    return to_uint8(out, shape, tuple(value_range))
