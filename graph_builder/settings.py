"""Schema of a project's dataset and training sections (placeholder until the trainer lands)."""

from __future__ import annotations

from graph_builder.errors import ProjectError


def validate_dataset_section(data: dict, path: str = "$.dataset") -> dict:
    """The dataset section, checked; raises ProjectError with a JSON path."""
    if not isinstance(data, dict):
        raise ProjectError("dataset must be an object", path)
    return dict(data)


def validate_training_section(data: dict, path: str = "$.training") -> dict:
    """The training section, checked; raises ProjectError with a JSON path."""
    if not isinstance(data, dict):
        raise ProjectError("training must be an object", path)
    return dict(data)
