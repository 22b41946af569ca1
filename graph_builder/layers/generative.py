"""Layers of generative models: the Gaussian latent of a variational autoencoder."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, PortSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import format_shape, prod


def _latent_rule(p, ins):
    mean, log_var = ins
    if len(mean) < 2:
        raise ShapeError(f"expects a batch of latent vectors (N, D) but receives {format_shape(mean)}")
    if tuple(mean) != tuple(log_var):
        raise ShapeError(f"mean {format_shape(mean)} and log-variance {format_shape(log_var)} must have the same "
                         "shape; give both Linear layers before it the same out_features")
    return tuple(mean)


register(
    LayerSpec(
        "GaussianLatent", "Gaussian latent", "Generative",
        "The sampling layer of a VAE: z = mean + exp(log_var / 2)·ε while training, z = mean in eval. "
        "Adds its KL divergence to N(0, I), times β (training settings), to the loss.",
        shape=_latent_rule,
        inputs=(PortSpec("mean", help="Mean of q(z|x), (N, D)."),
                PortSpec("log_var", help="Log-variance of q(z|x), same shape as the mean.")),
        macs=lambda p, ins, out: 4 * prod(out[1:]),
        torch_name="GaussianLatent",
    ),
)
