"""Layers that common imported models need (MobileNetV3, EfficientNet): Hardsigmoid, ReLU6, StochasticDepth."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.shape_math import prod


def _same(p, ins):
    return ins[0]


def _elementwise(p, ins, out):
    return prod(out[1:])


register(
    LayerSpec("Hardsigmoid", "Hardsigmoid", "Activation",
              "relu6(x + 3) / 6: a cheap sigmoid (the gate of MobileNetV3's squeeze-excitation).",
              shape=_same, macs=_elementwise, torch_name="nn.Hardsigmoid"),
    LayerSpec("ReLU6", "ReLU6", "Activation", "min(max(0, x), 6) (MobileNetV2).",
              shape=_same, macs=_elementwise, torch_name="nn.ReLU6"),
    LayerSpec(
        "StochasticDepth", "Stochastic depth", "Regularization",
        "While training, drops a residual branch with probability p (per sample in 'row' mode, the whole "
        "batch in 'batch' mode) and scales the rest by 1/(1-p); the identity in evaluation (EfficientNet).",
        shape=_same,
        params=(
            ParamSpec("p", "float", 0.2, "Probability of dropping the branch.", min=0.0, max=1.0, key=True),
            ParamSpec("mode", "choice", "row", "'row': per sample; 'batch': the whole batch at once.",
                      choices=("row", "batch")),
        ),
        torch_name="StochasticDepth", signature=("p", "mode"),
    ),
)
