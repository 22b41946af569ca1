"""Which parts of one input drove a prediction, through Captum: saliency, Integrated Gradients,
Grad-CAM on a Conv2d node, occlusion.

Captum's two pitfalls are met here once: an in-place activation would overwrite the tensor a
gradient hook needs, so in-place modules are switched off for the call; a module called twice
would give Grad-CAM two activations, and the compiler builds one submodule per node (a block
used twice is two instances), so a chosen node's module runs once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from graph_builder.graph import Graph
from graph_builder.shapes import format_shape, topological_order

from runtime.compile.codegen import lower
from runtime.explain.activations import node_submodules
from runtime.explain.errors import ExplainInputError, ExplainMethodError
from runtime.explain.methods import METHODS

IG_STEPS = 64  # Integrated Gradients' path steps: completeness holds to about 1 % at this count on the templates
CAM_LAYERS = ("Conv2d",)  # Grad-CAM needs a map with a spatial layout to upsample onto the image


@dataclass(frozen=True)
class Attribution:
    """One method's attributions for one sample, shaped like the sample (Grad-CAM: (1, H, W))."""

    method: str
    target: int  # the output index explained (a class)
    values: np.ndarray
    score: float  # the model's output at `target` for the sample
    baseline_score: float | None = None  # Integrated Gradients: the output at the baseline
    delta: float | None = None  # Integrated Gradients: sum of attributions minus (score - baseline_score)
    layer: str | None = None  # Grad-CAM: the Conv2d node's name

    def heat(self) -> np.ndarray:
        """A non-negative map over the sample's last axes: (H, W) for an image, (F,) for a table row."""
        values = np.maximum(self.values, 0) if self.method == "gradcam" else np.abs(self.values)
        return values.sum(axis=0) if values.ndim == 3 else values  # an image's channels add up


def conv_nodes(graph: Graph) -> list[str]:
    """The names of the nodes Grad-CAM can use, in graph order (the last is the default)."""
    return [graph.nodes[n].name for n in topological_order(graph) if graph.nodes[n].type_id in CAM_LAYERS]


def attribute(module: nn.Module, graph: Graph, x: np.ndarray | torch.Tensor, method: str,
              target: int | None = None, layer: str | None = None,
              baseline: np.ndarray | None = None) -> Attribution:
    """Attributions of `method` for one sample `x` (with or without its batch dimension of 1).

    `module` is the graph's compiled network, or a run's module wrapping it; `target` defaults to the
    predicted output; `layer` names Grad-CAM's Conv2d node (default: the last one); `baseline` is the
    sample meaning "no information" for Integrated Gradients and occlusion (default: zeros).
    """
    if method not in METHODS:
        raise ExplainMethodError(f"there is no attribution method {method!r}; use one of {', '.join(METHODS)}")
    inputs = _sample(graph, x)
    base = torch.zeros_like(inputs) if baseline is None else \
        torch.as_tensor(np.broadcast_to(baseline, inputs.shape[1:]).copy(), dtype=inputs.dtype)[None]
    module.eval()

    def forward(batch: torch.Tensor) -> torch.Tensor:
        out = module(batch)
        out = out[0] if isinstance(out, tuple) else out
        return out.reshape(len(batch), -1)

    with torch.no_grad():
        scores = forward(inputs)[0]
    if target is None:
        target = int(scores.argmax())
    elif not 0 <= target < len(scores):
        raise ExplainInputError(f"target {target} is out of range: the model has {len(scores)} outputs "
                                f"(0 to {len(scores) - 1}); choose one of those with --target")
    inputs.requires_grad_(True)
    with _not_in_place(module), torch.enable_grad():
        return _run(method, module, graph, forward, inputs, base, int(target), float(scores[target]), layer)


def _run(method, module, graph, forward, inputs, base, target, score, layer) -> Attribution:
    import captum.attr as ca

    if method == "saliency":
        values = ca.Saliency(forward).attribute(inputs, target=target, abs=True)
        return Attribution(method, target, _numpy(values), score)
    if method == "integrated_gradients":
        values, delta = ca.IntegratedGradients(forward).attribute(inputs, baselines=base, target=target, n_steps=IG_STEPS,
                                                                  return_convergence_delta=True)
        with torch.no_grad():
            at_base = float(forward(base)[0, target])
        return Attribution(method, target, _numpy(values), score, at_base, float(delta.reshape(-1)[0]))
    if method == "occlusion":
        window, strides = _occlusion_window(tuple(inputs.shape[1:]))
        values = ca.Occlusion(forward).attribute(inputs, sliding_window_shapes=window, strides=strides,
                                                 baselines=base, target=target, perturbations_per_eval=64)
        return Attribution(method, target, _numpy(values), score)
    node_id = _cam_node(graph, layer)
    cam = ca.LayerGradCam(forward, node_submodules(module, graph)[node_id]).attribute(inputs, target=target)
    cam = ca.LayerAttribution.interpolate(cam, tuple(inputs.shape[-2:]), interpolate_mode="bilinear")
    return Attribution(method, target, _numpy(cam), score, layer=graph.nodes[node_id].name)


def _sample(graph: Graph, x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """`x` as a float batch of one, checked against the network's (single) input."""
    inputs = lower(graph).interface.inputs
    if len(inputs) != 1:
        raise ExplainInputError(f"the network has {len(inputs)} inputs; attributions explain networks of one input")
    spec = inputs[0]
    if spec.dtype != "float32":
        raise ExplainInputError(f"input {spec.name} takes {spec.dtype} values (token ids), which have no gradient; "
                                "attributions need a float input such as an image or a table row")
    tensor = torch.from_numpy(np.array(x, dtype=np.float32))  # a copy: cached splits are read-only
    want = tuple(spec.shape[1:])
    if tuple(tensor.shape) == want:
        tensor = tensor[None]
    if tuple(tensor.shape[1:]) != want or len(tensor) != 1:
        raise ExplainInputError(f"the sample is {format_shape(tuple(tensor.shape))} but input {spec.name} takes "
                                f"{format_shape(spec.shape)}; give one sample of that shape")
    return tensor.clone()


def _cam_node(graph: Graph, layer: str | None) -> str:
    """The node id of Grad-CAM's layer: the named Conv2d node, else the network's last one."""
    convs = conv_nodes(graph)
    listed = ", ".join(convs)
    if layer is None:
        if not convs:
            raise ExplainMethodError("gradcam needs a Conv2d node and this network has none; use saliency, "
                                     "integrated_gradients or occlusion")
        layer = convs[-1]
    node = next((n for n in graph.nodes.values() if n.name == layer), None)
    if node is None:
        raise ExplainMethodError(f"there is no node named {layer!r} in the network; "
                                 + (f"its Conv2d nodes are {listed}" if convs else "it has no Conv2d node"))
    if node.type_id not in CAM_LAYERS:
        raise ExplainMethodError(f"gradcam needs a Conv2d node but {layer} is a {node.type_id}; "
                                 + (f"choose one of {listed}" if convs else "use another method"))
    return node.id


def _occlusion_window(shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A patch of about a quarter of the image's side over every channel (one feature for tables), half-overlapping."""
    if len(shape) == 3:
        side = max(1, min(shape[1:]) // 4)
        step = max(1, side // 2)
        return (shape[0], side, side), (shape[0], step, step)
    return (1,) * len(shape), (1,) * len(shape)


@contextmanager
def _not_in_place(module: nn.Module) -> Iterator[None]:
    """In-place activations off while gradients are taken (a backward hook needs the unmodified output)."""
    switched = [m for m in module.modules() if isinstance(m, _IN_PLACE) and m.inplace]
    for m in switched:
        m.inplace = False
    try:
        yield
    finally:
        for m in switched:
            m.inplace = True


_IN_PLACE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.SiLU, nn.Mish, nn.Hardswish,
             nn.Hardsigmoid, nn.Hardtanh, nn.Threshold, nn.RReLU)


def _numpy(values: torch.Tensor) -> np.ndarray:
    return values.detach()[0].float().cpu().numpy()
