"""A local .pth or .safetensors file as a weight source (`{"kind": "file", "path": "weights.pth"}`), fitted to a network by key and shape.

A torchvision-style state dict for a project imported from torchvision is mapped through the
importer first, as torchvision's own weights are.
"""

from __future__ import annotations

from pathlib import Path

from graph_builder.protocols import ProjectLike

from runtime.pretrained.files import Fit, MisfitError, WeightsFileError, fit_state, network_state, read_state_dict
from runtime.pretrained.registry import register


def imported_torchvision_name(project: ProjectLike) -> str | None:
    """The torchvision model a project was imported from (`meta["imported_from"]`), if it was."""
    meta = project.meta if isinstance(project.meta, dict) else {}
    source = meta.get("imported_from")
    if isinstance(source, str) and source.startswith("torchvision "):
        return source.removeprefix("torchvision ").strip()
    return None


def source_path(source: dict, project_path: Path | None) -> Path:
    """The file a source names: absolute, or relative to the project's folder."""
    raw = source.get("path")
    if not isinstance(raw, str) or not raw:
        raise WeightsFileError("a file weight source needs its path; choose the .pth or .safetensors file")
    p = Path(raw).expanduser()
    if not p.is_absolute() and project_path is not None:
        p = project_path.resolve().parent / p
    return p


def fit_file(source: dict, project: ProjectLike, project_path: Path | None, network: str) -> Fit:
    """How the file of `source` fits `network` (mapped from torchvision's keys when that fits better)."""
    path = source_path(source, project_path)
    state = read_state_dict(path)
    own = network_state(project, network)
    what = path.name
    target = f"network {network!r}"
    tv = imported_torchvision_name(project) if network == project.networks.main else None
    if tv and not all(k in own for k in state):
        from runtime.pretrained.torchvision_hub import imported_state, torchvision_with

        try:
            module = torchvision_with(tv, state, what)
        except MisfitError:
            if any(k in own for k in state):
                return fit_state(state, own, what, target)  # NetCanvas's own keys, a head changed
            raise
        state = imported_state(module, project, tv)
        what = f"{path.name} (torchvision {tv} keys, mapped by the importer)"
    return fit_state(state, own, what, target)


@register("file")
def resolve_file(source: dict, project: ProjectLike, project_path: Path | None, network: str) -> dict:
    """The state dict of a local weights file, fitted to `network`."""
    return fit_file(source, project, project_path, network).state
