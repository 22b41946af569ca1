"""Normalization layers and dropout."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import format_shape, prod, require_rank

_EPS = ParamSpec("eps", "float", 1e-5, "Added to the variance for numerical stability.", min=1e-12, max=1.0,
                 torch_default=1e-5)


def _same_with_rank(ranks, what=""):
    def rule(p, ins):
        require_rank(ins[0], ranks, what=what)
        return ins[0]
    return rule


def _affine_params(p):
    return 2 * p["num_features"] if p["affine"] else 0


def _batchnorm(n: int, ranks: tuple) -> LayerSpec:
    what = {1: "(N, C) or (N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[n]
    return LayerSpec(
        f"BatchNorm{n}d", f"BatchNorm{n}d", "Normalization",
        f"Normalizes each channel over the batch for a {what} input; num_features is read from the input.",
        shape=_same_with_rank(ranks, what),
        params=(
            _EPS,
            ParamSpec("momentum", "float", 0.1, "Weight of the newest batch in the running statistics.",
                      min=0.0, max=1.0, torch_default=0.1),
            ParamSpec("affine", "bool", True, "Learn a scale and shift.", torch_default=True),
            ParamSpec("track_running_stats", "bool", True, "Keep running statistics for evaluation.",
                      torch_default=True),
        ),
        infer=lambda p, ins: {"num_features": ins[0][1]}, inferred=("num_features",),
        count_params=_affine_params, macs=lambda p, ins, out: prod(out[1:]),
        torch_name=f"nn.BatchNorm{n}d", signature=("num_features",),
    )


def _layernorm_rule(p, ins):
    (x,) = ins
    k = p["normalized_dims"]
    if len(x) < k + 1:
        raise ShapeError(f"normalizes the last {k} dimensions but receives {format_shape(x)}")
    return x


def _layernorm_infer(p, ins):
    dims = tuple(ins[0][-p["normalized_dims"]:])
    return {"normalized_shape": dims[0] if len(dims) == 1 else dims}


def _layernorm_params(p):
    shape = p["normalized_shape"]
    n = prod(shape) if isinstance(shape, tuple) else shape
    return (n + (n if p["bias"] else 0)) if p["elementwise_affine"] else 0


def _groupnorm_rule(p, ins):
    (x,) = ins
    if len(x) < 2:
        raise ShapeError(f"expects (N, C, …) but receives {format_shape(x)}")
    if x[1] % p["num_groups"]:
        raise ShapeError(
            f"num_groups={p['num_groups']} must divide the {x[1]} channels of {format_shape(x)}; "
            "pick a divisor of the channel count"
        )
    return x


def _instancenorm_rule(p, ins):
    (x,) = ins
    require_rank(x, 4)
    if prod(x[2:]) == 1:  # torch refuses it when training: one value has no variance
        raise ShapeError(f"needs more than one spatial position per channel but receives {format_shape(x)}; "
                         "normalize before pooling down to 1×1, or use BatchNorm2d")
    return x


register(
    _batchnorm(1, (2, 3)),
    _batchnorm(2, (4,)),
    _batchnorm(3, (5,)),
    LayerSpec(
        "LayerNorm", "LayerNorm", "Normalization",
        "Normalizes each sample over its last normalized_dims dimensions (transformers use 1).",
        shape=_layernorm_rule,
        params=(
            ParamSpec("normalized_dims", "int", 1, "How many trailing dimensions to normalize over.",
                      min=1, max=4, arg="none"),
            _EPS,
            ParamSpec("elementwise_affine", "bool", True, "Learn a per-element scale (and bias).",
                      torch_default=True),
            ParamSpec("bias", "bool", True, "Learn a per-element bias (with elementwise_affine).",
                      torch_default=True),
        ),
        infer=_layernorm_infer, inferred=("normalized_shape",), count_params=_layernorm_params,
        macs=lambda p, ins, out: prod(out[1:]), torch_name="nn.LayerNorm", signature=("normalized_shape",),
    ),
    LayerSpec(
        "GroupNorm", "GroupNorm", "Normalization",
        "Normalizes groups of channels per sample; works with any batch size.",
        shape=_groupnorm_rule,
        params=(
            ParamSpec("num_groups", "int", 1, "Number of channel groups; must divide the channels.", min=1,
                      max=4096, arg="positional", key=True),
            _EPS,
            ParamSpec("affine", "bool", True, "Learn a per-channel scale and shift.", torch_default=True),
        ),
        infer=lambda p, ins: {"num_channels": ins[0][1]}, inferred=("num_channels",),
        count_params=lambda p: 2 * p["num_channels"] if p["affine"] else 0,
        macs=lambda p, ins, out: prod(out[1:]), torch_name="nn.GroupNorm", signature=("num_groups", "num_channels"),
    ),
    LayerSpec(
        "InstanceNorm2d", "InstanceNorm2d", "Normalization",
        "Normalizes each channel of each sample separately (style transfer, GAN generators).",
        shape=_instancenorm_rule,
        params=(
            _EPS,
            ParamSpec("affine", "bool", False, "Learn a per-channel scale and shift.", torch_default=False),
            ParamSpec("track_running_stats", "bool", False, "Keep running statistics for evaluation.",
                      torch_default=False),
        ),
        infer=lambda p, ins: {"num_features": ins[0][1]}, inferred=("num_features",),
        count_params=_affine_params, macs=lambda p, ins, out: prod(out[1:]),
        torch_name="nn.InstanceNorm2d", signature=("num_features",),
    ),
    LayerSpec(
        "Dropout", "Dropout", "Regularization",
        "During training, zeroes each value with probability p and scales the rest by 1/(1-p).",
        shape=lambda p, ins: ins[0],
        params=(ParamSpec("p", "float", 0.5, "Probability of zeroing a value.", min=0.0, max=1.0,
                          torch_default=0.5, key=True),),
        torch_name="nn.Dropout",
    ),
    LayerSpec(
        "Dropout2d", "Dropout2d", "Regularization",
        "During training, zeroes whole channels of a (N, C, H, W) input with probability p.",
        shape=_same_with_rank((4,)),
        params=(ParamSpec("p", "float", 0.5, "Probability of zeroing a channel.", min=0.0, max=1.0,
                          torch_default=0.5, key=True),),
        torch_name="nn.Dropout2d",
    ),
)
