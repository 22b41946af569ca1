"""Seeing inside a model for one sample: every node's output, and which inputs drove its prediction.

    outputs = capture_activations(module, graph, x)          # {node name: its output for x}
    found = attribute(module, graph, x, "integrated_gradients", target=3)
    picture = overlay(x[0], found.heat())                    # an RGB array; write_png(path, picture)

`module` is the graph's compiled network (runtime.compile.build_module) or a run's raw-input module
(runtime.export.build_run_module); the methods go through Captum.
"""

from runtime.explain.activations import capture_activations, network_of, node_submodules
from runtime.explain.attributions import METHOD_TITLES, METHODS, Attribution, attribute, conv_nodes
from runtime.explain.errors import ExplainError, ExplainInputError, ExplainMethodError
from runtime.explain.features import feature_names
from runtime.explain.pictures import feature_bars, overlay, write_png

__all__ = [
    "METHODS", "METHOD_TITLES", "Attribution", "ExplainError", "ExplainInputError", "ExplainMethodError", "attribute",
    "capture_activations", "conv_nodes", "feature_bars", "feature_names", "network_of", "node_submodules", "overlay",
    "write_png",
]
