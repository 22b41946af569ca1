"""A GAN: two networks of the project, a generator (its Input is the noise) and a discriminator (one logit).

Named by the training settings `generator` and `discriminator`; either one set makes the project a
GAN, so the fit check can say which one is missing. Its losses do not rank epochs: it samples and
exports from its last weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph_builder.data_description import DataDescription
from graph_builder.graph import Graph
from graph_builder.protocols import ProjectLike
from graph_builder.shapes import ShapeReport, infer_shapes
from graph_builder.tasks.base import LOSS, Metric, Role, TaskSpec
from graph_builder.validation import ERROR, Issue

ROLES = (Role("generator", "generator", "Generator"), Role("discriminator", "discriminator", "Discriminator"))


def _shape(shape) -> str:
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


def _ends(graph: Graph) -> tuple[list[tuple], list[tuple | None]]:
    """(shapes of the Inputs, shapes of the Outputs) of `graph`, each without the batch (None: not known)."""
    shapes = infer_shapes(graph)
    inputs = [tuple(n.params.get("shape") or ()) for n in graph.inputs()]
    outputs = [tuple(shapes.out[n.id][1:]) if shapes.out.get(n.id) is not None else None for n in graph.outputs()]
    return inputs, outputs


@dataclass(frozen=True)
class GanTask(TaskSpec):
    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Graph | None) -> bool:
        return any(training.get(r.setting) for r in self.roles if r.setting is not None)

    def fit_problems(self, graph: Graph, shapes: ShapeReport, description: DataDescription,
                     training: Mapping[str, Any], project: ProjectLike | None = None) -> list[Issue]:
        problem = self.pair_problem(project, description.input_shape, description.label) if project else None
        return [Issue(ERROR, "fit-gan", problem)] if problem else []

    def noise_shape(self, project: ProjectLike) -> tuple:
        """The generator's Input shape without the batch: the noise it is fed."""
        return _ends(project.networks[project.training["generator"]])[0][0]

    def pair_problem(self, project: ProjectLike | None, sample_shape: tuple, data_label: str = "the dataset") -> str | None:
        """Why the two networks cannot train as a GAN on samples of `sample_shape`, with the fix; None when they can."""
        t = project.training if project is not None else {}
        names = list(project.networks) if project is not None else []
        if project is None:
            return "a GAN trains two networks of a project; give a project"
        for role in ("generator", "discriminator"):
            name = t.get(role)
            if not name:
                return (f"a GAN needs both networks: set the training setting {role} to one of the project's "
                        f"networks ({', '.join(names)})")
            if name not in names:
                return (f"the training setting {role} names the network {name!r} but the project has none of that "
                        f"name; its networks are {', '.join(names)}")
        g_name, d_name = t["generator"], t["discriminator"]
        if g_name == d_name:
            return "the generator and discriminator must be two different networks; add a second network"
        (g_in, g_out), (d_in, d_out) = _ends(project.networks[g_name]), _ends(project.networks[d_name])
        if len(g_in) != 1 or len(g_out) < 1:
            return (f"the generator {g_name!r} must have one Input (the noise) and an Output (a sample); it has "
                    f"{len(g_in)} Inputs and {len(g_out)} Outputs")
        if len(d_in) != 1:
            return f"the discriminator {d_name!r} must have one Input (a sample); it has {len(d_in)}"
        made, taken = g_out[0], d_in[0]
        if made is None or (d_out and d_out[0] is None):
            return None  # a shape error inside a network: validation names it
        if made != taken:
            return (f"the generator {g_name!r} makes samples of shape {_shape(made)} but the discriminator "
                    f"{d_name!r} takes {_shape(taken)}; make the generator's last layer produce "
                    f"{_shape(taken)} or set the discriminator's Input shape to {list(made)}")
        if taken != tuple(sample_shape):
            return (f"the discriminator {d_name!r} takes samples of shape {_shape(taken)} but {data_label} has "
                    f"{_shape(sample_shape)}; set its Input shape to {list(sample_shape)} and make the generator "
                    "produce that shape")
        verdict = (d_out[0] if d_out else None) or ()
        if math.prod(verdict) != 1:
            return (f"the discriminator {d_name!r} must give one logit per sample but gives "
                    f"{_shape(verdict)}; end it with Flatten and Linear(out_features=1)")
        return None


GAN = GanTask(
    id="gan",
    title="GAN",
    priority=30,
    target="none",
    metrics=(
        LOSS,
        Metric("d_loss", "D loss", "Discriminator loss", lower_is_better=True, monitorable=False),
        Metric("g_loss", "G loss", "Generator loss", lower_is_better=True, monitorable=False),
        Metric("d_real", "D(real)", "D(real)", lower_is_better=False, monitorable=False, fmt=".2f"),
        Metric("d_fake", "D(fake)", "D(fake)", lower_is_better=True, monitorable=False, fmt=".2f"),
        Metric("diversity", "sample diversity", "Sample diversity", lower_is_better=False, monitorable=False,
               fmt=".2f"),
    ),
    headline="d_real",
    views=("gan_curves", "samples"),
    setting_tags=frozenset({"gan", "gan_roles"}),
    roles=ROLES,
    epochs_ranked=False,
    summary_keys=("d_real", "d_fake", "diversity"),
    sample_role="generator",
)
