"""Regression at run time: values against the data's targets (MSE, L1 or Huber)."""

from __future__ import annotations

import torch

from graph_builder.tasks import REGRESSION
from runtime.tasks.base import Setup, check_values, probe_output
from runtime.tasks.single import SingleNetwork
from runtime.train.loop import Built, assemble_single
from runtime.train.objectives import Regression


def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
             world: int = 1) -> Built:
    """A regressor's Built: its loss over the main network's values."""
    return assemble_single(models["model"], Regression(s["loss"], t["huber_delta"]), s, t, device, amp, steps,
                           world)


class RegressionRuntime(SingleNetwork):
    spec = REGRESSION
    assemble = staticmethod(assemble)

    def settings(self, setup: Setup, models: dict, pretrained: list[str]) -> dict:
        loss = self.loss(setup.t)
        check_values(probe_output(models["model"], setup), setup.splits.target_shape, "regression target")
        return {"loss": loss, "classes": [], **self.common(setup, pretrained)}
