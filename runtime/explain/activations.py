"""Every node's output for one sample: the generated forward's locals, read as it returns.

The compiler writes one assignment per node (runtime.compile.codegen), so the local a node's
statement assigns holds that node's output. Forward hooks would see only the nodes built as
submodules; inline ops (Add, Reshape, GlobalAvgPool) have none, so the forward frame is read
instead, through a profile function that is on for this one call only.
"""

from __future__ import annotations

import ast
import sys

import numpy as np
import torch
from torch import nn

from graph_builder.graph import Graph

from runtime.compile.codegen import lower, node_attributes
from runtime.explain.errors import ExplainError


def node_variables(graph: Graph) -> dict[str, str]:
    """node id -> the forward local that holds its output (Inputs, layers, blocks and Outputs)."""
    model = lower(graph)
    names = {i.node_id: i.name for i in model.interface.inputs}
    for statement in model.statements:
        names[statement.node_id] = _assigned(statement.lines[-1])
    for output in model.interface.outputs:
        names[output.node_id] = output.var
    return names


def _assigned(line: str) -> str:
    """`x` of `x = …` and of `x, _ = …`: the first name a statement's last line assigns."""
    target = ast.parse(line).body[0].targets[0]  # type: ignore[attr-defined]
    names = [t.id for t in ast.walk(target) if isinstance(t, ast.Name) and t.id != "_"]
    return names[0]


def network_of(module: nn.Module, graph: Graph) -> nn.Module:
    """The graph's compiled network inside `module`: itself, or the network a run's raw-input wrapper holds."""
    class_name = lower(graph).interface.class_name
    for sub in module.modules():
        if type(sub).__name__ == class_name:
            return sub
    raise ExplainError(f"the model holds no {class_name} network; build it from this project's graph")


def node_submodules(module: nn.Module, graph: Graph) -> dict[str, nn.Module]:
    """node id -> the submodule built for it (layers and blocks; inline ops have none)."""
    net = network_of(module, graph)
    return {node_id: net.get_submodule(attr) for node_id, attr in node_attributes(graph)[0].items()}


def capture_activations(module: nn.Module, graph: Graph, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Run `x` (a batch) through `module` and return every node's output, keyed by node name."""
    net = network_of(module, graph)
    seen: dict[str, object] = {}
    code = type(net).forward.__code__

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is code and frame.f_locals.get("self") is net:
            seen.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        with torch.no_grad():
            module(x)
    finally:
        sys.setprofile(previous)
    found = {}
    for node_id, var in node_variables(graph).items():
        value = seen.get(var)
        if isinstance(value, torch.Tensor):
            found[graph.nodes[node_id].name] = value.detach().float().cpu().numpy()
    return found
