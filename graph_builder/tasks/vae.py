"""A variational autoencoder: reconstruction with a Gaussian latent layer; loss = reconstruction + β·KL."""

from graph_builder.tasks.base import LOSS, Metric
from graph_builder.tasks.reconstruction import ReconstructionTask
from graph_builder.tasks.regression import MAE, MSE, R2, VALUE_LOSSES

VAE = ReconstructionTask(
    id="vae",
    title="Variational autoencoder",
    priority=20,
    target="input",
    metrics=(LOSS, MSE, MAE, R2,
             Metric("reconstruction", "reconstruction error", "Reconstruction error", lower_is_better=True,
                    monitorable=False),
             Metric("kl", "KL", "KL divergence", lower_is_better=True, monitorable=False)),
    headline="mae",
    views=("curves", "reconstructions", "prior_samples", "latent", "interpolation", "anomaly"),
    setting_tags=frozenset({"loss", "optimizer", "autoencoder", "vae"}),
    losses=VALUE_LOSSES,
    summary_keys=("mse", "mae", "r2"),
    needs_latent=True,
    sample_role="model",
)
