"""How much memory one training step takes, per node and in all, before anything is trained (no torch).

    estimate = estimate_project(project)              # the training section's batch size and optimiser
    estimate.peak, estimate.rows[0].saved             # bytes
    memory_issues(project, estimate, free=8 * 2**30, total=16 * 2**30)

What a step holds, as the trainer runs it (runtime/train/objectives.py, `Step`):
- every parameter, and for each trainable one its gradient and the optimiser's state (Adam keeps
  two moments, SGD with momentum one buffer, RMSprop one or two);
- the batch, and what autograd keeps of every node for the backward pass: a Linear or a
  convolution keeps its input (to form its weight's gradient), ReLU, Sigmoid and Tanh keep their
  output, MaxPool keeps its input and int64 indices, Dropout its mask, and so on (`SAVES`, one row
  per layer type). A node feeding no trainable weight keeps nothing: a frozen backbone's
  activations are freed as soon as they are used.

The gradients of the previous step are still alive during the forward pass (the step clears them
after the loss), and the generated forward names every node's output, so at the end of the
forward pass every output is held at once: that is the peak of most networks. The backward pass
is walked node by node in reverse (saved tensors freed, gradients made) for the networks whose
peak comes later. `runtime.train.step_memory` measures the same step; the test keeps the two
within 25 % for every template.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graph_builder.footprint import size_text
from graph_builder.graph import Graph
from graph_builder.protocols import ProjectLike
from graph_builder.shapes import ShapeReport, incoming, infer_shapes
from graph_builder.validation import ERROR, WARNING, Issue

FLOAT = 4  # float32
DTYPE_BYTES = {"int64": 8, "float32": 4}


@dataclass(frozen=True)
class Saves:
    """What one layer type keeps for its backward pass, when a gradient passes through it."""

    input: bool = False  # its input (only when its own weights train, for Linear and convolutions)
    output: bool = False
    extra: float = 0.0  # further float32 values per output value (MaxPool's int64 indices: 2)
    view: bool = False  # its output shares its input's memory (Flatten, Reshape)
    weights_only: bool = False  # `input` is kept for its weight's gradient only


_WEIGHTED = Saves(input=True, weights_only=True)
_IN, _OUT = Saves(input=True), Saves(output=True)
SAVES: dict[str, Saves] = {
    **dict.fromkeys(("Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                     "ConvTranspose3d"), _WEIGHTED),
    **dict.fromkeys(("ReLU", "ReLU6", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "ELU", "SELU"), _OUT),
    **dict.fromkeys(("LeakyReLU", "PReLU", "GELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "BatchNorm1d",
                     "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm2d", "AvgPool1d",
                     "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Multiply"), _IN),
    **dict.fromkeys(("MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool2d"), Saves(input=True, extra=2.0)),
    **dict.fromkeys(("Dropout", "Dropout2d", "StochasticDepth"), Saves(extra=1.0)),  # the CPU keeps a float mask
    **dict.fromkeys(("Flatten", "Unflatten", "Reshape", "Permute", "Identity", "SelectStep"), Saves(view=True)),
    "GaussianLatent": Saves(input=True, extra=2.0),  # the noise and exp(log_var / 2)
    "Embedding": Saves(),  # its int64 indices are the batch itself
}
# Recurrent and attention layers keep many tensors per step; their rows are formulas (`_inner_values`).
OPTIMIZER_STATE = {"adam": 2, "adamw": 2, "sgd": 1, "rmsprop": 1}  # state tensors per trainable parameter


@dataclass(frozen=True)
class NodeMemory:
    """One node's bytes at the estimate's batch size."""

    node_id: str
    name: str
    type_id: str
    params: int
    grads: int
    state: int
    saved: int  # what the backward pass keeps of this node: its output, its input, masks, indices
    output: int  # its output (alive until the forward pass returns)
    network: str = ""  # the network it belongs to (node ids repeat across networks)
    within: str = ""  # the Block node it runs inside ("block1"), "" at the top

    @property
    def path(self) -> str:
        """Its name as a table shows it: "block1 › conv1" inside a block."""
        return f"{self.within} › {self.name}" if self.within else self.name

    @property
    def total(self) -> int:
        return self.params + self.grads + self.state + self.saved


@dataclass(frozen=True)
class MemoryEstimate:
    """Per-node rows and the step's totals and peak (bytes) at one batch size and optimiser."""

    rows: list[NodeMemory]
    batch_size: int
    optimizer: str
    batch: int  # the input batch and its targets
    peak: int
    networks: tuple[str, ...] = ()
    main: str = ""  # the project's main network: the one whose nodes a problem names

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def grads(self) -> int:
        return sum(r.grads for r in self.rows)

    @property
    def state(self) -> int:
        return sum(r.state for r in self.rows)

    @property
    def saved(self) -> int:
        return sum(r.saved for r in self.rows)

    def of_network(self, network: str) -> dict[str, NodeMemory]:
        """Node id -> row, for the nodes of `network` (a block's network: its nodes as a block uses them)."""
        return {r.node_id: r for r in self.rows if r.network == network}

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "optimizer": self.optimizer, "networks": list(self.networks),
                "params": self.params, "grads": self.grads, "optimizer_state": self.state,
                "saved_activations": self.saved, "batch": self.batch, "peak": self.peak,
                "nodes": [{"network": r.network, "name": r.path, "type": r.type_id, "params": r.params, "grads": r.grads,
                           "optimizer_state": r.state, "saved_activations": r.saved, "total": r.total}
                          for r in self.rows]}


def state_per_param(training: Mapping[str, Any]) -> int:
    """Optimiser state tensors per trainable parameter for the training settings."""
    name = training.get("optimizer", "adam")
    momentum = float(training.get("momentum", 0.9))
    if name == "sgd":
        return 1 if momentum > 0 else 0
    if name == "rmsprop":
        return 1 + (momentum > 0)
    return OPTIMIZER_STATE.get(name, 2)


# ---------------------------------------------------------------- one network

@dataclass
class _Walk:
    """What one network's forward and backward hold (bytes), for the peak."""

    rows: list[NodeMemory] = field(default_factory=list)
    outputs: int = 0  # every output, alive at the end of the forward pass
    extras: int = 0  # what nodes keep beside their outputs: masks, indices, a block's or an RNN's insides
    forward_peak: int = 0  # the highest the outputs so far and one node's working copies reach
    backward_peak: int = 0  # the highest of saved + gradients + gradient buffers during the backward pass


def estimate_graph(graph: Graph, shapes: ShapeReport, batch_size: int, per_param: int = 2,
                   frozen: bool = False, network: str = "", grad_in: bool = False) -> _Walk:
    """The rows of `graph`'s nodes and what its step holds; a Block's nodes follow its row.

    `frozen`: the network runs inside a frozen block; `grad_in`: a gradient reaches its inputs."""
    walk = _Walk()
    trains = _trains(graph, shapes, frozen)
    edges_in = incoming(graph)
    grad_flows = _grad_flows(graph, shapes, edges_in, trains, grad_in)
    kept: dict[str, float] = {}  # node id -> values per sample it keeps alive for the backward pass
    own: dict[str, float] = {}
    inside: dict[str, list[NodeMemory]] = {}  # a Block's node id -> its network's rows
    for node_id in shapes.order:
        node = graph.nodes[node_id]
        out = _values(shapes.out.get(node_id))
        saves = SAVES.get(node.type_id, Saves())
        sources = [_source(graph, edges_in, e.src) for e in edges_in[node_id]]
        ins = shapes.in_shapes.get(node_id, [])
        if grad_flows.get(node_id):
            if saves.output:
                kept[node_id] = out
            if saves.input and (trains.get(node_id) or not saves.weights_only):
                kept.update((src, _values(shape)) for src, shape in zip(sources, ins))
            own[node_id] = saves.extra * out + _inner_values(graph, shapes, node_id)
        inner = graph.block_network(node_id)
        held = 0
        if inner is not None and shapes.blocks.get(node.params["network"]) is not None:
            flows_in = any(grad_flows.get(e.src, False) for e in edges_in[node_id])
            walk_in = estimate_graph(inner, shapes.blocks[node.params["network"]], batch_size, per_param,
                                     frozen or node.frozen, node.params["network"], flows_in)
            edge_of_block = [r.type_id in ("Input", "Output") and not r.within for r in walk_in.rows]
            if any(r.saved for r, edge in zip(walk_in.rows, edge_of_block) if edge and r.type_id == "Input"):
                kept.update((src, _values(shape)) for src, shape in zip(sources, ins))  # the block keeps its input
            # the block's Input and Output are the outer tensors; the rest it keeps outlives its call
            inside[node_id] = [replace(r, within=f"{node.name} › {r.within}" if r.within else node.name,
                                       saved=0 if edge else r.saved) for r, edge in zip(walk_in.rows, edge_of_block)]
            held = sum(r.saved for r in inside[node_id])
        if not saves.view:
            walk.outputs += int(out * batch_size * _dtype_bytes(shapes, node_id))
        walk.extras += int(own.get(node_id, 0) * batch_size * FLOAT) + held
        work = _working_values(node.type_id, shapes, node_id) * batch_size * FLOAT
        walk.forward_peak = max(walk.forward_peak, walk.outputs + walk.extras + int(work))
    for node_id in shapes.order:
        node = graph.nodes[node_id]
        params = shapes.params.get(node_id, 0) * FLOAT if graph.block_network(node_id) is None else 0
        trained = params if trains.get(node_id) else 0
        saved = int((kept.get(node_id, 0) + own.get(node_id, 0)) * batch_size * FLOAT)
        out = int(_values(shapes.out.get(node_id)) * batch_size * _dtype_bytes(shapes, node_id))
        walk.rows.append(NodeMemory(node_id, node.name, node.type_id, params, trained, trained * per_param,
                                    saved, out, network))
        walk.rows += inside.get(node_id, [])
    walk.backward_peak = _backward_peak(walk.rows)
    return walk


def _backward_peak(rows: list[NodeMemory]) -> int:
    """Saved tensors freed and gradients made node by node in reverse: the highest they hold together."""
    saved = sum(r.saved for r in rows)
    grads, peak = 0, 0
    for row in reversed(rows):
        buffers = 2 * row.output  # the gradient arriving at this node and the one it passes on
        peak = max(peak, saved + grads + buffers)
        saved -= row.saved
        grads += row.grads
    return max(peak, grads)


def _trains(graph: Graph, shapes: ShapeReport, frozen: bool) -> dict[str, bool]:
    """Node id -> whether it has weights that train."""
    return {n: not frozen and not graph.nodes[n].frozen and shapes.params.get(n, 0) > 0 for n in graph.nodes}


def _grad_flows(graph: Graph, shapes: ShapeReport, edges_in: dict, trains: dict[str, bool],
                grad_in: bool = False) -> dict[str, bool]:
    """Node id -> whether a gradient passes through it (it trains, a node before it does, or it is an
    Input that a gradient reaches from outside)."""
    flows: dict[str, bool] = {}
    for node_id in shapes.order:
        fed = grad_in and graph.nodes[node_id].type_id == "Input"
        flows[node_id] = fed or trains[node_id] or any(flows.get(e.src, False) for e in edges_in[node_id])
    return flows


def _source(graph: Graph, edges_in: dict, node_id: str) -> str:
    """The node whose memory `node_id`'s output is (a view's is its input's)."""
    while SAVES.get(graph.nodes[node_id].type_id, Saves()).view and len(edges_in[node_id]) == 1:
        node_id = edges_in[node_id][0].src
    return node_id


def _values(shape: tuple | None) -> float:
    """Values per sample of a shape (the batch dimension left out)."""
    if not shape:
        return 0.0
    return float(math.prod(d for d in shape[1:] if isinstance(d, int)))


def _dtype_bytes(shapes: ShapeReport, node_id: str) -> int:
    return DTYPE_BYTES.get(shapes.dtype.get(node_id) or "float32", FLOAT)


def _working_values(type_id: str, shapes: ShapeReport, node_id: str) -> float:
    """Values per sample a node holds only while it runs: the CPU's convolutions copy their larger side twice."""
    if not type_id.startswith(("Conv", "ConvTranspose")):
        return 0.0
    ins = shapes.in_shapes.get(node_id) or [None]
    return 2 * max(_values(ins[0]), _values(shapes.out.get(node_id)))


def _inner_values(graph: Graph, shapes: ShapeReport, node_id: str) -> float:
    """Values per sample a recurrent or attention layer keeps inside itself (fitted to torch on the CPU)."""
    node = graph.nodes[node_id]
    ins = shapes.in_shapes.get(node_id) or [()]
    steps = ins[0][1] if len(ins[0]) > 2 and isinstance(ins[0][1], int) else 1
    p = node.params
    if node.type_id in ("RNN", "LSTM", "GRU"):
        gates = {"RNN": 2, "GRU": 11, "LSTM": 23}[node.type_id]
        width = p["hidden_size"] * (2 if p.get("bidirectional") else 1)
        return float(gates * steps * width * p["num_layers"])
    if node.type_id in ("TransformerEncoderLayer", "TransformerDecoderLayer", "MultiheadAttention"):
        d = ins[0][-1] if isinstance(ins[0][-1], int) else 0
        heads = p.get("nhead", p.get("num_heads", 1))
        ff = p.get("dim_feedforward", 0)
        return float(steps * (5 * d + 1.5 * ff + 1.5 * heads * steps))
    return 0.0


# ---------------------------------------------------------------- a project

def estimate_project(project: ProjectLike, batch_size: int | None = None,
                     known: Mapping[str, ShapeReport] | None = None) -> MemoryEstimate:
    """The step's memory for the networks `project`'s task trains, at `batch_size` (the project's by default).

    `known`: network name -> its shape report, where one was just inferred (the editor's validation)."""
    from graph_builder.tasks import resolve

    training = dict(project.training)
    batch = int(batch_size or training.get("batch_size", 32))
    per_param = state_per_param(training)
    spec = resolve(training, None, project.graph)
    names = spec.networks(project)
    graphs = {name: g for role, g in spec.graphs(project).items() if g is not None and (name := names[role])} \
        or {project.networks.main: project.graph}
    rows: list[NodeMemory] = []
    outputs = backward = resident = inputs = 0
    for name, graph in graphs.items():
        shapes = (known or {}).get(name) or infer_shapes(graph)
        walk = estimate_graph(graph, shapes, batch, per_param, network=name)
        rows += walk.rows
        outputs += walk.forward_peak
        backward = max(backward, walk.backward_peak)
        resident += sum(r.params + r.grads + r.state for r in walk.rows)
        inputs += sum(r.output for r in walk.rows if r.type_id == "Input")
    targets = batch * 8  # class labels (int64); a value target is about one output's size
    forward_end = resident + outputs + targets
    params = sum(r.params for r in rows)
    state = sum(r.state for r in rows)
    peak = max(forward_end, params + state + backward + inputs + targets)
    return MemoryEstimate(rows, batch, training.get("optimizer", "adam"), inputs + targets, int(peak),
                          tuple(graphs), project.networks.main)


def memory_issues(estimate: MemoryEstimate, free: int | None, total: int | None,
                  device: str = "this machine") -> list[Issue]:
    """A problem when the step's peak exceeds the device's free memory: an error past all of it, else a warning.

    `free` None: only the total is known (a GPU seen from the editor)."""
    limit = free or total
    if not limit or estimate.peak <= limit:
        return []
    own = [r for r in estimate.rows if r.network == estimate.main and not r.within]  # ids the canvas shows
    biggest = sorted(own, key=lambda r: r.total, reverse=True)[:1]
    where = f"; the largest part is {biggest[0].name} ({size_text(biggest[0].total)})" if biggest else ""
    parts = (f"{size_text(estimate.params)} of weights, {size_text(estimate.grads + estimate.state)} of gradients "
             f"and {estimate.optimizer} state, {size_text(estimate.saved)} of saved activations, the rest the "
             f"layers' outputs")
    if total and estimate.peak > total:
        return [Issue(ERROR, "memory", f"training needs about {size_text(estimate.peak)} at batch size "
                      f"{estimate.batch_size} ({parts}), more than {device}'s {size_text(total)} of memory"
                      f"{where}; make the layers or the input smaller, or lower the batch size",
                      tuple(r.node_id for r in biggest))]
    return [Issue(WARNING, "memory", f"training needs about {size_text(estimate.peak)} at batch size "
                  f"{estimate.batch_size} ({parts}), more than the {size_text(limit)} free on {device} now"
                  f"{where}; lower the batch size or close other programs", tuple(r.node_id for r in biggest))]
