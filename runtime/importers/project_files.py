"""Writing an imported model as a project with its weights beside it, and reading those weights back.

The project references its weights in `meta["weights"]`: `{"file": "<name>.safetensors",
"sha256": …}`, a file name relative to the project's folder. The weights are keyed like the
module NetCanvas compiles from the project (`load_weights(build_module(project.graph), path)`).

Nothing is written until the imported graph validates, compiles, takes every tensor and
reproduces the original model's outputs; the weights file goes first and is removed again if
the project cannot be saved, so a failed import leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from graph_builder.project import Project, save_project
from graph_builder.protocols import ProjectLike
from graph_builder.validation import ERROR, validate

from runtime.compile.compiler import build_module
from runtime.export.formats import largest_difference
from runtime.importers.model import (
    ImportedModel, ModelImportError, Unsupported, UnsupportedModelError, state_dict_for,
)

ROUND_TRIP_TOLERANCE = 1e-5


class RoundTripError(ModelImportError):
    """The imported graph does not reproduce the original model; nothing was written."""


class ProjectWeightsError(ModelImportError):
    """A project's referenced weights file is missing, altered or does not fit."""


@dataclass
class ImportReport:
    """What an import wrote and how closely the imported graph matches the original."""

    project_path: Path
    weights_path: Path
    networks: list[str]
    parameters: int
    max_abs_diff: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        blocks = len(self.networks) - 1
        return (f"wrote {self.project_path} ({len(self.networks)} network(s): {self.networks[0]}"
                f"{f' and {blocks} block network(s)' if blocks else ''}; {self.parameters:,} parameters) and its "
                f"weights {self.weights_path.name}; eval outputs match the original within {self.max_abs_diff:.1e}")


def check_imported(imported: ImportedModel, example: tuple[torch.Tensor, ...]) -> tuple[torch.nn.Module, float]:
    """Validate, compile and load the imported model; returns it with its largest difference from the original."""
    problems = []
    for name, graph in imported.networks.items():
        for issue in validate(graph):
            if issue.severity == ERROR:
                problems.append(Unsupported(f"{name}", f"the imported graph is invalid: {issue.message}"))
    if problems:
        raise UnsupportedModelError(problems, imported.source)
    module = build_module(imported.networks.main_graph)
    state = state_dict_for(imported.networks, imported.weights)
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelImportError(f"the imported weights do not fit the compiled graph (missing {missing[:5]}, "
                               f"unexpected {unexpected[:5]}); this is a bug in the importer")
    module.eval()
    if imported.reference is None:
        return module, float("nan")
    with torch.no_grad():
        ours = module(*example)
        theirs = imported.reference(*example)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = tuple(theirs) if isinstance(theirs, (tuple, list)) else (theirs,)
    if len(ours) != len(theirs) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(ours, theirs)):
        raise RoundTripError(f"the imported graph returns shapes {[tuple(a.shape) for a in ours]} but the original "
                             f"{[tuple(b.shape) for b in theirs]}; nothing was written")
    diff = max(largest_difference(a, b) for a, b in zip(ours, theirs))
    scale = max(1.0, max(float(torch.nan_to_num(torch.as_tensor(b).double(), 0, 0, 0).abs().max()) if b.numel() else 0.0
                         for b in theirs))
    if not diff <= ROUND_TRIP_TOLERANCE * scale:
        raise RoundTripError(f"the imported graph's outputs differ from the original's by {diff:.3g} in eval mode "
                             f"(tolerance {ROUND_TRIP_TOLERANCE:g}); nothing was written")
    return module, diff


def write_imported_project(imported: ImportedModel, out: str | os.PathLike,
                           example: tuple[torch.Tensor, ...]) -> ImportReport:
    """Check the import, then write `out` (the project) and `<out stem>.safetensors` beside it."""
    from runtime.export.formats import export_weights

    out = Path(out)
    if out.suffix.lower() != ".json":
        raise ModelImportError(f"the project file {out.name!r} should end in .json")
    if not out.parent.is_dir():
        raise ModelImportError(f"the folder {str(out.parent)!r} does not exist; create it or choose another place")
    module, diff = check_imported(imported, example)
    weights_path = out.with_suffix(".safetensors")
    existed = weights_path.exists()
    export_weights(module, weights_path)
    digest = hashlib.sha256(weights_path.read_bytes()).hexdigest()
    meta = {"title": f"{imported.networks.main} (imported)", "imported_from": imported.source,
            "weights": {"file": weights_path.name, "sha256": digest}}
    if imported.weights_from:
        meta["weights"]["from"] = imported.weights_from
    project = Project(networks=imported.networks, meta=meta)
    try:
        save_project(project, out)
    except BaseException:
        if not existed:
            weights_path.unlink(missing_ok=True)
        raise
    count = sum(p.numel() for p in module.parameters())
    return ImportReport(out, weights_path, list(imported.networks), count, diff, list(imported.notes))


def project_weights_path(project: ProjectLike, project_path: str | os.PathLike) -> Path | None:
    """The weights file a project references (beside it), or None when it references none."""
    ref = project.meta.get("weights") if isinstance(project.meta, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("file"), str):
        return None
    name = Path(ref["file"]).name  # a bare name beside the project: never a path elsewhere
    return Path(project_path).resolve().parent / name


def load_project_weights(project: ProjectLike, project_path: str | os.PathLike, module: torch.nn.Module) -> Path | None:
    """Load the project's referenced weights into `module`; ProjectWeightsError saying what to do if they are gone."""
    from runtime.export.formats import ExportError, load_weights

    path = project_weights_path(project, project_path)
    if path is None:
        return None
    if not path.is_file():
        raise ProjectWeightsError(
            f"{Path(project_path).name} uses the weights file {path.name}, which is not beside it in "
            f"{str(path.parent)!r}; copy {path.name} back next to the project, or import the model again")
    expected = project.meta["weights"].get("sha256")
    if isinstance(expected, str) and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        raise ProjectWeightsError(f"{path.name} is not the weights file {Path(project_path).name} was saved with "
                                  "(its checksum differs); restore it or import the model again")
    try:
        load_weights(module, path)
    except ExportError as exc:
        raise ProjectWeightsError(str(exc)) from exc
    return path
