"""Using a trained generative run: samples from a VAE's prior or a GAN's generator, a PNG grid of them or an
.npz of their raw values, and a VAE's interpolation strip between two latent points."""

from runtime.generate.generative import GenerativeError, interpolation_strip
from runtime.generate.sampling import SAMPLE_FORMATS, SamplingError, generate, grid_image, load_sampler, samples_file

__all__ = ["SAMPLE_FORMATS", "GenerativeError", "SamplingError", "generate", "grid_image", "interpolation_strip",
           "load_sampler", "samples_file"]
