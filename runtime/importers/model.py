"""What every importer produces: the networks of a project plus the weights of each layer instance.

An importer (torch.fx for modules, or a reader of ONNX / .pt2 data) builds graphs of catalog
layers with `NetworkBuilder` and records each layer's tensors under its node-id path from the
main network (`("n3", "n1")`: layer n1 inside the block node n3). `state_dict_for` turns those
paths into the keys of the module NetCanvas compiles, so the weights file fits `build_module`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import torch

from graph_builder.catalog import get_spec
from graph_builder.errors import GraphBuilderError
from graph_builder.graph import Connect, Edge, Graph
from graph_builder.networks import Networks

from runtime.errors import NetCanvasRuntimeError

DEFAULT_IMAGE_SHAPE = (3, 224, 224)  # a torchvision model's input when none is given


class ModelImportError(NetCanvasRuntimeError):
    """A model that could not be imported."""


class ImportSourceError(ModelImportError):
    """The source (a name, a file, a class) cannot be read."""


@dataclass(frozen=True)
class Unsupported:
    """One thing the catalog cannot express: where it is in the source model and what it is."""

    path: str  # module path ("layer1.0.conv1") or graph node name
    op: str  # the module class or operation

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.op}"


class UnsupportedModelError(ModelImportError):
    """The model uses operations the catalog cannot express; nothing was written."""

    def __init__(self, problems: list[Unsupported], source: str = "the model") -> None:
        self.problems = list(dict.fromkeys(problems))
        listed = "\n".join(f"  - {p}" for p in self.problems[:40])
        more = f"\n  … and {len(self.problems) - 40} more" if len(self.problems) > 40 else ""
        super().__init__(
            f"{source} uses {len(self.problems)} operation(s) NetCanvas's layer catalog cannot express, so "
            f"nothing was written:\n{listed}{more}\nReplace them with catalog layers (`netcanvas layers` lists "
            "them) in the source model, or wrap them so they can be rebuilt from catalog layers."
        )


Value = tuple[str, str]  # (node id, output port)


class NetworkBuilder:
    """Appends catalog layers to one Graph; parameters are validated by the catalog as they go in."""

    def __init__(self) -> None:
        self.graph = Graph()

    def add(self, type_id: str, name: str, params: dict | None = None, inputs: list[Value] = (),
            ports: list[str] | None = None) -> str:
        """Add a node fed by `inputs` (each to `ports[i]`, else the layer's first input port)."""
        name = self.graph.unique_name(_node_name(name))
        node = self.graph.add_node(type_id, name=name, params=params or None)
        spec_ports = [p.name for p in get_spec(type_id).inputs]
        for i, (src, src_port) in enumerate(inputs):
            port = ports[i] if ports is not None else (spec_ports[0] if spec_ports else "in")
            self.graph.apply(Connect(Edge(src, node.id, src_port, port), check=False))
        return node.id


def _node_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in str(text)).strip("_")
    return (cleaned or "layer")[:80]


@dataclass
class ImportedModel:
    """An imported model before it is written: networks, per-instance weights, and how to check it."""

    networks: Networks
    weights: dict[tuple[str, ...], dict[str, torch.Tensor]]
    source: str
    reference: Callable[..., Any] | None = None  # the original model: inputs -> output tensor
    notes: list[str] = field(default_factory=list)
    weights_from: str | None = None  # where pretrained weights came from ("torchvision ResNet18_Weights.…")


def lay_out(graph: Graph) -> None:
    """The editor's own top-to-bottom layered layout (graph_builder.layout), applied to an imported graph."""
    from graph_builder.graph import Move
    from graph_builder.layout import layered_positions

    for node_id, pos in layered_positions(graph).items():
        graph.apply(Move(node_id, pos))


def assemble_networks(graphs: dict[str, Graph], main: str) -> Networks:
    """A Networks holding `graphs` (laid out), main first in tab order."""
    for graph in graphs.values():
        lay_out(graph)
    ordered = {main: graphs[main], **{k: v for k, v in graphs.items() if k != main}}
    try:
        return Networks(ordered, main)
    except GraphBuilderError as exc:
        raise ModelImportError(f"the imported networks do not form a project: {exc}") from exc


def state_dict_for(networks: Networks, weights: dict[tuple[str, ...], dict[str, torch.Tensor]]) -> dict:
    """The imported tensors under the keys of the module `build_module(networks.main_graph)` makes."""
    from runtime.compile.codegen import lower

    main = networks.main_graph
    model = lower(main)
    deps = networks.dependencies(networks.main)[:-1]
    lowered = dict(zip(deps, model.dependencies))
    out: dict[str, torch.Tensor] = {}

    def walk(graph: Graph, low, ids: tuple[str, ...], prefix: str) -> None:
        for sub in low.submodules:
            node = graph.nodes[sub.node_id]
            here = (*ids, sub.node_id)
            if node.type_id == "Block":
                name = node.params["network"]
                walk(networks[name], lowered[name], here, f"{prefix}{sub.attr}.")
                continue
            for key, tensor in weights.get(here, {}).items():
                out[f"{prefix}{sub.attr}.{key}"] = tensor

    walk(main, model, (), "")
    return out


def check_test_run(networks: Networks, batch: int, source: str, runs: int = 2) -> None:
    """Refuse an import whose check would need more memory than the limit (NETCANVAS_MAX_CHECK_BYTES).

    The imported graph is run on a test input of the shapes the file declares, beside the original
    (`runs` copies of every layer's output): the sizes come from the file, so they are checked
    before the input is made.
    """
    from graph_builder import limits
    from graph_builder.footprint import activation_bytes
    from graph_builder.shapes import infer_shapes

    try:
        report = infer_shapes(networks.main_graph)
    except GraphBuilderError:
        return  # validation names the problem before anything runs
    inputs = [n for n in networks.main_graph.inputs()]
    shapes = ", ".join(str((batch, *n.params["shape"])) for n in inputs)
    limits.check(activation_bytes(report) * batch * runs, f"{source}'s test run (inputs {shapes})", limits.CHECK,
                 ImportSourceError, "import a model with smaller inputs")
