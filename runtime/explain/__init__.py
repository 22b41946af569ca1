"""Seeing inside a model for one sample: every node's output, and which inputs drove its prediction.

    outputs = capture_activations(module, graph, x)          # {node name: its output for x}
    found = attribute(module, graph, x, "integrated_gradients", target=3)
    picture = overlay(x[0], found.heat())                    # an RGB array; write_png(path, picture)

`module` is the graph's compiled network (runtime.compile.build_module) or a run's raw-input module
(runtime.export.build_run_module); the methods go through Captum. The method names are imported
without torch (the CLI's choices); everything else loads torch when first used.
"""

from __future__ import annotations

import importlib

from runtime.explain.methods import METHOD_TITLES, METHODS

_LAZY = {
    "activations": ("capture_activations", "network_of", "node_submodules"),
    "attributions": ("Attribution", "attribute", "conv_nodes"),
    "errors": ("ExplainError", "ExplainInputError", "ExplainMethodError"),
    "features": ("feature_names",),
    "pictures": ("feature_bars", "feature_grid", "heat_colours", "overlay", "write_png"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"runtime.explain.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'runtime.explain' has no attribute {name!r}")


__all__ = ["METHODS", "METHOD_TITLES", *_WHERE]
