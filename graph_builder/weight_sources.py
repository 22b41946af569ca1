"""Where a network's or a block's starting weights come from: the `meta["pretrained"]` records.

    {"target": None | "<block node name>", "source": {"kind": "file", "path": "resnet18.pth"}}
    {"target": None, "source": {"kind": "torchvision", "model": "resnet18", "weights": "DEFAULT"}}

One record per target (None: the whole main network). `SetWeightSource` is the one edit of
them, a reversible command on the project (the app's undo stack and `netcanvas weights` both
use it); runtime.pretrained resolves the records into tensors. Pure Python: no torch, no Qt.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from graph_builder.errors import EditError
from graph_builder.protocols import ProjectLike

KINDS = ("file", "torchvision", "run")  # "run": the best weights of a run (runtime.pretrained, transfer side)


def weight_sources(project: ProjectLike) -> list[dict]:
    """The project's weight-source records, in order."""
    records = project.meta.get("pretrained") if isinstance(project.meta, dict) else None
    return [r for r in records or [] if isinstance(r, dict) and isinstance(r.get("source"), dict)]


def weight_source(project: ProjectLike, target: str | None = None) -> dict | None:
    """The source recorded for `target` (None: the main network), or None."""
    for record in weight_sources(project):
        if (record.get("target") or None) == (target or None):
            return dict(record["source"])
    return None


def describe_source(source: dict) -> str:
    """A short phrase for menus and messages: `resnet18.pth`, `torchvision resnet18 (DEFAULT)`."""
    kind = source.get("kind")
    if kind == "file":
        return str(source.get("path", "?")).replace("\\", "/").rsplit("/", 1)[-1]
    if kind == "torchvision":
        return f"torchvision {source.get('model', '?')} ({source.get('weights') or 'DEFAULT'})"
    if kind == "run":
        return f"run {source.get('run', '?')}"
    return str(kind)


def _check(source: dict) -> dict:
    if not isinstance(source, dict) or source.get("kind") not in KINDS:
        raise EditError(f"a weight source needs a kind, one of {', '.join(KINDS)}; got {source!r}")
    if source["kind"] == "file" and not (isinstance(source.get("path"), str) and source["path"].strip()):
        raise EditError("a file weight source needs the path of a .pth or .safetensors file")
    if source["kind"] == "torchvision" and not (isinstance(source.get("model"), str) and source["model"]):
        raise EditError("a torchvision weight source needs the model's name (resnet18)")
    return copy.deepcopy(source)


@dataclass
class SetWeightSource:
    """Record `source` as `target`'s starting weights (None removes the record); its inverse restores it."""

    target: str | None
    source: dict | None

    @property
    def title(self) -> str:
        where = f"block {self.target}" if self.target else "the network"
        if self.source is None:
            return f"Remove pretrained weights of {where}"
        return f"Load pretrained weights into {where}"

    def apply(self, project: ProjectLike) -> SetWeightSource:
        target = self.target or None
        if target is not None:
            try:
                node = project.graph.node_by_name(target)
            except Exception:  # noqa: BLE001 - the graph's own error names nothing about weights
                raise EditError(f"there is no block {target!r} in the main network to load weights into") from None
            if node.type_id != "Block":
                raise EditError(f"{target!r} is a {node.type_id} layer; weights are loaded into a block or the "
                                "whole network")
        new = _check(self.source) if self.source is not None else None
        before = weight_source(project, target)
        records = [copy.deepcopy(r) for r in weight_sources(project) if (r.get("target") or None) != target]
        if new is not None:
            records.append({"target": target, "source": new})
        if records:
            project.meta["pretrained"] = records
        else:
            project.meta.pop("pretrained", None)
        return SetWeightSource(target, before)
