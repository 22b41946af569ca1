"""A VAE at run time: reconstruction + β·KL, its latent plane and samples from its prior each epoch,
and samples from the prior of a finished run (`netcanvas sample`)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from graph_builder.protocols import ProjectLike
from graph_builder.tasks import VAE as SPEC
from runtime.tasks.base import Sampler, Setup, Views
from runtime.tasks.reconstruction import ReconstructionRuntime, ReconstructionViews
from runtime.train.loop import Built, Epoch, assemble_single
from runtime.train.objectives import VAE


def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
             world: int = 1) -> Built:
    """A VAE's Built: reconstruction error summed per sample plus β·KL of its latent layers (warmed up)."""
    objective = VAE(s["loss"], t["huber_delta"], noise=t["denoise"], beta=t["beta"], warmup=t["beta_warmup"])
    return assemble_single(models["model"], objective, s, t, device, amp, steps, world)


class VAEViews(ReconstructionViews):
    """The autoencoder's views with the latent codes of the originals, prior samples and the latent plane."""

    def epoch(self, end: Epoch) -> list[tuple[str, dict]]:
        from runtime.generate.generative import latent_plane, reconstructions, sample_grid

        vae, model, ref = self.built.objective, self.built.model, self.ref
        out = []
        data = reconstructions(ref, model, end.epoch, vae)
        if data is not None:
            out.append(("reconstructions", data))
        if ref.image is not None:
            fake = vae.sample(model, ref.grid_size(), ref.sample_shape, ref.device, ref.fixed_noise())
            out.append(("samples", sample_grid(ref, fake, end.epoch, "prior")))
        out.append(("latent", latent_plane(ref, vae, model, end.epoch)))
        return out


class VAERuntime(ReconstructionRuntime):
    spec = SPEC
    assemble = staticmethod(assemble)

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        return VAEViews(built, setup)

    def sampler(self, project: ProjectLike, config: Mapping, state: dict, device: torch.device) -> Sampler | None:
        from runtime.compile.compiler import build_module

        module = build_module(project.graph)
        module.load_state_dict(state)
        module.to(device)
        vae = VAE("mse").bind(module)
        if not vae.latents:
            return None
        shape = tuple(config["resolved"]["input_shape"])
        return lambda n, generator=None: vae.sample(module, n, shape, device, generator)
