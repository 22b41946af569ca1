"""The "run" weight source: the best weights of a run of any project, for a whole network or a block.

    {"kind": "run", "run": "<run folder>"}                       # relative: from the project's folder
    {"kind": "run", "run": "<run folder>", "block": "features"}  # that block node of the run's network

What fits is the fingerprint's to decide (graph_builder.fingerprint, DESIGN.md decision 13): the
target network (the main one, or the network a block node stands for) takes the run's weights
when the run trained that very network, or when the run's network holds a block of it (its
weights are cut out of the run's). Anything else is refused, naming both networks.
"""

from __future__ import annotations

import os
from pathlib import Path

from graph_builder.fingerprint import network_fingerprint, short
from graph_builder.protocols import ProjectLike
from graph_builder.run_folder import WEIGHTS, RunFolder
from graph_builder.runs import RunsError, _project_of, read_run_network

from runtime.pretrained.registry import PretrainedError, register



@register("run")
def run_weights(source: dict, project: ProjectLike, project_path: Path | None, network: str) -> dict:
    """The state dict of `network` (keyed like its own module) from the run `source["run"]` names."""
    run = _run_folder(source, project_path)
    try:
        trained = read_run_network(run)
    except RunsError as exc:
        raise PretrainedError(f"the pretrained weights cannot come from run {run}: {exc}") from None
    target = project.networks[network]
    mine = network_fingerprint(target, project.networks)
    mine_text = f"network {network!r} of this project ({_params(target)}, fingerprint {short(mine)})"
    if trained.fingerprint is None:
        raise PretrainedError(f"run {trained.name} predates fingerprints: it does not record which network it "
                              f"trained, so its weights cannot be checked against {mine_text}; train that "
                              "network again and use the new run")
    theirs_text = f"the network run {trained.name} trained ({trained.title or 'untitled'}, {trained.describe()})"
    wanted_block = source.get("block")
    if wanted_block is not None and not isinstance(wanted_block, str):
        raise PretrainedError(f"the run weight source's block must be a block node's name, not {wanted_block!r}")
    if trained.fingerprint == mine and wanted_block is None:
        return _weights(run)
    prefix = _block_prefix(trained, mine, wanted_block, theirs_text, mine_text)
    if prefix is None:
        raise PretrainedError(f"the weights of {theirs_text} do not fit {mine_text}: it is a different network "
                              "and holds no block of it; choose a run of this network (or of a network that uses "
                              "it as a block), or train it first")
    state = {k[len(prefix):]: v for k, v in _weights(run).items() if k.startswith(prefix)}
    if not state:
        raise PretrainedError(f"run {trained.name} has no weights for its block {prefix[:-1]!r}; it cannot fill "
                              f"{mine_text}")
    return state


def _run_folder(source: dict, project_path: Path | None) -> Path:
    run = source.get("run")
    if not isinstance(run, str) or not run.strip():
        raise PretrainedError("a run weight source needs \"run\": the run folder whose best weights to use")
    path = Path(os.path.expanduser(run))
    if not path.is_absolute() and project_path is not None:
        path = Path(project_path).resolve().parent / path
    if not path.is_dir():
        raise PretrainedError(f"the run {run!r} the pretrained weights come from is not a folder here ({path}); "
                              "put the run folder back or choose another run")
    return path


def _block_prefix(trained, mine: str, wanted: str | None, theirs_text: str, mine_text: str) -> str | None:
    """The state-dict prefix (`features.`) of the block of the run's network that is the target network."""
    their_project = _project_of(trained.project) if trained.project is not None else None
    if their_project is None:
        raise PretrainedError(f"run {trained.name} did not keep its project, so its blocks cannot be checked "
                              f"against {mine_text}")
    graph = their_project.graph
    blocks = [n for n in graph.nodes.values() if n.type_id == "Block"]
    if wanted is not None:
        chosen = [n for n in blocks if n.name == wanted]
        if not chosen:
            names = ", ".join(n.name for n in blocks) or "none"
            raise PretrainedError(f"{theirs_text} has no block named {wanted!r} (its blocks: {names})")
        blocks = chosen
    fits = [n for n in blocks
            if network_fingerprint(their_project.networks[n.params["network"]], their_project.networks) == mine]
    if not fits:
        if wanted is not None:
            raise PretrainedError(f"block {wanted!r} of {theirs_text} does not fit {mine_text}: they are different "
                                  "networks; choose a block of the same architecture")
        return None
    if len(fits) > 1 and wanted is None:
        names = ", ".join(n.name for n in fits)
        raise PretrainedError(f"{theirs_text} holds several blocks that fit {mine_text} ({names}); say which one "
                              "with \"block\" in the weight source")
    from runtime.compile.codegen import node_attributes

    return node_attributes(graph)[0][fits[0].id] + "."


def _weights(run: Path) -> dict:
    from safetensors.torch import load_file

    path = RunFolder(run).weights()  # best first: a run that never improved has only last
    if path is None:
        raise PretrainedError(f"run {run.name} has no weights yet ({WEIGHTS['best']} or {WEIGHTS['last']}); let it "
                              "train at least one epoch, or choose another run")
    from graph_builder import limits

    limits.check_file(path, limits.MODEL, "a run's weights", PretrainedError, "choose another run")
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - a damaged file is reported, whatever safetensors raised
        raise PretrainedError(f"the weights {path} cannot be read ({exc}); choose another run") from None


def _params(graph) -> str:
    from graph_builder.errors import GraphBuilderError
    from graph_builder.shapes import infer_shapes

    try:
        return f"{infer_shapes(graph).total_params:,} parameters"
    except GraphBuilderError:
        return "parameter count unknown"
