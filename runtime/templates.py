"""The example projects bundled in resources/templates, and a template opened as a new project."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from graph_builder.project import load_project


def template_folder() -> Path:
    """The folder of bundled templates (resources/templates)."""
    return Path(str(resources.files("resources").joinpath("templates")))


def template_paths() -> dict[str, Path]:
    """Template name (file stem) -> path, sorted by name."""
    return {p.stem: p for p in sorted(template_folder().glob("*.json"))}


def template_project(path: str | Path):
    """The template at `path` as a new project: a relative data path (bundled data) made absolute, so the
    copy still finds the data wherever it is saved."""
    from graph_builder.settings import dataset_beside

    project = load_project(path)
    if project.dataset.get("path"):
        project.dataset.replace(dataset_beside(project.dataset, path))
    return project
