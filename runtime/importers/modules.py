"""Which torch modules and functions are catalog layers, and with which parameters.

A module maps when its class is the torch class a catalog layer is lowered to (nn.Conv2d is
Conv2d); its parameters are read off the module's attributes, which carry torch's constructor
names just as the catalog's parameters do. Anything else is reported, never approximated.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graph_builder.catalog import get_spec
from graph_builder.errors import ParamError

from runtime.compile.lowering import LOWERINGS


class NotExpressible(Exception):
    """Internal: this module or call has no catalog equivalent (the reason is the message)."""


def _torchvision_stochastic_depth():
    try:
        from torchvision.ops import StochasticDepth
    except ImportError:  # torchvision is optional for modules that do not use it
        return None
    return StochasticDepth


# torch class -> catalog type id, for the classes lowered as `nn.<Name>`
_BY_CLASS: dict[type, str] = {}
for _type_id, _entry in LOWERINGS.items():
    if _entry.module and _entry.module.startswith("nn.") and hasattr(nn, _entry.module[3:]):
        _BY_CLASS[getattr(nn, _entry.module[3:])] = _type_id

# attributes that must hold torch's default, since the catalog has no parameter for them
_MUST_BE = {
    "return_indices": False,
    "divisor_override": None,
}


def leaf_type(module: nn.Module) -> str | None:
    """The catalog type of a module NetCanvas treats as one layer, else None."""
    cls = type(module)
    if cls in _BY_CLASS:
        return _BY_CLASS[cls]
    sd = _torchvision_stochastic_depth()
    if sd is not None and cls is sd:
        return "StochasticDepth"
    return None


def module_params(type_id: str, module: nn.Module) -> dict:
    """The catalog parameters of `module` (validated); NotExpressible when a value has no place."""
    spec = get_spec(type_id)
    for attr, wanted in _MUST_BE.items():
        if hasattr(module, attr) and getattr(module, attr) != wanted:
            raise NotExpressible(f"{type(module).__name__} with {attr}={getattr(module, attr)!r}")
    if getattr(module, "momentum", 0.1) is None:
        raise NotExpressible(f"{type(module).__name__} with momentum=None (a cumulative average)")
    values: dict[str, Any] = {}
    for p in spec.params:
        if p.name == "bias" and type_id != "LayerNorm":
            values["bias"] = getattr(module, "bias", None) is not None
        elif p.name == "bias":
            values["bias"] = module.bias is not None
        elif p.name == "normalized_dims":
            values["normalized_dims"] = len(module.normalized_shape)
        elif p.name == "init" and type_id == "PReLU":
            continue  # only the starting value of the learned slope; the weights say the rest
        elif hasattr(module, p.name):
            values[p.name] = _plain(getattr(module, p.name))
    try:
        return spec.coerce_params(values)
    except ParamError as exc:
        raise NotExpressible(f"{type(module).__name__}: {exc}") from None


def _plain(value):
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, tuple) and any(v is None for v in value):
        raise NotExpressible(f"a size with None in it ({value})")
    return value


# ---------------------------------------------------------------- functions and methods

# call target -> catalog type for element-wise activations (one tensor argument)
ACTIVATION_CALLS: dict[Any, str] = {
    F.relu: "ReLU", torch.relu: "ReLU", "relu": "ReLU",
    F.relu6: "ReLU6",
    F.silu: "SiLU", "silu": "SiLU",
    F.hardswish: "Hardswish", F.hardsigmoid: "Hardsigmoid",
    torch.sigmoid: "Sigmoid", F.sigmoid: "Sigmoid", "sigmoid": "Sigmoid",
    torch.tanh: "Tanh", F.tanh: "Tanh", "tanh": "Tanh",
    F.gelu: "GELU", F.mish: "Mish", F.elu: "ELU", F.selu: "SELU",
}
ADD_CALLS = {operator.add, operator.iadd, torch.add, "add", "add_"}
MUL_CALLS = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
FLATTEN_CALLS = {torch.flatten, "flatten"}
CAT_CALLS = {torch.cat, torch.concat}
ADAPTIVE_AVG_CALLS = {F.adaptive_avg_pool2d: "AdaptiveAvgPool2d", F.adaptive_avg_pool1d: "AdaptiveAvgPool1d"}
MEAN_CALLS = {torch.mean, "mean"}
DROPOUT_CALLS = {F.dropout}
SOFTMAX_CALLS = {F.softmax: "Softmax", torch.softmax: "Softmax", "softmax": "Softmax",
                 F.log_softmax: "LogSoftmax", torch.log_softmax: "LogSoftmax", "log_softmax": "LogSoftmax"}


def call_name(target) -> str:
    """`torch.flatten`, `Tensor.view`, `operator.add`: a call target as a person would write it."""
    if isinstance(target, str):
        return f"Tensor.{target}"
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", None) or repr(target)
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module.startswith("torch") or name in dir(torch):
        return f"torch.{name}"
    return f"{module}.{name}" if module else name
