"""Reconstruction at run time: an autoencoder (denoising when `denoise` > 0), its reconstructions each epoch
and its test samples ranked by reconstruction error (anomaly scores) at the end."""

from __future__ import annotations

import torch

from graph_builder.tasks import RECONSTRUCTION
from runtime.tasks.base import Setup, Views, check_values, probe_output
from runtime.tasks.single import SingleNetwork
from runtime.train.loop import Built, Epoch, assemble_single
from runtime.train.objectives import Reconstruction


def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
             world: int = 1) -> Built:
    """An autoencoder's Built: the input is the target (noisy in, clean out with `denoise`)."""
    objective = Reconstruction(s["loss"], t["huber_delta"], noise=t["denoise"])
    return assemble_single(models["model"], objective, s, t, device, amp, steps, world)


class ReconstructionViews(Views):
    """Originals beside their reconstructions after each epoch; the worst-reconstructed samples at the end."""

    def __init__(self, built: Built, setup: Setup) -> None:
        from runtime.generate.generative import Reference

        self.built, self.setup = built, setup
        self.ref = Reference.of(setup.data, setup.splits.input_shape, bool(setup.splits.classes), setup.device,
                                setup.amp)

    def epoch(self, end: Epoch) -> list[tuple[str, dict]]:
        from runtime.generate.generative import reconstructions

        data = reconstructions(self.ref, self.built.model, end.epoch)
        return [("reconstructions", data)] if data is not None else []

    def final(self, epoch: int, test_meter) -> list[tuple[str, dict]]:
        from runtime.generate.generative import anomaly_ranking

        data, splits = self.setup.data, self.setup.splits
        split = "test" if len(data["test"]) else "val"
        ranking = anomaly_ranking(self.built.objective, self.built.model, data[split], splits.input_shape,
                                  bool(splits.classes), "validation" if split == "val" else split)
        return [("anomaly", ranking)] if ranking is not None else []


class ReconstructionRuntime(SingleNetwork):
    spec = RECONSTRUCTION
    assemble = staticmethod(assemble)

    def settings(self, setup: Setup, models: dict, pretrained: list[str]) -> dict:
        loss = self.loss(setup.t)
        check_values(probe_output(models["model"], setup), setup.splits.input_shape,
                     "reconstruction target (the input)")
        return {"loss": loss, "classes": [], **self.common(setup, pretrained)}

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        return ReconstructionViews(built, setup)

    def raw_output(self, prep) -> bool:
        return True  # it learnt the normalised input: an export gives its output back in raw values
