"""A GAN: two networks of the project, a generator (its Input is the noise) and a discriminator (one logit).

Named by the training settings `generator` and `discriminator`; either one set makes the project a
GAN, so the fit check can say which one is missing. Its losses do not rank epochs: it samples and
exports from its last weights.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph_builder.tasks.base import LOSS, Metric, Role, TaskSpec

ROLES = (Role("generator", "generator", "Generator"), Role("discriminator", "discriminator", "Discriminator"))


@dataclass(frozen=True)
class GanTask(TaskSpec):
    def claims(self, training: Mapping[str, Any], data_kind: str | None, graph: Any | None) -> bool:
        return any(training.get(r.setting) for r in self.roles)


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
    distributed=False,
    summary_keys=("d_real", "d_fake", "diversity"),
)
