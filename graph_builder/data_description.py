"""What one sample of a dataset looks like to a model: the plain description every fit check reads.

The data's `kind` is what its targets are, classes or values. It is not the training task: the
same labelled digits train a classifier, an autoencoder or a GAN (graph_builder.tasks decides).
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES, VALUES = "classes", "values"  # a dataset's target kind: labels to predict, or numbers to regress
KINDS = (CLASSES, VALUES)


@dataclass(frozen=True)
class DataDescription:
    """What one sample of a dataset looks like to a model (the batch dimension left out)."""

    label: str  # a noun phrase for messages: "the digits data", "the data in table.csv"
    input_shape: tuple[int, ...]
    dtype: str = "float32"  # float32 or int64 (token ids)
    kind: str = CLASSES  # the targets: classes (labels) or values
    classes: tuple[str, ...] = ()
    target_shape: tuple[int, ...] = ()  # per-sample value target; () for class labels
    image: bool = False
    vocab: int | None = None  # token ids (a text dataset's): every id is below this
    value_range: tuple[float, float] | None = None  # every input value as the network sees it, when the settings
    # fix it (pixels scaled to 0–1 by the input adapter's normalisation); None: not fixed (standardised, raw)

    @property
    def num_classes(self) -> int:
        return len(self.classes)
