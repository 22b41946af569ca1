"""Element-wise math: exp, log, sqrt, abs, negation, clipping, powers, rescaling."""

from __future__ import annotations

from typing import Any

from graph_builder.errors import ShapeError
from graph_builder.layer_spec import LayerSpec, ParamSpec, PortSpec, register
from graph_builder.layers.merge import broadcast_rule
from graph_builder.shape_math import prod


def _same(p, ins):
    return ins[0]


def _elementwise(p, ins, out):
    return prod(out[1:])


def _math(type_id: str, help: str, params: tuple = (), shape=_same) -> LayerSpec:
    return LayerSpec(type_id, type_id, "Math", help, shape=shape, params=params, macs=_elementwise,
                     torch_name=type_id)


def _clip_rule(p, ins):
    if p["min"] is None and p["max"] is None:
        raise ShapeError("needs a min, a max or both; with neither it would change nothing")
    return ins[0]


_BOUND: dict[str, Any] = {"min": -1e9, "max": 1e9, "optional": True, "torch_default": None}

register(
    _math("Exp", "eˣ, element by element."),
    _math("Log", "The natural logarithm, element by element; NaN for negative inputs, -inf at 0."),
    _math("Sqrt", "The square root, element by element; NaN for negative inputs."),
    _math("Abs", "|x|, element by element."),
    _math("Neg", "-x, element by element."),
    _math("Clip", "Limits every value to [min, max] (torch.clamp); leave one bound empty for no limit there.",
          (ParamSpec("min", "float", -1.0, "Lower bound; empty for none.", key=True, **_BOUND),
           ParamSpec("max", "float", 1.0, "Upper bound; empty for none.", key=True, **_BOUND)),
          shape=_clip_rule),
    LayerSpec("Pow", "Pow", "Math", "base raised to exponent, element by element (both broadcast).",
              shape=broadcast_rule, inputs=(PortSpec("base"), PortSpec("exponent")), macs=_elementwise,
              torch_name="Pow"),
    _math("Rescaling", "x·scale + offset, as Keras's Rescaling: 1/255 maps pixels to [0, 1].",
          (ParamSpec("scale", "float", 1.0, "Multiplier.", min=-1e9, max=1e9, key=True),
           ParamSpec("offset", "float", 0.0, "Added after scaling.", min=-1e9, max=1e9, key=True))),
)
