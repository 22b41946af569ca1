"""Transfer-learning presets: which nodes of a network are frozen, as one undoable edit.

A frozen node (or block) keeps its weights while the rest trains (`Node.frozen`, saved in the
project). The presets set every node of the network at once:

- feature extraction: the nodes whose weights come from pretrained weights are frozen, the
  rest (the new head) trains;
- last k blocks: the last k Block nodes in topological order and everything after them train,
  the rest is frozen;
- full fine-tuning: nothing is frozen.

Which nodes hold pretrained weights is the caller's to say (runtime.train.freezing knows it from the
weights actually loaded); this module stays pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph_builder.errors import EditError
from graph_builder.graph import Batch, Graph, SetFrozen

FEATURE_EXTRACTION = "feature-extraction"
LAST_BLOCKS = "last-blocks"
FULL = "full"
PRESETS = {  # name -> the title of its edit
    FEATURE_EXTRACTION: "Feature extraction",
    LAST_BLOCKS: "Fine-tune the last blocks",
    FULL: "Full fine-tuning",
}


class FreezingError(EditError):
    """A preset that cannot apply to this network (no pretrained weights, too few blocks)."""


def blocks_in_order(graph: Graph) -> list[str]:
    """The Block nodes of `graph` in topological order."""
    from graph_builder.shapes import topological_order

    return [n for n in topological_order(graph) if graph.nodes[n].type_id == "Block"]


def descendants(graph: Graph, node_id: str) -> set[str]:
    """Every node a path from `node_id` reaches."""
    out: dict[str, list[str]] = {}
    for e in graph.edges:
        out.setdefault(e.src, []).append(e.dst)
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        for nxt in out.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def preset_frozen(graph: Graph, preset: str, pretrained: Iterable[str] = (), k: int = 1) -> dict[str, bool]:
    """Each node id of `graph` -> whether `preset` freezes it; FreezingError when the preset cannot apply.

    `pretrained` is the ids of the nodes whose weights come from pretrained weights.
    """
    if preset not in PRESETS:
        raise FreezingError(f"unknown transfer-learning preset {preset!r}; use one of {', '.join(PRESETS)}")
    if preset == FULL:
        return {n: False for n in graph.nodes}
    if preset == FEATURE_EXTRACTION:
        pretrained = set(pretrained) & set(graph.nodes)
        if not pretrained:
            raise FreezingError("no node of this network has pretrained weights, so feature extraction would "
                                "freeze nothing; import a model or add a pretrained weight source first")
        return {n: n in pretrained for n in graph.nodes}
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise FreezingError(f"fine-tuning the last k blocks needs k of at least 1, not {k!r}")
    blocks = blocks_in_order(graph)
    if len(blocks) < k:
        raise FreezingError(f"this network has {len(blocks)} block{'s' * (len(blocks) != 1)}, fewer than the "
                            f"{k} to fine-tune; choose k up to {len(blocks)}, or group layers into blocks first"
                            if blocks else "this network has no blocks to fine-tune; group layers into blocks "
                            "(or import a model, whose repeated parts are blocks) first")
    trainable: set[str] = set()
    for block in blocks[-k:]:
        trainable |= {block} | descendants(graph, block)
    return {n: n not in trainable for n in graph.nodes}


def preset_command(graph: Graph, preset: str, pretrained: Iterable[str] = (), k: int = 1) -> Batch:
    """The one undoable edit that applies `preset` to every node of `graph`."""
    frozen = preset_frozen(graph, preset, pretrained, k)
    title = PRESETS[preset] + (f" ({k})" if preset == LAST_BLOCKS else "")
    ids = tuple(frozen)
    return Batch([SetFrozen(ids, tuple(frozen[n] for n in ids))], title)


def parameter_split(graph: Graph, shapes=None) -> tuple[int, int]:
    """(trainable, frozen) parameter counts of `graph`; frozen nodes inside blocks count as frozen."""
    from graph_builder.shapes import infer_shapes

    shapes = shapes if shapes is not None else infer_shapes(graph)
    trainable = frozen = 0
    for node_id, count in shapes.params.items():
        node = graph.nodes.get(node_id)
        if node is None:
            continue
        if node.frozen:
            frozen += count
            continue
        inner = graph.block_network(node_id) if node.type_id == "Block" else None
        if inner is not None and inner is not graph and any(n.frozen for n in inner.nodes.values()):
            t, f = parameter_split(inner)
            if t + f == count:  # the block's own report agrees with what the host counted
                trainable, frozen = trainable + t, frozen + f
                continue
        trainable += count
    return trainable, frozen
