"""Classification at run time: class scores against labels, the confusion matrix each epoch, class probabilities."""

from __future__ import annotations

import math

import numpy as np
import torch

from graph_builder.tasks import CLASSIFICATION
from runtime.tasks.base import Setup, Views, probe_output, shape_words
from runtime.tasks.single import SingleNetwork
from runtime.train.errors import ModelDataMismatchError
from runtime.train.loop import Built, Epoch, assemble_single
from runtime.train.objectives import Classification


def assemble(models: dict, s: dict, t: dict, device: torch.device, amp: torch.dtype | None, steps: int,
             world: int = 1) -> Built:
    """A classifier's Built: cross-entropy, NLL or BCE on logits over the main network."""
    objective = Classification(s["loss"], len(s["classes"]), s["binary_logit"])
    return assemble_single(models["model"], objective, s, t, device, amp, steps, world)


class ConfusionViews(Views):
    """The validation confusion matrix after each epoch, the test one at the end."""

    def __init__(self, classes: list[str]) -> None:
        self.classes = list(classes)

    def _matrix(self, epoch: int, split: str, meter) -> list[tuple[str, dict]]:
        if meter is None:
            return []
        return [("confusion", {"epoch": epoch, "split": split, "matrix": meter.matrix.tolist(),
                               "classes": self.classes})]

    def epoch(self, end: Epoch) -> list[tuple[str, dict]]:
        return self._matrix(end.epoch, "validation", end.val_meter)

    def final(self, epoch: int, test_meter) -> list[tuple[str, dict]]:
        return self._matrix(epoch, "test", test_meter)


class ClassificationRuntime(SingleNetwork):
    spec = CLASSIFICATION
    assemble = staticmethod(assemble)

    def settings(self, setup: Setup, models: dict, pretrained: list[str]) -> dict:
        loss = self.loss(setup.t)
        classes = list(self.spec.classes(setup.description))
        k = len(classes)
        shape = probe_output(models["model"], setup)
        binary_logit = loss == "bce_with_logits" and k == 2 and math.prod(shape) == 1
        if not binary_logit and shape != (k,):
            fix = (f"end with Linear(out_features={k})" if len(shape) == 1
                   else f"Flatten and end with Linear(out_features={k})")
            raise ModelDataMismatchError(
                f"the model's output has shape {shape_words(shape)} but {setup.description.label} has {k} classes, "
                f"so it must be (N, {k}) (one score per class); {fix}")
        return {"loss": loss, "classes": classes, "binary_logit": binary_logit, **self.common(setup, pretrained, k)}

    def views(self, built: Built, setup: Setup, s: dict) -> Views:
        return ConfusionViews(s["classes"])

    def demo_lines(self, prep, out_values: int, real: bool) -> list[str]:
        if not prep.classes:
            return super().demo_lines(prep, out_values, real)
        return class_demo_lines(prep, out_values, real)

    def predictions(self, prep, labels: list[str], out: np.ndarray) -> list[dict]:
        """Each sample's most likely class and every class's probability (as the trainer's loss reads them)."""
        if not prep.classes:
            return super().predictions(prep, labels, out)
        rows = []
        for label, p in zip(labels, prep.probabilities(out)):
            best = int(p.argmax())
            rows.append({"input": label, "class": prep.classes[best], "index": best, "probability": float(p[best]),
                         "probabilities": {name: float(v) for name, v in zip(prep.classes, p)}})
        return rows


def class_demo_lines(prep, out_values: int, real: bool) -> list[str]:
    """The demo's last lines for a classifier: the most likely class of the sample and its probability."""
    lines = []
    if len(prep.classes) == 2 and out_values == 1:  # one logit, trained with binary cross-entropy
        lines.append("    positive = float(torch.sigmoid(output.reshape(-1)[0]))")
        lines.append("    probabilities = torch.tensor([1 - positive, positive])")
    elif prep.loss == "nll":
        lines.append("    probabilities = output[0].exp()")
    else:
        lines.append("    probabilities = torch.softmax(output[0], dim=0)")
    lines.append("    best = int(probabilities.argmax())")
    truth = ' (true class {CLASSES[int(data.target[0])]})' if real else ""
    lines.append(f'    print(f"{{CLASSES[best]}} with probability {{float(probabilities[best]):.1%}}{truth}")')
    return lines
