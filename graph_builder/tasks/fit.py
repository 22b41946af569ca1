"""The model-against-data checks a task's `fit_problems` is made of: the Input, and the Output against the target.

A task says what its output is compared with (TaskSpec.target: class labels, values, the input
itself); these checks word each misfit with its fix, tied to the node to change.
"""

from __future__ import annotations

import math

from graph_builder.data_description import DataDescription
from graph_builder.graph import Graph, SetParam
from graph_builder.layout import insert_on_edge
from graph_builder.shape_math import format_shape
from graph_builder.shapes import ShapeReport
from graph_builder.validation import ERROR, WARNING, Fix, Issue


def input_issues(graph: Graph, data: DataDescription) -> list[Issue]:
    """The main network's one Input against the data's samples (shape and dtype)."""
    inputs = graph.inputs()
    if len(inputs) != 1:
        if not inputs:
            return []  # validation already asks for an Input
        names = ", ".join(n.name for n in inputs)
        return [Issue(ERROR, "fit-inputs", f"the model has {len(inputs)} inputs ({names}) but {data.label} feeds "
                      "one; keep a single Input node", tuple(n.id for n in inputs))]
    node = inputs[0]
    want = tuple(node.params.get("shape") or ())
    have = tuple(data.input_shape)
    issues = []
    if want != have:
        message = (f"{node.name} expects {format_shape((None, *want))} but {data.label} gives "
                   f"{format_shape((None, *have))} per batch; set the shape of {node.name} to {dims(have)}")
        if math.prod(want) == math.prod(have) and want:
            message += f" and insert an Unflatten to {format_shape((None, *want))} after it"
        issues.append(Issue(ERROR, "fit-input-shape", message, (node.id,),
                            Fix(f"Set the shape of {node.name} to {dims(have)}",
                                SetParam(node.id, "shape", have))))
    dtype = node.params.get("dtype", "float32")
    if dtype != data.dtype:
        what = "integer token ids" if data.dtype == "int64" else "float values"
        issues.append(Issue(ERROR, "fit-input-dtype", f"{node.name} is {dtype} but {data.label} gives {what} "
                            f"({data.dtype}); set the dtype of {node.name} to {data.dtype}", (node.id,),
                            Fix(f"Set the dtype of {node.name} to {data.dtype}", SetParam(node.id, "dtype", data.dtype))))
    return issues + vocabulary_issues(graph, node.id, data)


def vocabulary_issues(graph: Graph, input_id: str, data: DataDescription) -> list[Issue]:
    """Each Embedding the Input feeds against the data's vocabulary: every token id needs a row."""
    if data.vocab is None:
        return []
    issues = []
    for e in graph.out_edges(input_id):
        emb = graph.nodes[e.dst]
        size = emb.params.get("num_embeddings", 1000) if emb.type_id == "Embedding" else None
        if size is not None and size < data.vocab:
            issues.append(Issue(ERROR, "fit-vocabulary", f"{emb.name} has {size} rows (num_embeddings) but "
                                f"{data.label} has a vocabulary of {data.vocab} tokens; set num_embeddings of "
                                f"{emb.name} to {data.vocab} or lower the vocabulary size", (emb.id,),
                                Fix(f"Set num_embeddings of {emb.name} to {data.vocab}",
                                    SetParam(emb.id, "num_embeddings", data.vocab))))
    return issues


def trained_output(graph: Graph, shapes: ShapeReport):
    """(the Output node that is trained, its shape without the batch), or None when not known yet."""
    outputs = graph.outputs()
    if not outputs:
        return None  # validation already asks for an Output
    node = outputs[0]  # several Outputs: the first one is trained
    out = shapes.out.get(node.id)
    return None if out is None else (node, tuple(out[1:]))  # None: a problem upstream; validation names it


def class_output_issues(graph: Graph, shapes: ShapeReport, data: DataDescription, loss: str) -> list[Issue]:
    """One score per class (or one logit for two classes under bce_with_logits)."""
    found = trained_output(graph, shapes)
    if found is None:
        return []
    node, shape = found
    k = data.num_classes
    if loss == "bce_with_logits" and k == 2 and math.prod(shape) == 1:
        return []  # one logit for two classes
    if shape == (k,):
        return []
    feeder = _feeder(graph, node.id)
    if len(shape) == 1 and feeder is not None and feeder.type_id == "Linear":
        fix = f"set out_features of {feeder.name} to {k}"
    elif len(shape) == 1:
        fix = f"end with a Linear(out_features={k}) before {node.name}"
    else:
        fix = f"insert a Flatten and a Linear(out_features={k}) before {node.name}"
    return [Issue(ERROR, "fit-classes", f"{node.name} gives {format_shape((None, *shape))} but {data.label} has {k} "
                  f"classes, so it must give (N, {k}) (one score per class); {fix}", (node.id,))]


def value_output_issues(graph: Graph, shapes: ShapeReport, data: DataDescription, target: tuple[int, ...],
                        what: str) -> list[Issue]:
    """As many values per sample as the target has (`what` names it: "regression target")."""
    found = trained_output(graph, shapes)
    if found is None:
        return []
    node, shape = found
    if math.prod(shape) == math.prod(target):
        return []
    size = math.prod(target)
    feeder = _feeder(graph, node.id)
    fix = (f"set out_features of {feeder.name} to {size}" if feeder is not None and feeder.type_id == "Linear"
           and len(shape) == 1 else f"make the last layer produce {size} value{'s' * (size != 1)} per sample")
    return [Issue(ERROR, "fit-target", f"{node.name} gives {format_shape((None, *shape))} but the {what} of "
                  f"{data.label} is {format_shape((None, *target))}; {fix}", (node.id,))]


# What a last layer's outputs can be. A layer not listed is unbounded (Linear, a convolution); the layers in
# KEEPS_RANGE move or pick values without making new ones, so the range is the layer's before them.
SQUASHES = {"Sigmoid": (0.0, 1.0), "Hardsigmoid": (0.0, 1.0), "Softmax": (0.0, 1.0), "Tanh": (-1.0, 1.0),
            "Softsign": (-1.0, 1.0), "ReLU": (0.0, math.inf), "ReLU6": (0.0, 6.0), "Softplus": (0.0, math.inf)}
KEEPS_RANGE = {"Flatten", "Unflatten", "Reshape", "Permute", "Identity", "Dropout", "Upsample", "MaxPool2d"}
SLACK = 0.05  # share of the data's span a squash may overshoot it by, either side
PIXELS_0_1 = "backbone normalisation custom, mean 0, std 1"  # the dataset settings that scale pixels to 0–1


def last_layer(graph: Graph, output_id: str):
    """The layer that decides the range of Output `output_id`'s values (through reshapes and the like), or None."""
    node = _feeder(graph, output_id)
    seen = set()
    while node is not None and node.type_id in KEEPS_RANGE and node.id not in seen:
        seen.add(node.id)
        node = _feeder(graph, node.id)
    return node


def _interval(lo: float, hi: float) -> str:
    return f"[{lo:.3g}, {hi:.3g}]"


def range_issues(graph: Graph, data: DataDescription, tied: bool = True) -> list[Issue]:
    """Warnings where the samples `graph`'s Output makes can leave, or cannot fill, the range of the data it
    imitates (as the network sees them); `tied`: the issues name `graph`'s nodes (it is the network shown)."""
    outputs = graph.outputs()
    if not outputs or not data.image:
        return []
    node = outputs[0]
    layer = last_layer(graph, node.id)
    ids = (node.id,) if tied else ()
    if data.value_range is None:
        return [Issue(WARNING, "fit-output-range", f"{node.name}'s samples cannot be kept to the pixels' range: "
                      f"{data.label} are not scaled to a fixed range (they are standardised or raw); scale them "
                      f"to 0–1 (dataset: {PIXELS_0_1}) and end with a Sigmoid", ids)]
    lo, hi = data.value_range
    low, high = SQUASHES.get(layer.type_id, (-math.inf, math.inf)) if layer is not None else (-math.inf, math.inf)
    wanted = next((t for t in ("Sigmoid", "Tanh") if _fits(SQUASHES[t], lo, hi)), None)
    fix = (f"end with a {wanted}" if wanted else f"scale the pixels to 0–1 (dataset: {PIXELS_0_1}) and end "
           "with a Sigmoid")
    what = f"{layer.name} ({layer.type_id})" if layer is not None else "its last layer"
    seen = f"{data.label} lie in {_interval(lo, hi)} as the network sees them"
    if low > lo + 1e-6 * (hi - lo) or high < hi - 1e-6 * (hi - lo):
        return [Issue(WARNING, "fit-output-range", f"{node.name} can only give values in {_interval(low, high)} "
                      f"after {what}, but {seen}, so samples cannot reach all of it; {fix}", ids)]
    if _fits((low, high), lo, hi):
        return []
    repair = None
    edges = graph.in_edges(node.id)
    if wanted and tied and layer is not None and layer.type_id not in SQUASHES and len(edges) == 1:
        repair = Fix(f"Insert a {wanted} before {node.name}", insert_on_edge(graph, edges[0], wanted))
    bound = "unbounded" if math.isinf(low) or math.isinf(high) else f"in {_interval(low, high)}"
    return [Issue(WARNING, "fit-output-range", f"{node.name}'s values are {bound} after {what}, but {seen}, so "
                  f"samples can fall outside the data's range; {fix}", ids, repair)]


def _fits(squash: tuple[float, float], lo: float, hi: float) -> bool:
    """Whether `squash` covers [lo, hi] and overshoots it by at most SLACK of its span on either side."""
    slack = SLACK * (hi - lo)
    low, high = squash
    return lo - slack <= low <= lo + 1e-6 and hi - 1e-6 <= high <= hi + slack


def _feeder(graph: Graph, node_id: str):
    """The node wired into `node_id` (the last layer before an Output), if there is exactly one."""
    sources = [e.src for e in graph.edges if e.dst == node_id]
    return graph.nodes.get(sources[0]) if len(sources) == 1 else None


def dims(shape: tuple[int, ...]) -> str:
    """(64,) reads as 64, (1, 8, 8) as (1, 8, 8): how the Inspector's shape field shows it."""
    return str(shape[0]) if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
