"""A loaded dataset as graph_builder's DataDescription, so the fit check reads it like a built-in one."""

from __future__ import annotations

from pathlib import Path

from graph_builder.data_description import CLASSES, DataDescription
from graph_builder.datafit import BUILTIN
from graph_builder.input_adapter import InputAdapter


def describe_splits(splits, config: dict | None = None) -> DataDescription:
    """The DataDescription of loaded `splits` (a runtime.data.Splits) of the dataset section `config`."""
    config = config or {}
    if splits.name in BUILTIN:
        label = BUILTIN[splits.name](config).label
    elif config.get("path"):
        label = f"the data in {Path(config['path']).name}"
    else:
        label = f"the {splits.title} data"
    tokenizer = splits.info.get("tokenizer")
    value_range = InputAdapter.from_dataset(config).value_range() if splits.image else None
    return DataDescription(label, splits.input_shape, splits.dtype, splits.kind, tuple(splits.classes),
                           () if splits.kind == CLASSES else splits.target_shape, splits.image,
                           tokenizer["vocab_size"] if tokenizer else None, value_range)
