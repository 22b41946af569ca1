"""Reconstruction (an autoencoder): the target is the input itself; `denoise` corrupts the input only.

Each test sample's reconstruction error is its anomaly score, listed worst first at the end of a run.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph_builder.graph import Graph
from graph_builder.tasks.base import LOSS, TaskSpec
from graph_builder.tasks.regression import MAE, MSE, R2, VALUE_LOSSES


@dataclass(frozen=True)
class ReconstructionTask(TaskSpec):
    """`task: reconstruction`, and (for the VAE) a Gaussian latent layer in the model."""

    needs_latent: bool = False

    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Graph | None) -> bool:
        if training.get("task") != "reconstruction":
            return False
        return not self.needs_latent or (graph is not None and has_latent(graph))


LATENT = "GaussianLatent"


def has_latent(graph: Graph) -> bool:
    """Whether `graph`, or a network it uses as a block, holds a Gaussian latent layer."""
    seen: set[int] = set()

    def visit(g: Graph) -> bool:
        if id(g) in seen:
            return False
        seen.add(id(g))
        library = g.library
        for node in g.nodes.values():
            if node.type_id == LATENT:
                return True
            if node.type_id == "Block" and library is not None and node.params.get("network") in library:
                if visit(library[node.params["network"]]):
                    return True
        return False

    return visit(graph)


RECONSTRUCTION = ReconstructionTask(
    id="reconstruction",
    title="Reconstruction",
    priority=10,
    target="input",
    metrics=(LOSS, MSE, MAE, R2),
    headline="mae",
    views=("curves", "reconstructions", "anomaly"),
    setting_tags=frozenset({"loss", "optimizer", "autoencoder"}),
    losses=VALUE_LOSSES,
    summary_keys=("mse", "mae", "r2"),
    sample_role="model",
)
