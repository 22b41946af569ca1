"""The registry of weight sources (one resolver per `kind`) and loading them into the compiled main network."""


from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph_builder.errors import GraphBuilderError
from graph_builder.protocols import ProjectLike


class PretrainedError(GraphBuilderError):
    """A pretrained weight source cannot be read, is not where it should be, or does not fit."""


Resolver = Callable[[dict, Any, "Path | None", str], dict]
"""(source record, project, project path or None, target network name) -> state dict."""

RESOLVERS: dict[str, Resolver] = {}


def register(kind: str) -> Callable[[Resolver], Resolver]:
    def wrap(fn: Resolver) -> Resolver:
        RESOLVERS[kind] = fn
        return fn
    return wrap


def sources(project: ProjectLike) -> list[dict]:
    """The project's `meta["pretrained"]` records (an empty list when it has none)."""
    meta = project.meta if isinstance(project.meta, dict) else {}
    records = meta.get("pretrained") or []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("source"), dict)]


def load_initial_weights(project: ProjectLike, project_path: str | os.PathLike | None, module) -> list[str]:
    """Load the project's imported weights and pretrained sources into `module` (the compiled main network).

    Returns the state-dict keys that were filled (empty when the project names no weights).
    """
    filled: list[str] = []
    if project_path is not None and isinstance(project.meta, dict) and project.meta.get("weights"):
        from runtime.export.formats import WeightsMismatchError, read_weights
        from runtime.importers.project_files import ProjectWeightsError, load_project_weights, project_weights_path

        try:
            load_project_weights(project, project_path, module)
            filled.extend(module.state_dict())
        except ProjectWeightsError as exc:
            if not isinstance(exc.__cause__, WeightsMismatchError):
                raise PretrainedError(str(exc)) from exc
            # The graph was edited since the import (a new head): the weights that still fit are the
            # pretrained part, the layers that changed start fresh. None fitting is a wrong file.
            own = module.state_dict()
            fitting = {k: v for k, v in read_weights(project_weights_path(project, project_path)).items()
                       if k in own and tuple(v.shape) == tuple(own[k].shape)}
            if not fitting:
                raise PretrainedError(str(exc)) from exc
            module.load_state_dict(fitting, strict=False)
            filled.extend(fitting)
    path = Path(project_path) if project_path is not None else None
    own = module.state_dict()
    for record in sources(project):
        kind = record["source"].get("kind")
        if kind not in RESOLVERS:
            raise PretrainedError(f"unknown pretrained weight source {kind!r}; use one of {', '.join(sorted(RESOLVERS))}")
        target = record.get("target")
        prefix, network = _target(project, target)
        state = RESOLVERS[kind](record["source"], project, path, network)
        keyed = {f"{prefix}{k}": v for k, v in state.items()}
        wrong = [k for k in keyed if k not in own or tuple(own[k].shape) != tuple(keyed[k].shape)]
        if wrong:
            where = f"block {target!r}" if target else "the main network"
            raise PretrainedError(f"the pretrained weights for {where} do not fit it ({', '.join(wrong[:4])}); "
                                  "choose weights of the same architecture")
        module.load_state_dict(keyed, strict=False)
        filled.extend(keyed)
    return list(dict.fromkeys(filled))


def target_network(project: ProjectLike, target: str | None) -> str:
    """The network a record's target loads into: the main network, or the block node's network."""
    return _target(project, target)[1]


def _target(project: ProjectLike, target: str | None) -> tuple[str, str]:
    """(state-dict prefix, network name) of a record's target."""
    main = project.networks.main
    if not target:
        return "", main
    graph = project.graph
    try:
        node = graph.node_by_name(target)
    except Exception:  # noqa: BLE001 - the graph's own error is about a name; say which record
        raise PretrainedError(f"pretrained weights are set for block {target!r}, which is not in {main!r}; "
                              "remove that weight source or rename the block back") from None
    if node.type_id != "Block":
        raise PretrainedError(f"pretrained weights are set for {target!r}, which is a {node.type_id} layer, not a block")
    from runtime.compile.codegen import node_attributes  # the block's submodule, which codegen may name apart

    attr = node_attributes(graph)[0].get(node.id, target)
    return f"{attr}.", node.params["network"]
